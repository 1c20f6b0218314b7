"""The local stack's three bridge functions, each signing with a key that can do only its part.

As the AWS template gives its query, write and manage functions a role each, ``pgs3v up`` gives
the function host's pgs3v-query, pgs3v-write and pgs3v-manage a key each in the store's key
registry, with the same actions (on every bucket: locally SQL creates buckets as it likes), and
installs the SQL schema routing to them. So a caller who reaches the function host cannot write
through pgs3v-query: the store refuses its key, whatever the event asks for.

PostgreSQL's shim signs its Invoke calls with a fourth key, pgs3v-invoke, allowed only
lambda:InvokeFunction on those three functions (the template's AuroraLambdaRole): the function
host refuses it any other function, and the store refuses it everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pgs3v.auth.credentials import Credentials
from pgs3v.auth.key_registry import KeyRegistry
from pgs3v.aws.template import DEFAULT_NAME_PREFIX, function_names
from pgs3v.bridge.functions import DEFAULT_ACCOUNT_ID, function_arn
from pgs3v.store.api.shapes import operation_names

_READS = ("s3vectors:QueryVectors", "s3vectors:GetVectors", "s3vectors:ListVectors")
_WRITES = ("s3vectors:PutVectors", "s3vectors:DeleteVectors")


@dataclass(frozen=True)
class BridgeRole:
    """One bridge function: its name (also its key's), and its key's identity policy."""

    function_name: str
    policy: str


# Named for the managing operations, not as "all but the vectors' own" (NotAction): that would
# also allow every other service's actions, lambda:InvokeFunction on any function among them.
_MANAGES = tuple(f"s3vectors:{name}" for name in sorted(operation_names())
                 if f"s3vectors:{name}" not in _READS + _WRITES)


def _policy(actions: tuple[str, ...], resources: str | list[str] = "*", sid: str = "Pgs3vBridge") -> str:
    statement = {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2)


_QUERY, _WRITE, _MANAGE = function_names(DEFAULT_NAME_PREFIX)
ROLES = (
    # The template's QueryRole: what SQL routes to the query function, and nothing else.
    BridgeRole(_QUERY, _policy(_READS)),
    # Its WriteRole: the writes, and the reads a writer may make of what it writes.
    BridgeRole(_WRITE, _policy(_READS + _WRITES)),
    # Its ManageRole: every operation but the vectors' own, which SQL never routes here.
    BridgeRole(_MANAGE, _policy(_MANAGES)),
)
ROLE_FUNCTIONS = tuple(role.function_name for role in ROLES)
QUERY_FUNCTION, WRITE_FUNCTION, MANAGE_FUNCTION = ROLE_FUNCTIONS
# The key PostgreSQL's shim signs its Invoke calls with: the template's AuroraLambdaRole.
INVOKE_KEY = f"{DEFAULT_NAME_PREFIX}-invoke"


def invoke_policy(region: str) -> str:
    """The invoke key's identity policy: lambda:InvokeFunction on the three functions, nothing else."""
    # The ARNs the function host gives its functions: the stack's region, the host's account.
    arns = [function_arn(region, DEFAULT_ACCOUNT_ID, name) for name in ROLE_FUNCTIONS]
    return _policy(("lambda:InvokeFunction",), arns, sid="InvokeTheBridge")


def ensure_bridge_keys(store_dir: Path, region: str) -> None:
    """Create each role's key and the invoke key unless they exist; bring their policies up to date."""
    registry = KeyRegistry(store_dir)
    existing = {key.user_name: key for key in registry.list_keys()}
    wanted = [(role.function_name, role.policy) for role in ROLES] + [(INVOKE_KEY, invoke_policy(region))]
    for name, policy in wanted:
        key = existing.get(name)
        if key is None:
            registry.create(name, [policy])
        elif key.policies != (policy,):
            # Changed by hand, or by an older pgs3v: SQL's routing relies on exactly these rights.
            registry.set_policies(name, [policy])


def invoke_credentials(store_dir: Path) -> Credentials:
    """The invoke key and its secret (made by :func:`ensure_bridge_keys`), for PostgreSQL's shim."""
    return KeyRegistry(store_dir).credentials(INVOKE_KEY)[1]


def bridge_function_args() -> list[str]:
    """The function host's options serving each role's function with its own key."""
    return [arg for role in ROLES for arg in ("--bridge-function", f"{role.function_name}={role.function_name}")]
