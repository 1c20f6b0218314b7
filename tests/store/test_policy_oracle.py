"""The policy evaluator against a brute-force oracle, over random policies and requests.

The oracle reads the raw JSON documents (no parsing step, fnmatch for wildcards) and decides
each statement from IAM's rules as written in the IAM User Guide; the evaluator under test
parses the same documents first. They must agree on every request.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pgs3v.auth.errors import AccessDeniedException
from pgs3v.auth.policies import Decision, PolicyKind, Principal, evaluate, parse_policy
from pgs3v.store.api.access import GRAMMAR, parse_identity_policy, target_of, user
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.service import VectorStore
from pgs3v.store.storage.catalog import BucketRecord

ACCOUNT, OTHER = "000000000000", "111122223333"
ARN = f"arn:aws:s3vectors:us-east-1:{ACCOUNT}"
PRINCIPALS = [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:user/ann", f"arn:aws:iam::{OTHER}:root"]
OPERATIONS = ["QueryVectors", "PutVectors", "GetVectors", "GetIndex", "DeleteVectorBucketPolicy", "ListIndexes"]
RESOURCES = [f"{ARN}:bucket/b1", f"{ARN}:bucket/b1/index/i1", f"{ARN}:bucket/b1/index/i2", f"{ARN}:bucket/b2"]
ACTION_PATTERNS = ["*", "s3vectors:*", "s3vectors:Get*", "S3VECTORS:getvectors", "s3vectors:?etIndex",
                   "s3vectors:PutVectors", "s3vectors:*Vectors", "s3vectors:QueryVectors", "s3vectors:List*"]
RESOURCE_PATTERNS = ["*", f"{ARN}:bucket/b1", f"{ARN}:bucket/b1/*", f"{ARN}:bucket/b1/index/i?",
                     f"{ARN}:bucket/*/index/i1", "arn:aws:s3vectors:*:*:bucket/b2", f"{ARN}:bucket/b1/index/i1"]
PRINCIPAL_VALUES = ["*", ACCOUNT, OTHER, *PRINCIPALS, f"arn:aws:iam::{ACCOUNT}:user/bob"]
CONDITION_OPERATORS = ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase",
                       "ArnLike", "ArnNotLike", "StringEqualsIfExists", "StringNotEqualsIfExists", "IpAddress",
                       "NotIpAddress", "Null", "Bool", "ForAnyValue:StringEquals", "ForAllValues:StringEquals"]
KEYS = ["aws:PrincipalArn", "aws:SourceIp", "aws:principalaccount", "aws:SecureTransport", "aws:TagKeys"]
VALUES = {
    "aws:principalarn": ["arn:aws:iam::*:root", PRINCIPALS[1], "ARN:AWS:IAM::000000000000:ROOT", "arn:aws:iam::?*"],
    "aws:sourceip": ["10.0.0.0/8", "127.0.0.1", "10.1.2.3"],
    "aws:principalaccount": [ACCOUNT, OTHER, "0*"],
    "aws:securetransport": ["true", "false"],
    "aws:tagkeys": ["team", "owner", "t*"],
}


def _values(key: str, operator: str) -> st.SearchStrategy[Any]:
    if operator == "Null" or operator == "Bool":
        return st.sampled_from(["true", "false"])
    if "IpAddress" in operator:
        return st.lists(st.sampled_from(["10.0.0.0/8", "127.0.0.0/8", "192.168.1.1"]), min_size=1, max_size=2)
    return st.lists(st.sampled_from(VALUES[key.lower()]), min_size=1, max_size=2) | st.sampled_from(VALUES[key.lower()])


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    block: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        operator = draw(st.sampled_from(CONDITION_OPERATORS))
        key = draw(st.sampled_from(["aws:SourceIp"] if "IpAddress" in operator else KEYS))
        block.setdefault(operator, {})[key] = draw(_values(key, operator))
    return block


def _one_or_list(options: list[str]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options) | st.lists(st.sampled_from(options), min_size=1, max_size=3)


@st.composite
def statements(draw: st.DrawFn, kind: PolicyKind) -> dict[str, Any]:
    item: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    if kind is PolicyKind.RESOURCE:
        principal = draw(st.sampled_from(["*", "*", ACCOUNT, *PRINCIPAL_VALUES]))  # weighted towards matching
        value = "*" if principal == "*" and draw(st.booleans()) else {"AWS": principal}
        item["NotPrincipal" if draw(st.integers(0, 4)) == 0 and value != "*" else "Principal"] = value
    # Half the statements name everything, so that many apply and their effects and conditions decide.
    actions = st.just("s3vectors:*") | _one_or_list(ACTION_PATTERNS)
    resources = st.just("*") | _one_or_list(RESOURCE_PATTERNS)
    item["NotAction" if draw(st.integers(0, 3)) == 0 else "Action"] = draw(actions)
    item["NotResource" if draw(st.integers(0, 3)) == 0 else "Resource"] = draw(resources)
    condition = draw(conditions())
    if condition:
        item["Condition"] = condition
    return item


@st.composite
def documents(draw: st.DrawFn, kind: PolicyKind) -> dict[str, Any]:
    items = draw(st.lists(statements(kind), min_size=1, max_size=4))
    body: Any = items[0] if len(items) == 1 and draw(st.booleans()) else items
    return {"Version": "2012-10-17", "Statement": body}


@st.composite
def contexts(draw: st.DrawFn, principal: str) -> dict[str, Any]:
    context: dict[str, Any] = {"aws:PrincipalArn": principal, "aws:PrincipalAccount": principal.split(":")[4],
                               "aws:SecureTransport": "false"}
    if draw(st.booleans()):
        context["aws:SourceIp"] = draw(st.sampled_from(["10.1.2.3", "127.0.0.1", "192.168.1.1", "::1"]))
    if draw(st.booleans()):
        context["aws:TagKeys"] = draw(st.lists(st.sampled_from(["team", "owner", "x"]), max_size=2))
    if draw(st.booleans()):
        del context[draw(st.sampled_from(sorted(context)))]
    return context


# The oracle: IAM's rules, read straight off the JSON.

def _glob(pattern: str, value: str) -> bool:
    # fnmatch's [...] classes do not exist in IAM: keep brackets literal.
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_named(value: str, principal: str, effect: str) -> bool:
    account, is_root = principal.split(":")[4], principal.endswith(":root")
    if value in ("*", principal):
        return True
    named = value if value.isdigit() else value.split(":")[4] if value.endswith(":root") else None
    return named == account and (effect == "Deny" or is_root)


def _condition(operator: str, key: str, wanted: Any, context: dict[str, Any]) -> bool:
    found = {k.lower(): v for k, v in context.items()}.get(key.lower())
    given_values: list[str] | None = None if found is None else [str(v) for v in _listed(found)]
    wanted = [str(w) for w in _listed(wanted)]
    set_op, _, base = operator.rpartition(":")
    if base == "Null":
        return bool((found is None) == (wanted[0] == "true"))
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negative = base in ("StringNotEquals", "StringNotLike", "ArnNotLike", "NotIpAddress")

    def hit(value: str) -> bool:
        if base in ("StringEquals", "StringNotEquals"):
            return value in wanted
        if base == "StringEqualsIgnoreCase":
            return value.lower() in [w.lower() for w in wanted]
        if base in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
            return any(_glob(w, value) for w in wanted)
        if base == "Bool":
            return value.lower() in [w.lower() for w in wanted]
        if base in ("IpAddress", "NotIpAddress"):
            return any(ipaddress.ip_address(value) in ipaddress.ip_network(w, strict=False) for w in wanted)
        raise AssertionError(base)

    if set_op == "ForAllValues":
        return not given_values or all(hit(v) != negative for v in given_values)
    if set_op == "ForAnyValue":
        return given_values is not None and any(hit(v) != negative for v in given_values)
    if given_values is None:
        return if_exists or negative
    return any(hit(v) != negative for v in given_values)


def oracle(documents: list[tuple[PolicyKind, dict[str, Any]]], principal: str, action: str, resource: str,
           context: dict[str, Any]) -> Decision:
    verdicts = set()
    for kind, document in documents:
        for item in _listed(document["Statement"]):
            effect = item["Effect"]
            if kind is PolicyKind.RESOURCE:
                named = [_principal_named(v, principal, effect if "Principal" in item else "Deny")
                         for v in (["*"] if (item.get("Principal") or item.get("NotPrincipal")) == "*"
                                   else _listed((item.get("Principal") or item.get("NotPrincipal"))["AWS"]))]
                if any(named) != ("Principal" in item):
                    continue
            if "Action" in item and not any(_glob(a.lower(), action.lower()) for a in _listed(item["Action"])):
                continue
            if "NotAction" in item and any(_glob(a.lower(), action.lower()) for a in _listed(item["NotAction"])):
                continue
            if "Resource" in item and not any(_glob(r, resource) for r in _listed(item["Resource"])):
                continue
            if "NotResource" in item and any(_glob(r, resource) for r in _listed(item["NotResource"])):
                continue
            if all(_condition(op, key, wanted, context)
                   for op, block in item.get("Condition", {}).items() for key, wanted in block.items()):
                verdicts.add(effect)
    return Decision.EXPLICIT_DENY if "Deny" in verdicts else Decision.ALLOW if "Allow" in verdicts \
        else Decision.IMPLICIT_DENY


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_evaluator_agrees_with_the_oracle(data: st.DataObject) -> None:
    bucket_policy = data.draw(documents(PolicyKind.RESOURCE))
    identity = data.draw(st.lists(documents(PolicyKind.IDENTITY), max_size=2))  # none: a key with no policy
    docs = [(PolicyKind.RESOURCE, bucket_policy)] + [(PolicyKind.IDENTITY, d) for d in identity]
    policies = [parse_policy(json.dumps(doc), kind, GRAMMAR) for kind, doc in docs]
    for _ in range(5):
        principal = data.draw(st.sampled_from(PRINCIPALS))
        action = "s3vectors:" + data.draw(st.sampled_from(OPERATIONS))
        resource = data.draw(st.sampled_from(RESOURCES))
        context = data.draw(contexts(principal))
        who = Principal(principal, principal.split(":")[4])
        expected = oracle(docs, principal, action, resource, context)
        assert evaluate(policies, who, action, resource, context) == expected, (docs, principal, action, resource,
                                                                                context)


def test_a_crafted_wildcard_cannot_stall_the_evaluator() -> None:
    # As a regular expression, ".*a" 200 times then "b" backtracks without end against 300 a's.
    pattern = f"{ARN}:bucket/" + "*a" * 200 + "b"
    policy = parse_policy(json.dumps({"Statement": {"Effect": "Deny", "Action": "*", "Resource": pattern}}),
                          PolicyKind.IDENTITY, GRAMMAR)
    started = time.perf_counter()
    decision = evaluate([policy], Principal(PRINCIPALS[0], ACCOUNT), "s3vectors:GetIndex",
                        f"{ARN}:bucket/" + "a" * 300, {})
    assert decision is Decision.IMPLICIT_DENY and time.perf_counter() - started < 1.0


# The store's own check (AccessControl.authorize, as VectorStore.call runs it) for a key of the
# registry: an IAM user whose identity policies meet the bucket's policy, per AWS's same-account rule.

# operation -> (request, the actions the oracle must find allowed, every one)
STORE_OPERATIONS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "GetIndex": ({"vectorBucketName": "b1", "indexName": "i1"}, ["GetIndex"]),
    "PutVectors": ({"vectorBucketName": "b1", "indexName": "i2", "vectors": []}, ["PutVectors"]),
    "QueryVectors": ({"vectorBucketName": "b1", "indexName": "i1", "filter": {"genre": "x"}},
                     ["QueryVectors", "GetVectors"]),
    "ListIndexes": ({"vectorBucketName": "b1"}, ["ListIndexes"]),
    "GetVectorBucket": ({"vectorBucketName": "b2"}, ["GetVectorBucket"]),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VectorStore]:
    opened = VectorStore(tmp_path_factory.mktemp("oracle-store"), limits=Limits(), scope=ArnScope(),
                         token_secret=b"o" * 32)
    try:
        yield opened
    finally:
        opened.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_store_combines_a_users_identity_policies_with_the_bucket_policy_as_the_oracle(
        store: VectorStore, data: st.DataObject) -> None:
    bucket_policy = data.draw(st.none() | documents(PolicyKind.RESOURCE))
    identity = data.draw(st.lists(documents(PolicyKind.IDENTITY), max_size=2))
    for name in ("b1", "b2"):
        # Straight into the catalog's memory: the oracle's names ("b1") are shorter than an API call allows.
        store.state.catalog.buckets[name] = BucketRecord(name, 0.0, {"sseType": "AES256"},
                                                         policy=json.dumps(bucket_policy) if bucket_policy else None)
    principal = f"arn:aws:iam::{ACCOUNT}:user/ann"
    source_ip = data.draw(st.sampled_from([None, "10.1.2.3", "127.0.0.1"]))
    caller = user(store.state.scope, principal, tuple(parse_identity_policy(json.dumps(d)) for d in identity),
                  source_ip)
    operation = data.draw(st.sampled_from(sorted(STORE_OPERATIONS)))
    request, actions = STORE_OPERATIONS[operation]
    target = target_of(store.state.scope, operation, request)
    context: dict[str, Any] = {"aws:PrincipalArn": principal, "aws:PrincipalAccount": ACCOUNT,
                               "aws:SecureTransport": "false"}
    if source_ip:
        context["aws:SourceIp"] = source_ip
    docs = [(PolicyKind.IDENTITY, d) for d in identity]
    if bucket_policy:
        docs.append((PolicyKind.RESOURCE, bucket_policy))
    expected = all(oracle(docs, principal, f"s3vectors:{action}", target.arn, context) is Decision.ALLOW
                   for action in actions)
    try:
        store._access.authorize(caller, operation, dict(request))
        allowed = True
    except AccessDeniedException:
        allowed = False
    event(f"allowed: {allowed}")
    assert allowed == expected, (docs, operation, source_ip)
