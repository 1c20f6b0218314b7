"""The store's operations by API name: validate the request, then run the operation.

The operation keeps its name through every layer: ``PutVectors`` on the wire is
``data_plane.put_vectors`` here, and ``s3vectors.put_vectors`` in SQL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgs3v.store.api import data_plane, engine_operations, management
from pgs3v.store.api.access import AccessControl, Caller, owner
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.errors import UnknownOperationException, from_lower_layer
from pgs3v.store.api.identities import Identities
from pgs3v.store.api.limits import Limits
from pgs3v.store.api.shapes import operation_names, validate_input
from pgs3v.store.api.state import StoreState
from pgs3v.store.api.tokens import TokenCodec
from pgs3v.store.engine.errors import EngineError
from pgs3v.store.storage.errors import StorageError
from pgs3v.store.storage.store_storage import LocalStoreStorage, StoreStorage

log = logging.getLogger("pgs3v.store")

Operation = Callable[[StoreState, dict[str, Any]], dict[str, Any]]


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _operations() -> dict[str, Operation]:
    table: dict[str, Operation] = {}
    for name in operation_names():
        function = getattr(management, _snake_case(name), None) or getattr(data_plane, _snake_case(name), None)
        if function is None:
            raise RuntimeError(f"operation {name} of the S3 Vectors model is not implemented")
        table[name] = function
    return table


class VectorStore:
    """A self-hosted S3 Vectors service over a data directory, or objects with ``data_dir`` as their cache."""

    def __init__(self, data_dir: Path, *, limits: Limits, scope: ArnScope, token_secret: bytes,
                 storage: StoreStorage | None = None, identities: Identities | None = None) -> None:
        self.limits = limits
        self.identities = identities
        self.state = StoreState(data_dir, limits, scope, TokenCodec(token_secret),
                                storage or LocalStoreStorage(data_dir))
        self._operations = _operations()
        self._access = AccessControl(self.state)

    def call(self, operation: str, request: Any, caller: Caller | None = None) -> dict[str, Any]:
        """Run one API operation for ``caller`` (None: the store's owner) and return the response."""
        extension = engine_operations.OPERATIONS.get(operation)
        function = extension or self._operations.get(operation)
        if function is None:
            raise UnknownOperationException(f"Unknown operation: POST /{operation}")
        if extension is None:
            validate_input(operation, request, self.limits)
        try:
            if isinstance(request, dict):
                # The one place every operation is authorized, before it reads or changes anything.
                self._access.authorize(caller or owner(self.state.scope), operation, request)
            return function(self.state, request)
        except (EngineError, StorageError, OSError) as error:
            answer = from_lower_layer(error)
            if answer is None:
                raise
            if answer.status >= 500:
                log.warning("%s refused: %s", operation, error)
            raise answer from None

    def caller(self, access_key_id: str | None, source_ip: str | None) -> Caller:
        """Who a verified access key is: the owner (the account's root), or a registry key's IAM user."""
        if self.identities is None:
            return owner(self.state.scope, source_ip)
        return self.identities.caller(access_key_id, source_ip)

    def close(self) -> None:
        """Release every open index."""
        self.state.close()
