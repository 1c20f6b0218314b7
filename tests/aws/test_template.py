"""The CloudFormation template: cfn-lint finds nothing, and every policy grants what docs/aws.md says, no more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
from cfnlint.api import ManualArgs, lint, lint_file
from cfnlint.decode import cfn_yaml

from pgs3v.aws import template
from pgs3v.bridge.functions import BRIDGE_HANDLER

PARTITION_REGION_ACCOUNT = "arn:${AWS::Partition}:s3vectors:${AWS::Region}:${AWS::AccountId}"
BUCKET_ARN = {"Fn::Sub": f"{PARTITION_REGION_ACCOUNT}:bucket/${{VectorBucketName}}"}
INDEXES_ARN = {"Fn::Sub": f"{PARTITION_REGION_ACCOUNT}:bucket/${{VectorBucketName}}/index/*"}
FUNCTIONS = {"QueryFunction": "query", "WriteFunction": "write", "ManageFunction": "manage"}
# role -> every s3vectors action it is allowed, on any resource
S3VECTORS_ACTIONS = {
    "QueryRole": {"QueryVectors", "GetVectors", "ListVectors"},
    "WriteRole": {"QueryVectors", "GetVectors", "ListVectors", "PutVectors", "DeleteVectors"},
    "ManageRole": {"CreateVectorBucket", "GetVectorBucket", "DeleteVectorBucket", "ListVectorBuckets",
                   "PutVectorBucketPolicy", "GetVectorBucketPolicy", "DeleteVectorBucketPolicy",
                   "PutVectorBucketDefaultIndexMode", "CreateIndex", "GetIndex", "DeleteIndex", "ListIndexes",
                   "UpdateIndexMode", "UpdateMetadataConfiguration", "TagResource", "UntagResource",
                   "ListTagsForResource"},
}
# Where IAM authorizes an action: on an index, or on a bucket or an index (the tag actions, whose
# resource may be either); every other action but ListVectorBuckets on the bucket.
ON_INDEXES = {"QueryVectors", "GetVectors", "ListVectors", "PutVectors", "DeleteVectors", "CreateIndex", "GetIndex",
              "DeleteIndex", "UpdateIndexMode", "UpdateMetadataConfiguration"}
ON_EITHER = {"TagResource", "UntagResource", "ListTagsForResource"}
ROLE_LOG_GROUPS = {"QueryRole": "QueryLogGroup", "WriteRole": "WriteLogGroup", "ManageRole": "ManageLogGroup"}


def loaded() -> Any:
    """The template as CloudFormation reads it, intrinsic functions as {"Fn::...": ...} objects."""
    return cfn_yaml.load(str(template.template_path()))


def statements(resources: Any, role: str) -> list[dict[str, Any]]:
    """Every statement of the role's inline policies."""
    policies = resources[role]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_template_ships_in_the_package_and_only_there() -> None:
    path = template.template_path()
    assert path.is_file() and path.parent.name == "aws" and path.parent.parent.name == "pgs3v"
    root = Path(__file__).resolve().parents[2]
    assert not (root / "deploy" / "aws" / "pgs3v.yaml").exists(), "one template: src/pgs3v/aws/pgs3v.yaml, no copy"
    assert "Resources:" in template.template_body()


def test_cfn_lint_finds_nothing() -> None:
    # Errors, warnings and informational checks, in regions that offer S3 Vectors (the resource
    # types must be known there, or cfn-lint says so).
    config = ManualArgs(regions=["us-east-1", "us-west-2", "eu-central-1"], include_checks=["I"])
    matches = lint_file(template.template_path(), config=config)
    assert [str(match) for match in matches] == []


def test_the_manage_role_hides_only_the_action_cfn_lint_does_not_know() -> None:
    # The role's Metadata turns W3037 (unknown IAM action) off: without it, W3037 must find exactly
    # s3vectors:UpdateMetadataConfiguration, so that a misspelt action still fails the lint above.
    ignore = "    Metadata:\n      cfn-lint:\n        config:\n          ignore_checks: [W3037]\n"
    body = template.template_body()
    assert body.count(ignore) == 1
    matches = [m for m in lint(body.replace(ignore, ""), config=ManualArgs(regions=["us-east-1"]))
               if m.rule.id == "W3037"]
    assert len(matches) == 1 and "'updatemetadataconfiguration' is not one of" in str(matches[0]), matches


