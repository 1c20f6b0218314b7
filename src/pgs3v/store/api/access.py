"""Who may do what: every operation checked against the bucket's policy before it runs.

The action is ``s3vectors:<Operation>``; the resource the ARN the request names (an index
operation's index, a bucket operation's bucket, ``*`` for ListVectorBuckets), and its bucket's
policy the resource-based policy in force. AWS's extra rules: QueryVectors with a filter,
``returnMetadata`` or ``queryTexts``, and ListVectors with ``returnData`` or ``returnMetadata``,
also need ``s3vectors:GetVectors`` on the index.

The caller is a :class:`~pgs3v.auth.policies.Principal`. A key of the registry
(``pgs3v store keys``) is an IAM user of the account, allowed what its identity policies allow and
the bucket's policy does not deny (AWS's same-account rule). The store's own key is the
account's own (``arn:aws:iam::<account>:root``, as STS GetCallerIdentity answers), whose
identity policy allows everything: a bucket policy can only deny it. As S3 does for a bucket
owner's root user, it may still Get, Put and Delete the bucket's policy, so a policy that
denies everything cannot lock the owner out (S3 Vectors' pages say nothing either way).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pgs3v.auth.errors import AccessDeniedException
from pgs3v.auth.policies import (
    ContextValue,
    Decision,
    Grammar,
    Policy,
    PolicyError,
    PolicyKind,
    Principal,
    denial_reason,
    explain,
    parse_policy,
)
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.errors import FieldError, ValidationException
from pgs3v.store.api.shapes import operation_names
from pgs3v.store.api.state import StoreState

log = logging.getLogger("pgs3v.store")

SERVICE = "s3vectors"
_POLICY_OPERATIONS = frozenset({"GetVectorBucketPolicy", "PutVectorBucketPolicy", "DeleteVectorBucketPolicy"})
_TAG_OPERATIONS = frozenset({"TagResource", "UntagResource", "ListTagsForResource"})
# The store's own operations, checked as the API operation closest to what they do.
_EXTENSION_ACTIONS = {"Pgs3vDescribeIndexEngine": "GetIndex", "Pgs3vOptimizeIndex": "UpdateIndexMode"}
# A Resource value: an s3vectors ARN (wildcards allowed in each part) of a bucket or under one.
_NAME = r"[a-z0-9.*?-]+"
_RESOURCE = re.compile(
    rf"arn:[a-z0-9*?-]+:(s3vectors|[*?a-z0-9]*[*?][*?a-z0-9]*):[a-z0-9*?-]*:([0-9*?]*):"
    rf"(bucket/{_NAME}(/[a-z0-9.*?/-]*)?|(bucket)?[*?][a-z0-9.*?/-]*)"
)

# S3's limit on a bucket policy (S3 Vectors documents none); it also bounds the parsed-policy cache.
MAX_POLICY_BYTES = 20 * 1024
# IAM's limit on one managed policy document (6,144 characters).
MAX_IDENTITY_POLICY_BYTES = 6144

GRAMMAR = Grammar(
    service=SERVICE,
    actions=frozenset(operation_names()),
    resource=_RESOURCE,
    # The Service Authorization Reference's keys for s3vectors.
    condition_keys=("s3vectors:ssetype", "s3vectors:kmskeyarn", "s3vectors:vectorbuckettag/"),
)
OWNER_POLICY = parse_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", '
                            '"Resource": "*"}]}', PolicyKind.IDENTITY, GRAMMAR)

_NO_STATEMENTS = parse_policy('{"Statement": []}', PolicyKind.RESOURCE, GRAMMAR)


@dataclass(frozen=True)
class Caller:
    """Who sent a request, from where, and the identity policies that hold for them."""

    principal: Principal
    source_ip: str | None = None
    identity_policies: tuple[Policy, ...] = field(default=(OWNER_POLICY,))


def owner(scope: ArnScope, source_ip: str | None = None) -> Caller:
    """The account itself: the store's own access key."""
    return Caller(Principal(f"arn:{scope.partition}:iam::{scope.account_id}:root", scope.account_id), source_ip)


