"""IAM policy documents: read and checked as IAM reads them, and evaluated as IAM evaluates them.

:func:`parse_policy` turns a JSON document into a :class:`Policy` or raises :class:`PolicyError`
naming the first problem. What a service accepts in its policies (its action names, the shape of
its ARNs, its own condition keys) comes in a :class:`Grammar`, so this module knows IAM and no
service. An identity policy may also name other services' ARNs and condition keys, which it
leaves to those services (one key can invoke Lambda functions and read vectors). :func:`evaluate`
applies IAM's evaluation order within one account: an explicit Deny in any policy wins, else an
Allow in any policy (identity-based or resource-based: in one account either suffices), else the
default, implicit, deny.

Matching follows IAM: ``*`` and ``?`` in actions (case-insensitive), resources and ``...Like``
conditions; condition keys case-insensitive; the values of one key OR'ed, keys and operators
AND'ed; a missing key makes a condition false, a negated one (``StringNotEquals`` ...) true, and
``...IfExists`` true.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_FIELDS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                     "NotResource", "Condition"}
_ACTION = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9*?]+")
_ACCOUNT = re.compile(r"[0-9]{12}")
_PRINCIPAL_ARN = re.compile(r"arn:aws[-a-z0-9]*:(iam|sts)::([0-9]{12}):(root|(user|role|assumed-role)/[\w+=,.@/-]+)")
# Another service's ARN or condition key, in an identity policy: its service's to check.
_FOREIGN_ARN = re.compile(r"arn:aws[-a-z0-9]*:([a-z0-9-]+):[^:\s]*:[^:\s]*:\S+")
_FOREIGN_KEY = re.compile(r"[a-z0-9-]+:\S+", re.IGNORECASE)
_STRING_OPERATORS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
                     "StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}
_NUMERIC_OPERATORS = {"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                      "NumericGreaterThan", "NumericGreaterThanEquals"}
_OPERATORS = _STRING_OPERATORS | _NUMERIC_OPERATORS | {"Bool", "IpAddress", "NotIpAddress", "Null"}

ContextValue = str | Sequence[str]


class PolicyError(Exception):
    """A document IAM would refuse; the message names the problem."""


class Decision(enum.Enum):
    """The outcome of evaluating a request against policies, in IAM's terms."""

    EXPLICIT_DENY = "explicit deny"
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit deny"


class PolicyKind(enum.Enum):
    """Where a policy is attached: to the caller (no Principal) or to the resource (with one)."""

    IDENTITY = "identity-based"
    RESOURCE = "resource-based"


@dataclass(frozen=True)
class Grammar:
    """What one service accepts: its action prefix and names, its ARNs and its own condition keys."""

    service: str
    actions: frozenset[str]
    resource: re.Pattern[str]  # a Resource value (wildcards included) other than "*"
    condition_keys: tuple[str, ...]  # lower-case; a key ending in "/" takes any suffix (tag keys)

    def knows_action(self, pattern: str) -> bool:
        """Whether a pattern of this service's actions names at least one of them."""
        return any(_like(pattern, action, ignore_case=True) for action in self.actions)

    def knows_condition_key(self, key: str) -> bool:
        """Global ``aws:`` keys are all accepted (absent from a request, they match as IAM's absent keys do)."""
        lowered = key.lower()
        if lowered.startswith("aws:"):
            return True
        return any(lowered == known or (known.endswith("/") and lowered.startswith(known) and len(lowered) > len(known))
                   for known in self.condition_keys)


@dataclass(frozen=True)
class Principal:
    """Who makes a request: an IAM ARN and its account."""

    arn: str
    account: str

    @property
    def is_root(self) -> bool:
        """The account itself (its root user), as the account's own access keys are."""
        return self.arn.endswith(":root")


