"""The AWS calls a command makes, printed as it makes them; with ``--dry-run``, printed and not made.

Every call that changes something goes through :meth:`AwsCalls.change`, which in a dry run only
prints ``would call <service> <Operation>(<parameters>)``. Read-only calls (describe, get, list)
go through :meth:`AwsCalls.read`: they run in a dry run too, since the plan depends on what
exists (create or update, already associated or not), and the output marks them as having run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from pgs3v.aws.clients import Clients

Say = Callable[[str], None]
# Parameters longer than this are shown by their size: a template body, a zip, 500 vectors.
_SHOWN_CHARACTERS = 200


class AwsCalls:
    """Makes (or, in a dry run, only prints) the AWS calls of one command."""

    def __init__(self, clients: Clients, *, dry_run: bool, say: Say) -> None:
        self.clients = clients
        self.dry_run = dry_run
        self.say = say
        self.changes: list[str] = []  # "service Operation": made, or that a dry run would make

    def read(self, service: str, method: str, **params: Any) -> Any:
        """Make a read-only call (in a dry run too), printing it in a dry run."""
        if self.dry_run:
            self.say(f"  read  {describe_call(self.clients, service, method, params)}  (read-only, ran)")
        return getattr(self.clients(service), method)(**params)

    def change(self, service: str, method: str, **params: Any) -> Any:
        """Make a call that changes something and print it; in a dry run only print it and return None."""
        text = describe_call(self.clients, service, method, params)
        self.changes.append(" ".join(text.split("(", 1)[0].split()))
        if self.dry_run:
            self.say(f"  would call {text}")
            return None
        self.say(f"  call  {text}")
        return getattr(self.clients(service), method)(**params)


def describe_call(clients: Clients, service: str, method: str, params: dict[str, Any]) -> str:
    """``service Operation(Name=value, ...)`` with long values shortened, as the dry run prints it."""
    operation = operation_name(clients, service, method)
    shown = ", ".join(f"{name}={_short(value)}" for name, value in params.items())
    return f"{service} {operation}({shown})"


def operation_name(clients: Clients, service: str, method: str) -> str:
    """The API's name of a boto3 method (``create_stack`` -> ``CreateStack``)."""
    mapping: dict[str, str] = clients(service).meta.method_to_api_mapping
    return mapping.get(method, method)


def error_code(problem: ClientError) -> str:
    """The AWS error code of a failed call."""
    return str(problem.response.get("Error", {}).get("Code", ""))


def _short(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return f"<{len(value):,} bytes>"
    if isinstance(value, list) and value and all(isinstance(item, dict) and "ParameterKey" in item
                                                 for item in value):
        # CloudFormation's parameters are what a reader of a dry run most wants to see: all of them.
        return "{" + ", ".join(f"{item['ParameterKey']}={item.get('ParameterValue', '')!r}" for item in value) + "}"
    if isinstance(value, list) and len(value) > 10:
        return f"<{len(value):,} items>"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > _SHOWN_CHARACTERS:
        return f"<{len(text):,} characters>"
    return repr(value) if isinstance(value, str) else text