def parse_bucket_policy(text: str) -> Policy:
    """A vector bucket policy, or the ValidationException AWS's model gives PutVectorBucketPolicy."""
    try:
        if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
            raise PolicyError(f"Policy exceeds the maximum allowed document size of {MAX_POLICY_BYTES} bytes")
        return parse_policy(text, PolicyKind.RESOURCE, GRAMMAR)
    except PolicyError as problem:
        # AWS's bare message, as for names: not a shape constraint's "1 validation error detected."
        raise ValidationException(str(problem), [FieldError("/policy", str(problem))]) from None


@lru_cache(maxsize=1024)
def _parsed(text: str) -> Policy:
    return parse_policy(text, PolicyKind.RESOURCE, GRAMMAR)


@lru_cache(maxsize=1024)
def parse_identity_policy(text: str) -> Policy:
    """An access key's identity policy, or :class:`PolicyError` naming what IAM would refuse."""
    if len(text.encode("utf-8")) > MAX_IDENTITY_POLICY_BYTES:
        raise PolicyError(f"Policy exceeds the maximum allowed document size of {MAX_IDENTITY_POLICY_BYTES} bytes")
    return parse_policy(text, PolicyKind.IDENTITY, GRAMMAR)


def user(scope: ArnScope, arn: str, policies: tuple[Policy, ...], source_ip: str | None = None) -> Caller:
    """An IAM user of the account (a key of the registry), allowed only what its policies allow."""
    return Caller(Principal(arn, scope.account_id), source_ip, policies)


@dataclass(frozen=True)
class Target:
    """The resource a request names: its ARN, and the bucket and index it belongs to (if any)."""

    arn: str
    bucket: str | None = None
    index: str | None = None


def target_of(scope: ArnScope, operation: str, request: dict[str, Any]) -> Target:
    """The resource a request acts on, read from its parameters (not from the catalog)."""
    if operation in ("ListVectorBuckets",):
        return Target("*")
    if operation in _TAG_OPERATIONS:
        arn = str(request.get("resourceArn", ""))
        index = scope.parse_index_arn(arn)
        if index is not None:
            return Target(arn, *index)
        return Target(arn, scope.parse_bucket_arn(arn))
    if request.get("indexArn") is not None:
        arn = str(request["indexArn"])
        parsed = scope.parse_index_arn(arn)
        return Target(arn, *parsed) if parsed else Target(arn)
    bucket = request.get("vectorBucketName")
    if bucket is None and request.get("vectorBucketArn") is not None:
        bucket = scope.parse_bucket_arn(str(request["vectorBucketArn"]))
    if not isinstance(bucket, str):
        return Target(str(request.get("vectorBucketArn") or "*"))
    if isinstance(request.get("indexName"), str):
        return Target(scope.index_arn(bucket, request["indexName"]), bucket, request["indexName"])
    return Target(scope.bucket_arn(bucket), bucket)


def actions_of(operation: str, request: dict[str, Any]) -> list[str]:
    """Every action the request needs: its own, and GetVectors where AWS asks for it too."""
    actions = [f"{SERVICE}:{_EXTENSION_ACTIONS.get(operation, operation)}"]
    if operation == "QueryVectors" and (request.get("filter") is not None or request.get("returnMetadata")
                                        or request.get("queryTexts")):
        actions.append(f"{SERVICE}:GetVectors")
    if operation == "ListVectors" and (request.get("returnData") or request.get("returnMetadata")):
        actions.append(f"{SERVICE}:GetVectors")
    return actions


# How stale a bucket's policy may be on shared storage, where other servers (or workers) put it.
POLICY_REFRESH_SECONDS = 1.0


