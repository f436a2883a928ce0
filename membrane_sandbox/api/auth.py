"""Bearer tokens: the static sandbox token, or HS256 JWTs signed with the workspace secret."""

from __future__ import annotations

import warnings
from typing import Any

import jwt
from starlette.requests import Request

from ..config import DEFAULT_TENANT_KEY, SandboxConfig
from .errors import not_authenticated


def tenant_from_token(token: str, config: SandboxConfig) -> str:
    """Return the tenant key a token stands for, or raise a 401 ApiError."""
    if token == config.token:
        return DEFAULT_TENANT_KEY
    try:
        claims = _decode(token, config)
    except jwt.ExpiredSignatureError as exc:
        raise not_authenticated("Access token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise not_authenticated(f"Invalid access token: {exc}") from exc
    # Two claim shapes: the SDK's {iss: workspaceKey, id: tenantKey} and the docs' {workspaceKey, tenantKey}.
    workspace_key = claims.get("workspaceKey") or claims.get("iss")
    if workspace_key != config.workspace_key:
        raise not_authenticated("Access token is not for this workspace")
    tenant_key = claims.get("tenantKey") or claims.get("id")
    if tenant_key is None:
        # A workspace-level (manager) token. The sandbox has no workspace-only data, so it acts as
        # the default tenant rather than refusing tenant endpoints.
        return DEFAULT_TENANT_KEY
    if not isinstance(tenant_key, str) or not tenant_key:
        raise not_authenticated("Access token has an invalid tenant key")
    return tenant_key


def is_workspace_token(token: str, config: SandboxConfig) -> bool:
    """A valid JWT for this workspace without a tenant claim (a manager token). The static token and
    tenant JWTs are tenant tokens. Call after ``tenant_from_token`` has accepted the token."""
    if token == config.token:
        return False
    claims = _decode(token, config)
    return (claims.get("tenantKey") or claims.get("id")) is None


def _decode(token: str, config: SandboxConfig) -> dict[str, Any]:
    with warnings.catch_warnings():
        # The default sandbox secret is shorter than RFC 7518 recommends; that is deliberate here.
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.decode(
            token,
            config.workspace_secret,
            # The SDK mints HS256; the docs' JS example uses HS512.
            algorithms=["HS256", "HS384", "HS512"],
            # The SDK and the docs always set exp; a token without one is refused [INFERRED].
            options={"require": ["exp"], "verify_aud": False},
        )


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise not_authenticated("Missing Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise not_authenticated("Authorization header must be 'Bearer <token>'")
    return token.strip()
