"""Who may invoke what: the owner's key any function, a registry key what its identity policies allow.

The function host accepts the store's own key (the account's root, as on the store) and the keys
of the store's registry (``pgs3v store keys``, IAM users of the account). Each invocation is the
action ``lambda:InvokeFunction`` on the ARN the request names (qualified when it names a
qualifier, as Lambda checks it), decided by the same IAM evaluator the store uses: a key allowed
nothing on the function gets Lambda's 403 AccessDeniedException. So the key PostgreSQL holds
(``pgs3v-invoke``, made by ``pgs3v up``) can start the bridge functions and nothing else, and is
refused by the store itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache

import botocore.session

from pgs3v.auth.account_keys import AccountKeys
from pgs3v.auth.credentials import Credentials
from pgs3v.auth.key_registry import KeyRegistry
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
from pgs3v.bridge.lambda_errors import AccessDeniedException

INVOKE_ACTION = "lambda:InvokeFunction"
# Every denial is logged (who, what, on which function), as the store logs its own.
log = logging.getLogger("pgs3v.functions")


def _action_names() -> frozenset[str]:
    # IAM's Lambda actions are the API's operations, but for Invoke, which IAM calls InvokeFunction.
    operations = botocore.session.get_session().get_service_model("lambda").operation_names
    return frozenset({"InvokeFunction" if name == "Invoke" else name for name in operations} | {"InvokeFunction"})


GRAMMAR = Grammar(
    service="lambda",
    actions=_action_names(),
    # A Lambda ARN (wildcards allowed): a function, qualified or not, a layer, a mapping ...
    resource=re.compile(r"arn:[a-z0-9*?-]+:(lambda|[*?a-z0-9]*[*?][*?a-z0-9]*):[a-z0-9*?-]*:[0-9*?]*:"
                        r"[A-Za-z0-9$_.:/*?-]+"),
    # The Service Authorization Reference's keys for lambda.
    condition_keys=("lambda:functionarn", "lambda:functionurlauthtype", "lambda:principal",
                    "lambda:sourcefunctionarn", "lambda:layer", "lambda:vpcids", "lambda:subnetids",
                    "lambda:securitygroupids", "lambda:codesigningconfigarn", "lambda:eventsourcetoken"),
)


@lru_cache(maxsize=1024)
def parse_identity_policy(text: str) -> Policy:
    """A key's identity policy, read for its Lambda statements, or :class:`PolicyError`."""
    return parse_policy(text, PolicyKind.IDENTITY, GRAMMAR)


class InvokeAccess:
    """The keys the function host accepts, with their secrets (for SigV4) and what each may invoke."""

    def __init__(self, owner_key: Credentials, registry: KeyRegistry | None, account_id: str,
                 partition: str = "aws") -> None:
        self._keys = AccountKeys(owner_key, registry)
        self._account_id = account_id
        self._partition = partition

    def secret(self, access_key_id: str) -> str | None:
        """The secret of a key the host accepts, or None."""
        return self._keys.secret(access_key_id)

    def authorize(self, access_key_id: str | None, function_arn: str, *, source_ip: str | None = None,
                  secure: bool = False) -> None:
        """Raise Lambda's AccessDeniedException unless the key may invoke the function at ``function_arn``."""
        key = self._keys.user_key(access_key_id)
        if key is None:
            return  # the account's root (or verification off): nothing in its account can deny it
        arn = key.user_arn(self._partition, self._account_id)
        try:
            policies = [parse_identity_policy(text) for text in key.policies]
        except PolicyError as problem:
            # Fail closed: a policy edited by hand into something unreadable must not widen access.
            log.warning("invoke denied: principal=%s action=%s resource=%s: an identity policy is invalid: %s",
                        arn, INVOKE_ACTION, function_arn, problem)
            raise AccessDeniedException(_denied(arn, function_arn, f"because one of its identity policies is not "
                                                                   f"valid ({problem})")) from None
        principal = Principal(arn, self._account_id)
        decision, kind = explain(policies, principal, INVOKE_ACTION, function_arn,
                                 _context(principal, self._account_id, source_ip, secure))
        if decision is not Decision.ALLOW:
            log.warning("invoke denied: principal=%s action=%s resource=%s decision=%s",
                        arn, INVOKE_ACTION, function_arn, decision.name)
            raise AccessDeniedException(_denied(arn, function_arn, denial_reason(decision, kind, INVOKE_ACTION)))


def _denied(user_arn: str, function_arn: str, reason: str) -> str:
    return f"User: {user_arn} is not authorized to perform: {INVOKE_ACTION} on resource: {function_arn} {reason}"


def _context(principal: Principal, account_id: str, source_ip: str | None, secure: bool) -> Mapping[str, ContextValue]:
    """The global condition keys IAM sets on every request (Lambda's own keys apply to other actions)."""
    context: dict[str, ContextValue] = {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalType": "User",
        "aws:userid": principal.arn,
        "aws:SecureTransport": "true" if secure else "false",
        "aws:ResourceAccount": account_id,
    }
    if source_ip:
        context["aws:SourceIp"] = source_ip
    return context