@dataclass(frozen=True)
class Condition:
    """One key under one operator of a Condition block."""

    operator: str  # the base operator, e.g. StringLike
    qualifier: str | None  # ForAnyValue, ForAllValues or None
    if_exists: bool
    key: str  # lower-case
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One statement; ``None`` for a field the statement does not have."""

    sid: str | None
    effect: str  # Allow or Deny
    principals: tuple[str, ...] | None
    not_principals: tuple[str, ...] | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Policy:
    """A checked policy document."""

    kind: PolicyKind
    statements: tuple[Statement, ...]


def parse_policy(text: str, kind: PolicyKind, grammar: Grammar) -> Policy:
    """The policy a JSON document holds, or :class:`PolicyError` naming what IAM would refuse."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise PolicyError("Policies must be valid JSON") from None
    if not isinstance(document, dict):
        raise PolicyError("Policies must be a JSON object")
    unknown = sorted(set(document) - {"Version", "Id", "Statement"})
    if unknown:
        raise PolicyError(f"Policy has an invalid element: {unknown[0]}")
    version = document.get("Version", VERSIONS[1])
    if version not in VERSIONS:
        raise PolicyError(f"Policy has an invalid Version: it must be one of {', '.join(VERSIONS)}")
    if "Id" in document and not isinstance(document["Id"], str):
        raise PolicyError("Policy has an invalid Id: it must be a string")
    if "Statement" not in document:
        raise PolicyError("Missing required field Statement")
    raw = document["Statement"]
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise PolicyError("Policy has an invalid Statement: it must be an object or a list of objects")
    statements = tuple(_statement(item, kind, grammar) for item in items)
    sids = [s.sid for s in statements if s.sid is not None]
    if len(sids) != len(set(sids)):
        raise PolicyError("Statement IDs (SID) in a single policy must be unique")
    return Policy(kind, statements)