class AccessControl:
    """The store's check of every request against its bucket's policy and the caller's own policies."""

    def __init__(self, state: StoreState, clock: Callable[[], float] = time.monotonic) -> None:
        self._state = state
        self._clock = clock
        self._read_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def authorize(self, caller: Caller, operation: str, request: dict[str, Any]) -> None:
        """Raise AccessDeniedException (logged) unless the caller may run the operation as asked."""
        state = self._state
        target = target_of(state.scope, operation, request)
        if target.bucket and state.storage.shared:
            self._refresh(target.bucket)
        bucket = state.catalog.buckets.get(target.bucket) if target.bucket else None
        if bucket is None or bucket.policy is None:
            if caller.identity_policies == (OWNER_POLICY,):
                return  # the owner with no bucket policy: nothing can deny it, so skip building the context
            policies = list(caller.identity_policies)
        else:
            policies = [*caller.identity_policies, self._bucket_policy(caller, operation, target, bucket.policy)]
        context = _context(state, caller, operation, request, target)
        for action in actions_of(operation, request):
            decision, kind = explain(policies, caller.principal, action, target.arn, context)
            if decision is Decision.ALLOW:
                continue
            if operation in _POLICY_OPERATIONS and caller.principal.is_root and bucket is not None:
                # S3's rule for a bucket owner's root user, so a deny-all policy can always be undone.
                continue
            reason = denial_reason(decision, kind, action)
            message = (f"User: {caller.principal.arn} is not authorized to perform: {action} "
                       f"on resource: {target.arn} {reason}")
            log.warning("access denied: principal=%s action=%s resource=%s operation=%s decision=%s",
                        caller.principal.arn, action, target.arn, operation, decision.name)
            raise AccessDeniedException(message)

    def _bucket_policy(self, caller: Caller, operation: str, target: Target, text: str) -> Policy:
        """The bucket's parsed policy; one stored before policies were checked may not parse."""
        try:
            return _parsed(text)
        except PolicyError as problem:
            if operation in _POLICY_OPERATIONS and caller.principal.is_root:
                return _NO_STATEMENTS  # so that the owner can replace or delete it
            # Fail closed: a policy whose intent cannot be read must not end up allowing what it denies.
            log.warning("access denied: principal=%s operation=%s resource=%s: the bucket's policy is invalid: %s",
                        caller.principal.arn, operation, target.arn, problem)
            raise AccessDeniedException(
                f"User: {caller.principal.arn} is not authorized to perform: {SERVICE}:{operation} on resource: "
                f"{target.arn} because the vector bucket's policy is not valid ({problem}): put a valid policy "
                "or delete it"
            ) from None

    def _refresh(self, bucket: str) -> None:
        """Read the bucket's record again if this server's copy may be older than POLICY_REFRESH_SECONDS."""
        # Another worker may have just put a deny-all policy: without this, requests that land on
        # this server would go on being allowed until something else made it read the bucket again.
        now = self._clock()
        with self._lock:
            if now - self._read_at.get(bucket, -POLICY_REFRESH_SECONDS) < POLICY_REFRESH_SECONDS:
                return
            self._read_at[bucket] = now
        self._state.catalog.refresh_record(bucket)


def _context(state: StoreState, caller: Caller, operation: str, request: dict[str, Any],
             target: Target) -> dict[str, ContextValue]:
    principal = caller.principal
    context: dict[str, ContextValue] = {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalType": "Account" if principal.is_root else "User",
        "aws:userid": principal.account if principal.is_root else principal.arn,
        "aws:SecureTransport": "false",  # the store speaks plain HTTP
        "aws:ResourceAccount": state.scope.account_id,
    }
    if caller.source_ip:
        context["aws:SourceIp"] = caller.source_ip
    tags = request.get("tags")
    if isinstance(tags, dict) and operation in ("CreateVectorBucket", "CreateIndex", "TagResource"):
        context["aws:TagKeys"] = [str(k) for k in tags]
        context.update({f"aws:RequestTag/{k}": str(v) for k, v in tags.items()})
    if operation == "UntagResource" and isinstance(request.get("tagKeys"), list):
        context["aws:TagKeys"] = [str(k) for k in request["tagKeys"]]
    encryption = request.get("encryptionConfiguration")
    if operation in ("CreateVectorBucket", "CreateIndex") and isinstance(encryption, dict):
        if encryption.get("sseType"):
            context["s3vectors:sseType"] = str(encryption["sseType"])
        if encryption.get("kmsKeyArn"):
            context["s3vectors:kmsKeyArn"] = str(encryption["kmsKeyArn"])
    bucket = state.catalog.buckets.get(target.bucket) if target.bucket else None
    if bucket is not None:
        context.update({f"s3vectors:VectorBucketTag/{k}": v for k, v in bucket.tags.items()})
        record = state.catalog.indexes.get((bucket.name, target.index)) if target.index else bucket
        if record is not None and operation not in ("CreateVectorBucket", "CreateIndex"):
            context.update({f"aws:ResourceTag/{k}": v for k, v in record.tags.items()})
    return context