def test_cfn_lint_knows_the_s3vectors_resource_types() -> None:
    # A property S3 Vectors does not have must be caught, or the lint above proves nothing for them.
    original = "      DataType: float32\n"
    body = template.template_body().replace(original, original + "      Dimensions: 3\n")
    matches = [m for m in lint(body, config=ManualArgs(regions=["us-east-1"])) if m.rule.id.startswith("E")]
    assert any("Dimensions" in str(match) for match in matches), matches


def test_parameters_and_outputs_are_the_contract() -> None:
    body = loaded()
    assert tuple(body["Parameters"]) == template.PARAMETERS
    assert tuple(body["Outputs"]) == template.OUTPUTS
    defaults = {name: spec.get("Default") for name, spec in body["Parameters"].items()}
    assert defaults == {
        "NamePrefix": "pgs3v", "CodeS3Bucket": None, "CodeS3Key": None, "VectorBucketName": None,
        "CreateVectorBucket": "false", "IndexName": "", "IndexDimension": 384, "IndexDistanceMetric": "cosine",
        "SubnetIds": "", "SecurityGroupIds": "", "StoreEndpoint": "", "FunctionMemorySize": 256,
        "FunctionTimeout": 60, "LogRetentionDays": 14,
    }
    assert body["Parameters"]["IndexDistanceMetric"]["AllowedValues"] == ["cosine", "euclidean"]
    assert template.function_names("acme") == ("acme-query", "acme-write", "acme-manage")


def test_the_functions_run_the_bridge() -> None:
    resources = loaded()["Resources"]
    for logical, suffix in FUNCTIONS.items():
        properties = resources[logical]["Properties"]
        assert properties["FunctionName"] == {"Fn::Sub": f"${{NamePrefix}}-{suffix}"}
        assert (properties["Runtime"], properties["Handler"]) == ("python3.12", BRIDGE_HANDLER)
        assert properties["Code"] == {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}}
        assert properties["MemorySize"] == {"Ref": "FunctionMemorySize"}
        assert properties["Timeout"] == {"Ref": "FunctionTimeout"}
        # The endpoint only when given: an empty PGS3V_STORE_ENDPOINT would not mean "AWS's".
        assert properties["Environment"]["Variables"] == {
            "PGS3V_STORE_ENDPOINT": {"Fn::If": ["HasStoreEndpoint", {"Ref": "StoreEndpoint"}, {"Ref": "AWS::NoValue"}]}}
        assert properties["VpcConfig"] == {"Fn::If": [
            "InVpc", {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}},
            {"Ref": "AWS::NoValue"}]}
        role = properties["Role"]["Fn::GetAtt"][0]
        assert role == logical.replace("Function", "Role")
        # VPC access (ENIs) only in a VPC.
        assert resources[role]["Properties"]["ManagedPolicyArns"]["Fn::If"][0] == "InVpc"
        assert resources[role]["Properties"]["ManagedPolicyArns"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}
        assert resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]


def test_the_bucket_and_index_are_made_only_when_asked() -> None:
    body = loaded()
    resources = body["Resources"]
    assert resources["VectorBucket"]["Type"] == "AWS::S3Vectors::VectorBucket"
    assert resources["VectorBucket"]["Condition"] == "CreateBucket"
    assert body["Conditions"]["CreateBucket"] == {"Fn::Equals": [{"Ref": "CreateVectorBucket"}, "true"]}
    assert resources["VectorIndex"]["Type"] == "AWS::S3Vectors::Index"
    assert resources["VectorIndex"]["Condition"] == "CreateIndex"
    assert body["Conditions"]["CreateIndex"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "IndexName"}, ""]}]}


def test_no_action_anywhere_is_a_wildcard() -> None:
    resources = loaded()["Resources"]
    roles = [name for name, resource in resources.items() if resource["Type"] == "AWS::IAM::Role"]
    assert sorted(roles) == ["AuroraLambdaRole", "ManageRole", "QueryRole", "WriteRole"]
    for role in roles:
        for statement in statements(resources, role):
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{role}: {action}"


