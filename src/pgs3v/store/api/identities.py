"""Who an access key is: the store's own key is the account's root, a registry key an IAM user."""

from __future__ import annotations

from pgs3v.auth.account_keys import AccountKeys
from pgs3v.auth.credentials import Credentials
from pgs3v.auth.errors import AccessDeniedException
from pgs3v.auth.key_registry import KeyRegistry
from pgs3v.auth.policies import PolicyError
from pgs3v.store.api.access import Caller, owner, parse_identity_policy, user
from pgs3v.store.api.arns import ArnScope


class Identities:
    """The keys a store accepts, with their secrets (for SigV4) and who each one is (for access)."""

    def __init__(self, owner_key: Credentials, registry: KeyRegistry | None, scope: ArnScope) -> None:
        self._keys = AccountKeys(owner_key, registry)
        self._scope = scope

    def secret(self, access_key_id: str) -> str | None:
        """The secret of a key the store accepts, or None."""
        return self._keys.secret(access_key_id)

    def caller(self, access_key_id: str | None, source_ip: str | None) -> Caller:
        """The caller a verified key stands for (None, as with verification off: the owner)."""
        key = self._keys.user_key(access_key_id)
        if key is None:
            return owner(self._scope, source_ip)
        arn = key.user_arn(self._scope.partition, self._scope.account_id)
        try:
            policies = tuple(parse_identity_policy(text) for text in key.policies)
        except PolicyError as problem:
            # Fail closed: a policy edited by hand into something unreadable must not widen access.
            raise AccessDeniedException(f"User: {arn} is not authorized to perform any action because one of its "
                                        f"identity policies is not valid ({problem})") from None
        return user(self._scope, arn, policies, source_ip)
