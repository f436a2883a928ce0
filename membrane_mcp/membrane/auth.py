"""Credentials: a ready token, or HS256 JWTs minted from a workspace key and secret."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

TOKEN_TTL_SECONDS = 3600
# The SDK re-mints when fewer than 60 s of life remain (TOKEN_MINT_THRESHOLD_SECONDS).
REMINT_THRESHOLD_SECONDS = 60


@runtime_checkable
class TokenProvider(Protocol):
    async def token(self) -> str:
        """The bearer token to send now."""
        ...

    def invalidate(self) -> None:
        """Forget any cached token (the client calls this after a 401)."""
        ...


class StaticToken:
    """A token given as is (`MEMBRANE_TOKEN`: a `pat-...` token or a JWT). It cannot be renewed."""

    __slots__ = ("_token",)
    renewable = False  # the client does not repeat a request refused with 401

    def __init__(self, token: str) -> None:
        token = token.strip()
        if not token:
            raise ValueError("empty Membrane token")
        self._token = token

    async def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        """Nothing to renew."""

    def __repr__(self) -> str:
        return "StaticToken(token='***')"

    __str__ = __repr__


class WorkspaceCredentials:
    """Mints tenant tokens like the SDK's `mintToken`, cached until under 60 s of life remain."""

    __slots__ = ("_cached", "_clock", "_expires_at", "_secret", "tenant_key", "ttl", "workspace_key")
    renewable = True

    def __init__(
        self,
        workspace_key: str,
        workspace_secret: str,
        tenant_key: str | None,
        ttl: int = TOKEN_TTL_SECONDS,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not workspace_key or not workspace_secret:
            raise ValueError("workspace key and workspace secret are both required")
        if ttl <= REMINT_THRESHOLD_SECONDS:
            raise ValueError(f"ttl must be more than {REMINT_THRESHOLD_SECONDS} seconds")
        self.workspace_key = workspace_key
        self.tenant_key = tenant_key
        self.ttl = ttl
        self._secret = workspace_secret
        self._clock = clock
        self._cached: str | None = None
        self._expires_at = 0.0

    async def token(self) -> str:
        return self.current_token()

    def current_token(self) -> str:
        now = self._clock()
        if self._cached is None or self._expires_at - now < REMINT_THRESHOLD_SECONDS:
            self._cached, self._expires_at = self._mint(now)
        return self._cached

    def invalidate(self) -> None:
        self._cached = None

    def _mint(self, now: float) -> tuple[str, float]:
        exp = int(now) + self.ttl
        # Both claim shapes: the SDK mints {id, iss}; the current docs show {workspaceKey, tenantKey}.
        claims: dict[str, object] = {
            "iss": self.workspace_key,
            "workspaceKey": self.workspace_key,
            "exp": exp,
        }
        if self.tenant_key:
            claims["id"] = self.tenant_key
            claims["tenantKey"] = self.tenant_key
        import jwt  # here, not at the top: JWT and its crypto are only needed with workspace credentials

        return jwt.encode(claims, self._secret, algorithm="HS256"), float(exp)

    def __repr__(self) -> str:
        return (
            f"WorkspaceCredentials(workspace_key={self.workspace_key!r}, workspace_secret='***', "
            f"tenant_key={self.tenant_key!r}, ttl={self.ttl})"
        )

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("WorkspaceCredentials holds a secret and cannot be pickled")