def test_each_role_gets_exactly_its_s3vectors_actions_on_the_one_bucket() -> None:
    resources = loaded()["Resources"]
    for role, wanted in S3VECTORS_ACTIONS.items():
        granted: dict[str, list[str]] = {}  # action -> the scopes it is granted on
        for statement in statements(resources, role):
            actions = as_list(statement["Action"])
            vectors = [action.removeprefix("s3vectors:") for action in actions if action.startswith("s3vectors:")]
            if not vectors:
                continue
            assert len(vectors) == len(actions), f"{role}: one service per statement"
            scope = as_list(statement["Resource"])
            if vectors == ["ListVectorBuckets"]:
                assert scope == ["*"]  # the one action IAM takes no resource for
            else:
                assert scope in ([BUCKET_ARN], [INDEXES_ARN]), f"{role}: {scope}"
            for action in vectors:
                granted.setdefault(action, []).append("*" if scope == ["*"] else
                                                      "indexes" if scope == [INDEXES_ARN] else "bucket")
        assert set(granted) == wanted, role
        for action, scopes in granted.items():
            expected = (["bucket", "indexes"] if action in ON_EITHER else ["indexes"] if action in ON_INDEXES
                        else ["*"] if action == "ListVectorBuckets" else ["bucket"])
            assert sorted(scopes) == expected, f"{role}: {action} on {scopes}"
    assert "PutVectors" not in S3VECTORS_ACTIONS["QueryRole"] and "DeleteVectors" not in S3VECTORS_ACTIONS["QueryRole"]
    # The write role may do all the query role may, and the writes.
    assert S3VECTORS_ACTIONS["WriteRole"] == S3VECTORS_ACTIONS["QueryRole"] | {"PutVectors", "DeleteVectors"}


def test_the_manage_role_may_do_every_operation_sql_routes_to_it() -> None:
    # SQL sends QueryVectors, GetVectors and ListVectors to the query function, PutVectors and
    # DeleteVectors to the write function, and every other operation of the API (each has its SQL
    # function since schema 0.4.0) to the manage function: that is exactly what its role allows.
    operations = set(botocore.session.get_session().get_service_model("s3vectors").operation_names)
    assert len(operations) == 22
    assert S3VECTORS_ACTIONS["ManageRole"] == operations - S3VECTORS_ACTIONS["WriteRole"]


def test_each_role_writes_only_its_own_log() -> None:
    resources = loaded()["Resources"]
    for role, group in ROLE_LOG_GROUPS.items():
        logs = [s for s in statements(resources, role) if any(a.startswith("logs:") for a in as_list(s["Action"]))]
        assert len(logs) == 1
        assert sorted(as_list(logs[0]["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert as_list(logs[0]["Resource"]) == [{"Fn::GetAtt": [group, "Arn"]}]
        properties = resources[group]["Properties"]
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        function = {"QueryRole": "query", "WriteRole": "write", "ManageRole": "manage"}[role]
        assert properties["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{NamePrefix}}-{function}"}


def test_aurora_may_invoke_the_three_functions_and_nothing_else() -> None:
    resources = loaded()["Resources"]
    trust = resources["AuroraLambdaRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]
    assert "ManagedPolicyArns" not in resources["AuroraLambdaRole"]["Properties"]
    granted = statements(resources, "AuroraLambdaRole")
    assert [as_list(s["Action"]) for s in granted] == [["lambda:InvokeFunction"]]
    assert sorted(as_list(granted[0]["Resource"]), key=str) == sorted(
        ({"Fn::GetAtt": [function, "Arn"]} for function in FUNCTIONS), key=str)


def test_the_outputs_name_the_functions_role_and_bucket() -> None:
    outputs = loaded()["Outputs"]
    assert {name: output["Value"] for name, output in outputs.items()} == {
        "QueryFunctionName": {"Ref": "QueryFunction"}, "WriteFunctionName": {"Ref": "WriteFunction"},
        "ManageFunctionName": {"Ref": "ManageFunction"},
        "QueryFunctionArn": {"Fn::GetAtt": ["QueryFunction", "Arn"]},
        "WriteFunctionArn": {"Fn::GetAtt": ["WriteFunction", "Arn"]},
        "ManageFunctionArn": {"Fn::GetAtt": ["ManageFunction", "Arn"]},
        "AuroraLambdaRoleArn": {"Fn::GetAtt": ["AuroraLambdaRole", "Arn"]},
        "VectorBucketName": {"Ref": "VectorBucketName"},
    }


def test_docs_explain_every_statement() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "aws.md").read_text()
    for heading in ("## What the template creates", "## IAM policies, line by line", "## Costs", "## Networking"):
        assert f"\n{heading}\n" in docs, heading
    resources = loaded()["Resources"]
    for role in S3VECTORS_ACTIONS.keys() | {"AuroraLambdaRole"}:
        assert f"### {role}" in docs, role
        for statement in statements(resources, role):
            assert f"`{statement['Sid']}`" in docs, (role, statement["Sid"])
            for action in as_list(statement["Action"]):
                assert action.split(":")[1] in docs, action
