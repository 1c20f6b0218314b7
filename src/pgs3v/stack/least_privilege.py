"""The local stack's three bridge functions, each signing with a key that can do only its part.

As the AWS template gives its query, write and manage functions a role each, ``pgs3v up`` gives
the function host's pgs3v-query, pgs3v-write and pgs3v-manage a key each in the store's key
registry, with the same actions (on every bucket: locally SQL creates buckets as it likes), and
installs the SQL schema routing to them. So a caller who reaches the function host cannot write
through pgs3v-query: the store refuses its key, whatever the event asks for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pgs3v.auth.key_registry import KeyRegistry
from pgs3v.aws.template import DEFAULT_NAME_PREFIX, function_names

_READS = ("s3vectors:QueryVectors", "s3vectors:GetVectors", "s3vectors:ListVectors")
_WRITES = ("s3vectors:PutVectors", "s3vectors:DeleteVectors")


@dataclass(frozen=True)
class BridgeRole:
    """One bridge function: its name (also its key's), and its key's identity policy."""

    function_name: str
    policy: str


def _policy(action_field: str, actions: tuple[str, ...]) -> str:
    statement = {"Sid": "Pgs3vBridge", "Effect": "Allow", action_field: list(actions), "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2)


_QUERY, _WRITE, _MANAGE = function_names(DEFAULT_NAME_PREFIX)
ROLES = (
    # The template's QueryRole: what SQL routes to the query function, and nothing else.
    BridgeRole(_QUERY, _policy("Action", _READS)),
    # Its WriteRole: the writes, and the reads a writer may make of what it writes.
    BridgeRole(_WRITE, _policy("Action", _READS + _WRITES)),
    # Its ManageRole: every operation but the vectors' own, which SQL never routes here.
    BridgeRole(_MANAGE, _policy("NotAction", _READS + _WRITES)),
)
ROLE_FUNCTIONS = tuple(role.function_name for role in ROLES)
QUERY_FUNCTION, WRITE_FUNCTION, MANAGE_FUNCTION = ROLE_FUNCTIONS


def ensure_bridge_keys(store_dir: Path) -> None:
    """Create each role's key in the store's registry unless it exists; bring its policy up to date."""
    registry = KeyRegistry(store_dir)
    existing = {key.user_name: key for key in registry.list_keys()}
    for role in ROLES:
        key = existing.get(role.function_name)
        if key is None:
            registry.create(role.function_name, [role.policy])
        elif key.policies != (role.policy,):
            # Changed by hand, or by an older pgs3v: SQL's routing relies on exactly these rights.
            registry.set_policies(role.function_name, [role.policy])


def bridge_function_args() -> list[str]:
    """The function host's options serving each role's function with its own key."""
    return [arg for role in ROLES for arg in ("--bridge-function", f"{role.function_name}={role.function_name}")]
