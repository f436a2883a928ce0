"""Bearer tokens for the HTTP transport (``MEMBRANE_MCP_AUTH_TOKENS``).

Every request outside the open paths (``/healthz``, ``/readyz``) must carry one of the configured
tokens; anything else gets 401 with ``WWW-Authenticate: Bearer``. Tokens are compared
in constant time, each one, so the time taken says nothing about which (if any)
nearly matched. The token authenticates the MCP client to this server only: it is
never forwarded (Membrane calls use the server's own Membrane credentials).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/healthz", "/readyz"})


class BearerAuthMiddleware:
    def __init__(self, app: ASGIApp, tokens: Sequence[str], open_paths: frozenset[str] = OPEN_PATHS) -> None:
        if not tokens:
            raise ValueError("BearerAuthMiddleware needs at least one token")
        self.app = app
        # Hashing first makes every comparison the same length, so not even a token's length leaks.
        self._tokens = [_digest(token.encode()) for token in tokens]
        self._open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self._open_paths or self.authorized(scope):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"error": "unauthorized", "error_description": "Send 'Authorization: Bearer <token>'."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="membrane-mcp"'},
        )
        await response(scope, receive, send)

    def authorized(self, scope: Scope) -> bool:
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        candidate = _digest(presented.strip().encode())
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(candidate, token)
        return matched


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()