def _statement(item: dict[str, Any], kind: PolicyKind, grammar: Grammar) -> Statement:
    unknown = sorted(set(item) - _STATEMENT_FIELDS)
    if unknown:
        raise PolicyError(f"Policy has an invalid element in a statement: {unknown[0]}")
    sid = item.get("Sid")
    if sid is not None and not (isinstance(sid, str) and re.fullmatch(r"[A-Za-z0-9 ]*", sid)):
        raise PolicyError("Statement IDs (SID) must be alphanumeric strings")
    effect = item.get("Effect")
    if effect is None:
        raise PolicyError("Missing required field Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"Invalid effect: {effect} (it must be Allow or Deny)")
    principals, not_principals = _pair(item, "Principal", "NotPrincipal", required=kind is PolicyKind.RESOURCE)
    if kind is PolicyKind.IDENTITY and (principals or not_principals):
        raise PolicyError("Policy document should not specify a principal")
    actions, not_actions = _pair(item, "Action", "NotAction", required=True)
    resources, not_resources = _pair(item, "Resource", "NotResource", required=True)
    for action in (actions or not_actions or ()):
        _check_action(action, kind, grammar)
    for resource in (resources or not_resources or ()):
        if resource != "*" and not grammar.resource.fullmatch(resource) \
                and not (kind is PolicyKind.IDENTITY and _foreign_arn(resource, grammar)):
            raise PolicyError(f"Policy has invalid resource: {resource}")
    return Statement(sid, effect, _principals(principals), _principals(not_principals), actions, not_actions,
                     resources, not_resources, _conditions(item.get("Condition"), kind, grammar))


def _pair(item: dict[str, Any], name: str, negated: str, *, required: bool) -> tuple[Any, Any]:
    if name in item and negated in item:
        raise PolicyError(f"A statement cannot have both {name} and {negated}")
    if required and name not in item and negated not in item:
        raise PolicyError(f"Missing required field {name}")
    if name in ("Principal",):
        return item.get(name), item.get(negated)
    return _strings(item, name), _strings(item, negated)


def _strings(item: dict[str, Any], name: str) -> tuple[str, ...] | None:
    if name not in item:
        return None
    value = item[name]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise PolicyError(f"Policy has an invalid {name}: it must be a string or a non-empty list of strings")
    return tuple(values)


def _check_action(action: str, kind: PolicyKind, grammar: Grammar) -> None:
    if action == "*":
        return
    if not _ACTION.fullmatch(action):
        raise PolicyError(f"Policy has invalid action: {action}")
    service, _, name = action.partition(":")
    if service.lower() == grammar.service:
        if not grammar.knows_action(name):
            raise PolicyError(f"Policy has invalid action: {action}")
    elif kind is PolicyKind.RESOURCE:
        # A resource policy governs its own service only: another prefix could never apply.
        raise PolicyError(f"Policy has invalid action: {action}")


def _principals(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value == "*":
        return ("*",)
    if not isinstance(value, dict) or not value:
        raise PolicyError("Invalid principal in policy: it must be \"*\" or an object such as {\"AWS\": ...}")
    found: list[str] = []
    for name, entries in value.items():
        items = [entries] if isinstance(entries, str) else entries
        if name not in ("AWS", "Service") or not isinstance(items, list) or not items:
            raise PolicyError(f"Invalid principal in policy: {name}")
        for entry in items:
            if not isinstance(entry, str):
                raise PolicyError("Invalid principal in policy")
            if name == "Service":
                found.append(f"service:{entry}")  # never one of our callers
            elif entry == "*" or _ACCOUNT.fullmatch(entry) or _PRINCIPAL_ARN.fullmatch(entry):
                found.append(entry)
            else:
                raise PolicyError(f"Invalid principal in policy: {entry}")
    return tuple(found)


def _foreign_arn(resource: str, grammar: Grammar) -> bool:
    """An ARN of another service than the grammar's, whose shape that service (not this one) checks."""
    # An identity policy grants across services (one key may both invoke Lambda functions and read
    # vectors): each service reads the statements for its own resources and never matches the rest.
    found = _FOREIGN_ARN.fullmatch(resource)
    return found is not None and found.group(1) != grammar.service


def _conditions(block: Any, kind: PolicyKind, grammar: Grammar) -> tuple[Condition, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        raise PolicyError("Policy has an invalid Condition: it must be an object of operators")
    found: list[Condition] = []
    for raw_operator, keys in block.items():
        qualifier, _, base = raw_operator.rpartition(":")
        if qualifier not in ("", "ForAnyValue", "ForAllValues"):
            raise PolicyError(f"Policy has an invalid condition operator: {raw_operator}")
        if_exists = base.endswith("IfExists") and base != "IfExists"
        operator = base[: -len("IfExists")] if if_exists else base
        if operator not in _OPERATORS or (operator == "Null" and (if_exists or qualifier)):
            raise PolicyError(f"Policy has an invalid condition operator: {raw_operator}")
        if not isinstance(keys, dict) or not keys:
            raise PolicyError(f"Policy has an invalid condition block under {raw_operator}")
        for key, raw_values in keys.items():
            foreign = kind is PolicyKind.IDENTITY and _FOREIGN_KEY.fullmatch(key) is not None \
                and key.partition(":")[0].lower() not in (grammar.service, "aws")
            if not (grammar.knows_condition_key(key) or foreign):
                raise PolicyError(f"Policy has an invalid condition key: {key}")
            values = raw_values if isinstance(raw_values, list) else [raw_values]
            if not values or not all(isinstance(v, str | bool | int | float) for v in values):
                raise PolicyError(f"Policy has an invalid condition value for {key}")
            texts = tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
            _check_values(operator, key, texts)
            found.append(Condition(operator, qualifier or None, if_exists, key.lower(), texts))
    return tuple(found)


def _check_values(operator: str, key: str, values: tuple[str, ...]) -> None:
    try:
        if operator in ("Bool", "Null") and any(v.lower() not in ("true", "false") for v in values):
            raise ValueError
        if operator in ("IpAddress", "NotIpAddress"):
            for value in values:
                ipaddress.ip_network(value, strict=False)
        if operator in _NUMERIC_OPERATORS:
            for value in values:
                float(value)
    except ValueError:
        raise PolicyError(f"Policy has an invalid condition value for {key} under {operator}") from None


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` any one; everything else literal."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    # Greedy matching with one backtrack point: linear in practice and O(len(pattern) * len(value))
    # at worst, where a regular expression of many ".*" can backtrack exponentially on a crafted
    # policy (a denial of service by whoever may put one).
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] in ("?", value[v]) and pattern[p] != "*":
            p, v = p + 1, v + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, v, p + 1
        elif star >= 0:
            mark += 1
            p, v = star + 1, mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def evaluate(policies: Iterable[Policy], principal: Principal, action: str, resource: str,
             context: Mapping[str, ContextValue]) -> Decision:
    """IAM's decision for one request: explicit deny, else allow, else implicit deny."""
    return explain(policies, principal, action, resource, context)[0]


def explain(policies: Iterable[Policy], principal: Principal, action: str, resource: str,
            context: Mapping[str, ContextValue]) -> tuple[Decision, PolicyKind | None]:
    """The decision and the kind of policy that decided it (None for an implicit deny)."""
    lowered = {key.lower(): value for key, value in context.items()}
    allowed_by: PolicyKind | None = None
    for policy in policies:
        for statement in policy.statements:
            if not _applies(statement, policy.kind, principal, action, resource, lowered):
                continue
            if statement.effect == "Deny":
                return Decision.EXPLICIT_DENY, policy.kind
            allowed_by = allowed_by or policy.kind
    return (Decision.ALLOW, allowed_by) if allowed_by else (Decision.IMPLICIT_DENY, None)


def denial_reason(decision: Decision, kind: PolicyKind | None, action: str) -> str:
    """The end of AWS's AccessDenied message: why IAM refused the action."""
    if decision is Decision.EXPLICIT_DENY and kind is not None:
        return f"with an explicit deny in {'an' if kind is PolicyKind.IDENTITY else 'a'} {kind.value} policy"
    return f"because no identity-based policy allows the {action} action"


def _applies(statement: Statement, kind: PolicyKind, principal: Principal, action: str, resource: str,
             context: Mapping[str, ContextValue]) -> bool:
    if kind is PolicyKind.RESOURCE:
        if statement.principals is not None and not _any_principal(statement.principals, principal, statement.effect):
            return False
        if statement.not_principals is not None and _any_principal(statement.not_principals, principal, "Deny"):
            return False
    if statement.actions is not None and not any(_like(a, action, ignore_case=True) for a in statement.actions):
        return False
    if statement.not_actions is not None and any(_like(a, action, ignore_case=True) for a in statement.not_actions):
        return False
    if statement.resources is not None and not any(_like(r, resource) for r in statement.resources):
        return False
    if statement.not_resources is not None and any(_like(r, resource) for r in statement.not_resources):
        return False
    return all(_holds(condition, context) for condition in statement.conditions)


def _any_principal(values: tuple[str, ...], principal: Principal, effect: str) -> bool:
    for value in values:
        if value == "*" or value == principal.arn:
            return True
        account = value if _ACCOUNT.fullmatch(value) else None
        match = _PRINCIPAL_ARN.fullmatch(value)
        if match is not None and match.group(3) == "root":
            account = match.group(2)
        # Naming an account trusts the account: its root is granted, its other identities still need
        # their own allow (IAM's delegation), while a Deny to the account reaches every one of them.
        if account == principal.account and (effect == "Deny" or principal.is_root):
            return True
    return False


def _holds(condition: Condition, context: Mapping[str, ContextValue]) -> bool:
    raw = context.get(condition.key)
    present: list[str] | None = None if raw is None else ([raw] if isinstance(raw, str) else list(raw))
    operator = condition.operator
    if operator == "Null":
        return (present is None) == (condition.values[0].lower() == "true")
    negated = "Not" in operator
    if present is None or (condition.qualifier is not None and not present):
        if condition.if_exists or condition.qualifier == "ForAllValues":
            return True
        return negated and condition.qualifier is None
    if condition.qualifier == "ForAllValues":
        return all(_matches(operator, condition.values, value) for value in present)
    return any(_matches(operator, condition.values, value) for value in present)


def _matches(operator: str, expected: tuple[str, ...], value: str) -> bool:
    """Whether one request value satisfies the operator against the policy's values (OR'ed)."""
    if operator in _NUMERIC_OPERATORS:
        return _numeric(operator, expected, value)
    positive = operator.replace("Not", "", 1) if operator not in ("NotIpAddress",) else "IpAddress"
    if positive in ("StringEquals", "ArnEquals") and operator.startswith("Arn"):
        positive = "ArnLike"  # ArnEquals takes IAM's wildcards too
    hit = any(_one(positive, pattern, value) for pattern in expected)
    return not hit if "Not" in operator else hit


def _one(operator: str, pattern: str, value: str) -> bool:
    if operator == "StringEquals":
        return pattern == value
    if operator == "StringEqualsIgnoreCase":
        return pattern.lower() == value.lower()
    if operator in ("StringLike", "ArnLike", "ArnEquals"):
        return _like(pattern, value)
    if operator == "Bool":
        return pattern.lower() == value.lower()
    if operator == "IpAddress":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    raise AssertionError(operator)


def _numeric(operator: str, expected: tuple[str, ...], value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    tests = {
        "NumericEquals": lambda p: number == p, "NumericNotEquals": lambda p: number != p,
        "NumericLessThan": lambda p: number < p, "NumericLessThanEquals": lambda p: number <= p,
        "NumericGreaterThan": lambda p: number > p, "NumericGreaterThanEquals": lambda p: number >= p,
    }
    if operator == "NumericNotEquals":
        return all(tests[operator](float(p)) for p in expected)
    return any(tests[operator](float(p)) for p in expected)
