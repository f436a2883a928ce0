"""The token verifier on its own, against the real test authorization server: key rotation, settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from membrane_mcp.server.http import http_startup_problem
from membrane_mcp.server.oauth import (
    IntrospectionVerifier,
    IssuerMetadata,
    JwksCache,
    JwtVerifier,
    OAuthConfig,
    metadata_urls,
)
from membrane_mcp.settings import Settings
from tests.oauth.authserver import LoopbackAuthorizationServer

pytestmark = pytest.mark.anyio

AUDIENCE = "https://mcp.example.test"


@pytest.fixture(scope="module")
def auth() -> Iterator[LoopbackAuthorizationServer]:
    server = LoopbackAuthorizationServer(audience=AUDIENCE)
    server.start()
    yield server
    server.stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def token(auth: LoopbackAuthorizationServer, key: Any, kid: str) -> str:
    now = int(time.time())
    claims = {"iss": auth.issuer, "aud": AUDIENCE, "sub": "u1", "scope": "membrane:read", "exp": now + 60}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_a_rotated_key_is_fetched_once_and_unknown_kids_cannot_hammer_the_issuer(
    auth: LoopbackAuthorizationServer,
) -> None:
    config = OAuthConfig.from_settings(Settings(oauth_issuer=auth.issuer, public_url=AUDIENCE))
    assert config is not None
    clock = FakeClock()
    requests: list[str] = []

    async def count(request: httpx.Request) -> None:
        requests.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
        verifier = JwtVerifier(config, JwksCache(IssuerMetadata(auth.issuer, http), http, clock=clock))
        accepted = await verifier.verify_token(token(auth, auth.private_pem, auth.kid))
        assert accepted is not None and accepted.subject == "u1" and accepted.scopes == ["membrane:read"]
        assert requests == ["/.well-known/oauth-authorization-server", "/jwks"]

        rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rotated_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rotated.public_key(), as_dict=True)
        auth.extra_public_keys.append({**rotated_jwk, "kid": "rotated", "use": "sig", "alg": "RS256"})
        try:
            # Within the refetch interval an unknown kid is refused without asking the issuer again.
            clock.now += 1
            assert await verifier.verify_token(token(auth, rotated, "rotated")) is None
            assert requests.count("/jwks") == 1
            clock.now += 60
            assert await verifier.verify_token(token(auth, rotated, "rotated")) is not None
            assert requests.count("/jwks") == 2
            assert await verifier.verify_token(token(auth, rotated, "rotated")) is not None  # cached now
            assert requests.count("/jwks") == 2
        finally:
            auth.extra_public_keys.clear()


def test_metadata_urls_follow_rfc_8414_then_openid() -> None:
    assert metadata_urls("https://as.example/tenant1") == [
        "https://as.example/.well-known/oauth-authorization-server/tenant1",
        "https://as.example/tenant1/.well-known/openid-configuration",
        "https://as.example/.well-known/openid-configuration/tenant1",
    ]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"oauth_issuer": "https://as.example", "sandbox": True},
            "MEMBRANE_MCP_PUBLIC_URL",
        ),
        (
            {
                "oauth_issuer": "https://as.example",
                "public_url": "https://mcp.example",
                "token": SecretStr("pat-1"),
            },
            "MEMBRANE_WORKSPACE_KEY",
        ),
        (
            {
                "oauth_issuer": "https://as.example",
                "public_url": "https://mcp.example",
                "sandbox": True,
                "oauth_algorithms": ["RS256", "HS256"],
            },
            "HS256",
        ),
        ({"oauth_issuer": "as.example", "public_url": "https://mcp.example", "sandbox": True}, "http(s) URL"),
    ],
)
def test_incomplete_oauth_settings_stop_the_server_with_one_line(
    settings: dict[str, Any], expected: str
) -> None:
    problem = http_startup_problem(Settings(transport="http", **settings))
    assert problem is not None and expected in problem and "\n" not in problem


def test_oauth_counts_as_authentication_for_a_public_bind() -> None:
    settings = Settings(
        transport="http",
        host="0.0.0.0",
        sandbox=True,
        oauth_issuer="https://as.example",
        public_url="https://mcp.example",
    )
    assert http_startup_problem(settings) is None
    assert http_startup_problem(Settings(transport="http", host="0.0.0.0", sandbox=True)) is not None


async def test_introspection_answers_are_kept_briefly_and_checked(auth: LoopbackAuthorizationServer) -> None:
    auth.add_client("opaque-erin", "erin-secret")
    auth.add_client("resource-server", "rs-secret")
    async with httpx.AsyncClient() as http:
        issued = await http.post(
            f"{auth.issuer}/token",
            data={"grant_type": "client_credentials"},
            auth=("opaque-erin", "erin-secret"),
        )
        opaque = issued.json()["access_token"]
        settings = Settings(
            oauth_issuer=auth.issuer,
            public_url=AUDIENCE,
            oauth_introspection_url=f"{auth.issuer}/introspect",
            oauth_client_id="resource-server",
            oauth_client_secret=SecretStr("rs-secret"),
        )
        config = OAuthConfig.from_settings(settings)
        assert config is not None
        clock = FakeClock()
        clock.now = time.time()
        asked: list[str] = []

        async def count(request: httpx.Request) -> None:
            asked.append(request.url.path)

        http.event_hooks["request"] = [count]
        verifier = IntrospectionVerifier(config, http, clock=clock)
        first = await verifier.verify_token(opaque)
        assert first is not None and first.subject == "opaque-erin" and "membrane:write" in first.scopes
        assert await verifier.verify_token(opaque) == first
        assert asked == ["/introspect"]
        clock.now += 31
        assert await verifier.verify_token(opaque) is not None
        assert asked == ["/introspect", "/introspect"]
        assert await verifier.verify_token("never-issued") is None

        other = OAuthConfig.from_settings(
            settings.model_copy(update={"oauth_audience": "https://other.example"})
        )
        assert other is not None
        assert await IntrospectionVerifier(other, http, clock=clock).verify_token(opaque) is None
