"""Tokens the resource server must refuse (hand-minted), against the running deployment.

Each case changes one thing from a token the server accepts (the first test), so a
refusal is about that one thing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.oauth.conftest import Deployment

INITIALIZE = (
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    '"capabilities":{},"clientInfo":{"name":"t","version":"0"}}}'
)
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def claims(deployment: Deployment, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": deployment.auth.issuer,
        "aud": deployment.url,
        "sub": "hand-minted-user",
        "client_id": "hand",
        "scope": "membrane:read membrane:write",
        "iat": now,
        "exp": now + 600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def mint(deployment: Deployment, kid: str | None = None, key: Any = None, **changes: Any) -> str:
    return jwt.encode(
        claims(deployment, **changes),
        key if key is not None else deployment.auth.private_pem,
        algorithm="RS256",
        headers={"kid": kid or deployment.auth.kid},
    )


def post(deployment: Deployment, token: str) -> httpx.Response:
    return httpx.post(
        deployment.mcp_url, content=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(deployment: Deployment, alg: str, secret: bytes | None) -> str:
    """A token with the given header alg; HS* signed with `secret`, 'none' unsigned."""
    signing_input = f"{b64(json.dumps({'alg': alg, 'typ': 'JWT', 'kid': deployment.auth.kid}).encode())}.{b64(json.dumps(claims(deployment)).encode())}"
    signature = b""
    if secret is not None:
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "resource_metadata=" in response.headers["www-authenticate"]


def test_a_well_formed_token_is_accepted(deployment: Deployment) -> None:
    assert post(deployment, mint(deployment)).status_code == 200


def test_exp_within_the_leeway_is_accepted(deployment: Deployment) -> None:
    five_seconds_ago = int(time.time()) - 5  # inside the 30 s leeway
    assert post(deployment, mint(deployment, exp=five_seconds_ago)).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"aud": "https://another-resource.example"}, id="wrong-audience"),
        pytest.param({"iss": "https://another-issuer.example"}, id="wrong-issuer"),
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not-yet-valid"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"sub": None}, id="no-tenant-claim"),
    ],
)
def test_claims_that_do_not_fit_are_refused(deployment: Deployment, changes: dict[str, Any]) -> None:
    assert_refused(post(deployment, mint(deployment, **changes)))


def test_a_key_the_issuer_never_published_is_refused(deployment: Deployment) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_refused(post(deployment, mint(deployment, kid="unknown-kid", key=stranger)))
    # The same stranger key under the issuer's kid: the signature does not verify.
    assert_refused(post(deployment, mint(deployment, key=stranger)))


def test_alg_none_is_refused(deployment: Deployment) -> None:
    assert_refused(post(deployment, forged(deployment, "none", None)))


def test_hs256_signed_with_the_public_key_is_refused(deployment: Deployment) -> None:
    assert_refused(post(deployment, forged(deployment, "HS256", deployment.auth.public_pem)))


def test_garbage_and_unknown_opaque_tokens_are_refused(deployment: Deployment) -> None:
    assert_refused(post(deployment, "eyJnot.a.jwt"))
    assert_refused(post(deployment, "not-issued-here"))


def test_missing_scope_gets_403_naming_the_scope(deployment: Deployment) -> None:
    response = post(deployment, mint(deployment, scope="profile"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert "membrane:read" in response.json()["error_description"]
