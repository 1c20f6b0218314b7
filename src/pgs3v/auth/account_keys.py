"""The keys a server of the account accepts: the owner's (the account's root) and the registry's (IAM users).

The store and the function host accept the same keys and ask the same two questions of them: the
secret behind an access key id (for SigV4), and which registry key, if any, signed a verified
request (for its identity policies). Each then reads those policies with its own service's grammar.
"""

from __future__ import annotations

from pgs3v.auth.credentials import Credentials
from pgs3v.auth.errors import UnrecognizedClientException
from pgs3v.auth.key_registry import AccessKey, KeyRegistry
from pgs3v.auth.sigv4 import INVALID_TOKEN


class AccountKeys:
    """The owner's key and, when there is one, a key registry's."""

    def __init__(self, owner_key: Credentials, registry: KeyRegistry | None) -> None:
        self._owner = owner_key
        self._registry = registry

    def secret(self, access_key_id: str) -> str | None:
        """The secret of a key the server accepts, or None."""
        if access_key_id == self._owner.access_key_id:
            return self._owner.secret_access_key
        return self._registry.secret(access_key_id) if self._registry is not None else None

    def user_key(self, access_key_id: str | None) -> AccessKey | None:
        """The registry key that signed a verified request; None for the owner (or verification off)."""
        if access_key_id is None or access_key_id == self._owner.access_key_id:
            return None
        found = self._registry.find(access_key_id) if self._registry is not None else None
        if found is None:  # deleted between the signature check and now
            raise UnrecognizedClientException(INVALID_TOKEN)
        return found[0]
