"""IAM's grammar and evaluation rules that the API tests and the oracle do not reach, one by one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pgs3v.auth.policies import Decision, PolicyError, PolicyKind, Principal, denial_reason, evaluate, parse_policy
from pgs3v.store.api.access import GRAMMAR

ACCOUNT = "000000000000"
ROOT = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)
ANN = Principal(f"arn:aws:iam::{ACCOUNT}:user/ann", ACCOUNT)
INDEX = f"arn:aws:s3vectors:us-east-1:{ACCOUNT}:bucket/b1/index/i1"


def policy(kind: PolicyKind, *statements: dict[str, Any]) -> Any:
    """A parsed policy with these statements."""
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), kind, GRAMMAR)


def decide(who: Principal, *statements: dict[str, Any], context: dict[str, Any] | None = None,
           kind: PolicyKind = PolicyKind.RESOURCE) -> Decision:
    """The decision for ``who`` querying the index under one policy."""
    return evaluate([policy(kind, *statements)], who, "s3vectors:QueryVectors", INDEX, context or {})


def test_identity_policies_name_no_principal() -> None:
    with pytest.raises(PolicyError, match="should not specify a principal"):
        policy(PolicyKind.IDENTITY, {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})
    allow = {"Effect": "Allow", "Action": "s3vectors:Query*", "Resource": "*"}
    assert decide(ANN, allow, kind=PolicyKind.IDENTITY) is Decision.ALLOW


def test_identity_policies_may_name_other_services_but_resource_policies_may_not() -> None:
    foreign = {"Effect": "Allow", "Action": "lambda:InvokeFunction",
               "Resource": "arn:aws:lambda:us-east-1:000000000000:function:f",
               "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}}
    assert decide(ANN, foreign, kind=PolicyKind.IDENTITY) is Decision.IMPLICIT_DENY  # read, never matching
    with pytest.raises(PolicyError, match="invalid"):
        policy(PolicyKind.RESOURCE, {**foreign, "Principal": "*", "Action": "s3vectors:*"})


def test_a_denials_reason_reads_as_aws_writes_it() -> None:
    assert denial_reason(Decision.EXPLICIT_DENY, PolicyKind.IDENTITY, "s3vectors:GetIndex") == \
        "with an explicit deny in an identity-based policy"
    assert denial_reason(Decision.EXPLICIT_DENY, PolicyKind.RESOURCE, "s3vectors:GetIndex") == \
        "with an explicit deny in a resource-based policy"
    assert denial_reason(Decision.IMPLICIT_DENY, None, "s3vectors:GetIndex") == \
        "because no identity-based policy allows the s3vectors:GetIndex action"


def test_naming_the_account_grants_its_root_and_denies_everyone_in_it() -> None:
    allow = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "*", "Resource": "*"}
    assert decide(ROOT, allow) is Decision.ALLOW
    assert decide(ANN, allow) is Decision.IMPLICIT_DENY  # delegated to ann's own policies
    deny = {**allow, "Effect": "Deny"}
    assert decide(ANN, deny) is Decision.EXPLICIT_DENY
    named = {"Effect": "Allow", "Principal": {"AWS": ANN.arn}, "Action": "*", "Resource": "*"}
    assert decide(ANN, named) is Decision.ALLOW and decide(ROOT, named) is Decision.IMPLICIT_DENY
    everyone_else = {"Effect": "Deny", "NotPrincipal": {"AWS": ANN.arn}, "Action": "*", "Resource": "*"}
    assert decide(ANN, everyone_else) is Decision.IMPLICIT_DENY
    assert decide(ROOT, everyone_else) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(("condition", "context", "holds"), [
    ({"StringEquals": {"aws:PrincipalTag/team": "x"}}, {}, False),  # absent key: false
    ({"StringNotEquals": {"aws:PrincipalTag/team": "x"}}, {}, True),  # absent key, negated: true
    ({"StringEqualsIfExists": {"aws:PrincipalTag/team": "x"}}, {}, True),
    ({"StringEqualsIfExists": {"aws:PrincipalTag/team": "x"}}, {"aws:PrincipalTag/team": "y"}, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a", "c"]}, False),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, False),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["c", "b"]}, True),
    ({"StringNotEquals": {"aws:SourceIp": ["1.1.1.1", "2.2.2.2"]}}, {"aws:SourceIp": "2.2.2.2"}, False),  # NOR
    ({"NumericLessThan": {"s3vectors:VectorBucketTag/size": 10}}, {"s3vectors:VectorBucketTag/size": "9"}, True),
    ({"NumericNotEquals": {"s3vectors:VectorBucketTag/size": [9, 10]}}, {"s3vectors:VectorBucketTag/size": "9"},
     False),
    ({"Null": {"aws:SourceIp": "false"}}, {"aws:SourceIp": "10.0.0.1"}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": False}},
     {"aws:SourceIp": "10.0.0.1", "aws:SecureTransport": "false"}, True),  # operators AND'ed
    ({"StringEqualsIgnoreCase": {"AWS:PRINCIPALARN": ANN.arn.upper()}}, {"aws:PrincipalArn": ANN.arn}, True),
])
def test_conditions(condition: dict[str, Any], context: dict[str, Any], holds: bool) -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*", "Condition": condition}
    assert (decide(ANN, deny, context=context) is Decision.EXPLICIT_DENY) is holds


@pytest.mark.parametrize("condition", [
    {"ForAnyValue:Null": {"aws:SourceIp": "true"}},
    {"NullIfExists": {"aws:SourceIp": "true"}},
    {"ForSomeValues:StringEquals": {"aws:SourceIp": "x"}},
    {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
    {"NumericEquals": {"aws:SourceIp": "ten"}},
    {"Bool": {"aws:SecureTransport": "maybe"}},
    {"StringEquals": {}},
    {"StringEquals": {"s3vectors:IndexName": "x"}},
])
def test_refused_conditions(condition: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        policy(PolicyKind.RESOURCE, {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
                                     "Condition": condition})
