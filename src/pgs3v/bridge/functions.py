"""The functions a host serves, and how an Invoke request's FunctionName finds one.

FunctionName may be a name (``pgs3v-bridge``), a name with a qualifier (``pgs3v-bridge:$LATEST``),
a partial ARN (``123456789012:function:pgs3v-bridge``) or a full ARN
(``arn:aws:lambda:us-east-1:123456789012:function:pgs3v-bridge[:qualifier]``), as Lambda accepts.
The region and account in an ARN are not checked, so SQL written for a real AWS account runs
unchanged against the local host. Only ``$LATEST`` exists: the host does not publish versions.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pgs3v.bridge.lambda_errors import InvalidParameterValueException, ResourceNotFoundException, ValidationException

LATEST = "$LATEST"
BRIDGE_FUNCTION = "pgs3v-bridge"
BRIDGE_HANDLER = "pgs3v.bridge.handler.handler"
# The account the host's ARNs name (the store's ARNs name the same one).
DEFAULT_ACCOUNT_ID = "000000000000"

# The FunctionName pattern of the Lambda API model (botocore's lambda service-2.json).
_FUNCTION_NAME = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?"
    r"(?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(?P<account>\d{12}:)?(function:)?"
    r"(?P<name>[a-zA-Z0-9-_]+)(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?"
)
_QUALIFIER = re.compile(r"\$LATEST|[a-zA-Z0-9-_]+")

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its name, its handler, and the settings Lambda would give it."""

    name: str
    handler: Handler
    handler_path: str
    timeout_seconds: float = 60.0
    memory_mb: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """A resolved Invoke target: the function and the ARN it was invoked by."""

    spec: FunctionSpec
    invoked_arn: str


class FunctionRegistry:
    """The functions one host serves, addressed as Lambda addresses them."""

    def __init__(self, functions: Iterable[FunctionSpec], region: str = "us-east-1",
                 account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self._functions = {spec.name: spec for spec in functions}
        self.region = region
        self.account_id = account_id

    def names(self) -> list[str]:
        """The names of the functions served, sorted."""
        return sorted(self._functions)

    def specs(self) -> list[FunctionSpec]:
        """The functions served, sorted by name."""
        return [self._functions[name] for name in self.names()]

    def arn(self, name: str, qualifier: str | None = None) -> str:
        """The function's ARN in this host's region and account."""
        return function_arn(self.region, self.account_id, name, qualifier)

    def invoked_arn(self, function_name: str, qualifier: str | None = None) -> str:
        """The ARN an Invoke request names (served here or not), or the error Lambda would answer."""
        return self.arn(*self._name_and_qualifier(function_name, qualifier))

    def resolve(self, function_name: str, qualifier: str | None = None) -> Target:
        """The function an Invoke request names, or the error Lambda would answer."""
        name, wanted = self._name_and_qualifier(function_name, qualifier)
        spec = self._functions.get(name)
        if spec is None or wanted not in (None, LATEST):
            raise ResourceNotFoundException(f"Function not found: {self.arn(name, wanted)}")
        return Target(spec, self.arn(name, wanted))

    def _name_and_qualifier(self, function_name: str, qualifier: str | None) -> tuple[str, str | None]:
        found = _FUNCTION_NAME.fullmatch(function_name) if len(function_name) <= 140 else None
        if found is None:
            raise ValidationException(
                f"1 validation error detected: Value '{function_name}' at 'functionName' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: {_FUNCTION_NAME.pattern}"
            )
        if qualifier is not None and not _QUALIFIER.fullmatch(qualifier):
            raise ValidationException(
                f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: {_QUALIFIER.pattern}"
            )
        name, derived = found.group("name"), found.group("qualifier")
        if derived is not None and qualifier is not None and derived != qualifier:
            raise InvalidParameterValueException(
                "The derived qualifier from the function name does not match the specified qualifier."
            )
        return name, derived or qualifier


def function_arn(region: str, account_id: str, name: str, qualifier: str | None = None) -> str:
    """A function's ARN, qualified when ``qualifier`` is given, as Lambda writes it."""
    base = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def load_handler(path: str) -> Handler:
    """The callable a Lambda handler setting names, ``package.module.function``."""
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise ValueError(f"a handler is named module.function, got {path!r}")
    handler = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(handler):
        raise ValueError(f"{path!r} is not a callable in module {module_name}")
    return handler  # type: ignore[no-any-return]
