"""Who an access key is: the store's own key is the account's root, a registry key an IAM user."""

from __future__ import annotations

from pgs3v.auth.credentials import Credentials
from pgs3v.auth.errors import AccessDeniedException, UnrecognizedClientException
from pgs3v.auth.key_registry import KeyRegistry
from pgs3v.auth.policies import PolicyError
from pgs3v.auth.sigv4 import INVALID_TOKEN
from pgs3v.store.api.access import Caller, owner, parse_identity_policy, user
from pgs3v.store.api.arns import ArnScope


class Identities:
    """The keys a store accepts, with their secrets (for SigV4) and who each one is (for access)."""

    def __init__(self, owner_key: Credentials, registry: KeyRegistry | None, scope: ArnScope) -> None:
        self._owner = owner_key
        self._registry = registry
        self._scope = scope

    def secret(self, access_key_id: str) -> str | None:
        """The secret of a key the store accepts, or None."""
        if access_key_id == self._owner.access_key_id:
            return self._owner.secret_access_key
        return self._registry.secret(access_key_id) if self._registry is not None else None

    def caller(self, access_key_id: str | None, source_ip: str | None) -> Caller:
        """The caller a verified key stands for (None, as with verification off: the owner)."""
        if access_key_id is None or access_key_id == self._owner.access_key_id:
            return owner(self._scope, source_ip)
        found = self._registry.find(access_key_id) if self._registry is not None else None
        if found is None:  # deleted between the signature check and now
            raise UnrecognizedClientException(INVALID_TOKEN)
        key = found[0]
        arn = key.user_arn(self._scope.partition, self._scope.account_id)
        try:
            policies = tuple(parse_identity_policy(text) for text in key.policies)
        except PolicyError as problem:
            # Fail closed: a policy edited by hand into something unreadable must not widen access.
            raise AccessDeniedException(f"User: {arn} is not authorized to perform any action because one of its "
                                        f"identity policies is not valid ({problem})") from None
        return user(self._scope, arn, policies, source_ip)
