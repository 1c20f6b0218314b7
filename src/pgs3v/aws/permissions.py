"""What an IAM role's policies allow, read from its inline and attached policies.

The doctor asks "does this role allow s3vectors:QueryVectors?": it matches the Allow statements'
actions (wildcards included). Resources, conditions and Deny statements are not evaluated, so a
pass means the action is granted somewhere, not that every resource is reachable.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import urllib.parse
from typing import Any

from pgs3v.aws.calls import AwsCalls

# What each function's execution role must allow for the SQL routed to it. The manage list
# names the actions that schema 0.4.0's functions (modes, tags, metadata configuration) brought,
# so a stack deployed from an older template is found out before its SQL fails with 42501.
FUNCTION_ACTIONS = {
    "query": ("s3vectors:QueryVectors", "s3vectors:GetVectors", "s3vectors:ListVectors"),
    "write": ("s3vectors:PutVectors", "s3vectors:DeleteVectors"),
    "manage": ("s3vectors:CreateIndex", "s3vectors:ListVectorBuckets", "s3vectors:UpdateMetadataConfiguration",
               "s3vectors:UpdateIndexMode", "s3vectors:PutVectorBucketDefaultIndexMode", "s3vectors:UntagResource",
               "s3vectors:ListTagsForResource"),
}
AURORA_ACTIONS = ("lambda:InvokeFunction",)
AURORA_PRINCIPAL = "rds.amazonaws.com"


def role_name(role_arn: str) -> str:
    """The role's name from its ARN (arn:aws:iam::123:role/path/name -> name)."""
    return role_arn.rsplit("/", 1)[-1]


def allowed_actions(calls: AwsCalls, role: str) -> list[str]:
    """The action patterns the role's Allow statements name, from its inline and attached policies."""
    documents: list[Any] = []
    for name in calls.read("iam", "list_role_policies", RoleName=role).get("PolicyNames", []):
        documents.append(calls.read("iam", "get_role_policy", RoleName=role, PolicyName=name)["PolicyDocument"])
    attached = calls.read("iam", "list_attached_role_policies", RoleName=role).get("AttachedPolicies", [])
    for policy in attached:
        version = calls.read("iam", "get_policy", PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        documents.append(calls.read("iam", "get_policy_version", PolicyArn=policy["PolicyArn"],
                                    VersionId=version)["PolicyVersion"]["Document"])
    patterns: list[str] = []
    for document in documents:
        for statement in _statements(_parsed(document)):
            if statement.get("Effect") == "Allow":
                patterns.extend(_as_list(statement.get("Action")))
    return patterns


def missing_actions(patterns: list[str], needed: tuple[str, ...]) -> list[str]:
    """The needed actions no pattern allows."""
    return [action for action in needed
            if not any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)]


def trusts(calls: AwsCalls, role: str, principal: str) -> bool:
    """Whether the role's trust policy lets ``principal`` (a service) assume it."""
    document = _parsed(calls.read("iam", "get_role", RoleName=role)["Role"].get("AssumeRolePolicyDocument", {}))
    for statement in _statements(document):
        services = _as_list((statement.get("Principal") or {}).get("Service"))
        if statement.get("Effect") == "Allow" and principal in services:
            return True
    return False


def _parsed(document: Any) -> dict[str, Any]:
    # boto3 decodes IAM's URL-encoded JSON documents into dicts; a string is one it could not.
    if isinstance(document, str):
        text = urllib.parse.unquote(document)
        try:
            document = json.loads(text)
        except ValueError:
            # moto 5.2.5 keeps the inline policies of roles CloudFormation made as str(dict), a
            # Python literal (single quotes), which GetRolePolicy returns as is.
            document = ast.literal_eval(text)
    return document if isinstance(document, dict) else {}


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [item for item in _as_list(statements) if isinstance(item, dict)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
