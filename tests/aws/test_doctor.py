"""`pgs3v aws doctor` names each failure it can see, with its fix: permissions, the path, a failing function."""

from __future__ import annotations

from pathlib import Path

from pgs3v.auth.credentials import Credentials
from pgs3v.aws.template import function_names
from pgs3v.bridge.functions import BRIDGE_HANDLER
from pgs3v.bridge.process import FunctionHostProcess
from pgs3v.stack.startup import function_host
from pgs3v.store.process import free_port
from tests.aws.support import aws_client, create_aurora_cluster, run
from tests.support import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StoreProcess

ROOT = Path(__file__).resolve().parents[2]  # the host's working directory, so it imports tests.sql.handlers


def test_doctor_names_missing_permissions_and_an_unreachable_function(
    moto: str, store_server: StoreProcess, database: str, deployed_functions: FunctionHostProcess, tmp_path: Path,
) -> None:
    cluster = create_aurora_cluster(moto)
    config = tmp_path / "aws.json"
    sql = ("--conninfo", database)
    run(config, "configure", "--cluster-id", cluster.cluster_id, "--region", "us-east-1", "--endpoint-url", moto,
        "--s3vectors-endpoint", store_server.endpoint, "--vector-bucket", "pgs3v-aws-doctor")
    run(config, "deploy")
    run(config, "associate")
    aws_client(moto, "ec2").create_vpc_endpoint(VpcId=cluster.vpc_id, VpcEndpointType="Interface",
                                                ServiceName="com.amazonaws.us-east-1.lambda")
    # The shim calls a port where nothing listens: as on Aurora without a path to Lambda.
    nowhere = f"http://127.0.0.1:{free_port()}"
    run(config, "install", *sql, "--function-endpoint", nowhere, "--access-key-id", ACCESS_KEY_ID,
        "--secret-access-key", SECRET_ACCESS_KEY)

    # The query function's role loses its policy.
    iam = aws_client(moto, "iam")
    role = aws_client(moto, "lambda").get_function(FunctionName="pgs3v-query")["Configuration"]["Role"].split("/")[-1]
    for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=policy)

    output = run(config, "doctor", *sql, code=1).output
    assert f"FAIL  function query   pgs3v-query: role {role} does not allow s3vectors:QueryVectors, " \
           "s3vectors:GetVectors" in output
    assert "fix: restore the template's setting (docs/aws.md lists each policy), or recreate the stack" in output
    assert "ok    function write" in output and "ok    association" in output and "ok    network" in output
    assert "FAIL  live query" in output and "could not connect to the function host" in output
    assert "fix: the cluster cannot reach Lambda: see the network check" in output
    assert output.strip().endswith("Error: 3 check(s) failed: function query, live manage, live query")

    # install again, pointed at the functions: the live query passes; the policy stays missing
    run(config, "install", *sql, "--function-endpoint", deployed_functions.endpoint, "--access-key-id",
        ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY)
    output = run(config, "doctor", *sql, code=1).output
    assert "ok    live query" in output and "FAIL  function query" in output
    run(config, "cleanup", *sql, code=1)


def test_doctor_names_a_function_that_fails(
    moto: str, store_server: StoreProcess, database: str, tmp_path: Path,
) -> None:
    cluster = create_aurora_cluster(moto)
    config = tmp_path / "aws.json"
    sql = ("--conninfo", database)
    run(config, "configure", "--cluster-id", cluster.cluster_id, "--region", "us-east-1", "--endpoint-url", moto,
        "--s3vectors-endpoint", store_server.endpoint, "--vector-bucket", "pgs3v-aws-doctor")
    run(config, "deploy")
    # pgs3v-query raises on every call, as a broken deployment would; the others run the bridge
    query, write, manage = function_names()
    functions = {query: "tests.sql.handlers.fail", write: BRIDGE_HANDLER, manage: BRIDGE_HANDLER}
    host = function_host(store_server.endpoint, Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), functions=functions,
                         cwd=ROOT).start()
    try:
        run(config, "install", *sql, "--function-endpoint", host.endpoint, "--access-key-id", ACCESS_KEY_ID,
            "--secret-access-key", SECRET_ACCESS_KEY)
        output = run(config, "doctor", *sql, code=1).output
    finally:
        host.stop()
    assert "ok    live manage" in output
    assert "FAIL  live query" in output and "lambda invocation failed" in output
    assert "fix: the function failed: read its log, `aws logs tail /aws/lambda/pgs3v-query --since 10m`" in output
    # never associated, so moto's missing RemoveRoleFromDBCluster is not needed: nothing is left
    assert run(config, "cleanup", *sql).output.endswith("nothing left\n")
