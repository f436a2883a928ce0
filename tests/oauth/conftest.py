"""A real authorization server (Authlib) and `membrane-mcp serve --sandbox` as an OAuth resource server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from tests.oauth.authserver import LoopbackAuthorizationServer
from tests.processes import free_port, stop_process

STATIC_TOKEN = "static-token-for-carol"


@dataclass
class Deployment:
    auth: LoopbackAuthorizationServer
    url: str  # the MCP server's base URL (also its public URL, the token audience)
    process: subprocess.Popen[bytes]

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def token(self, client_id: str, secret: str, scope: str = "membrane:read membrane:write") -> str:
        response = httpx.post(
            f"{self.auth.issuer}/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(client_id, secret),
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


def spawn_server(port: int, env: dict[str, str], args: list[str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "membrane_mcp", "serve", "--transport", "http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"HTTP server did not start: {stderr}")
        time.sleep(0.1)  # the poll interval while the server is not answering /healthz yet


@contextmanager
def deployed(
    auth: LoopbackAuthorizationServer, port: int, args: list[str], env: dict[str, str] | None = None
) -> Iterator[Deployment]:
    """`serve --transport http` on `port` behind the started `auth` (its issuer and the public URL set,
    `env` added); the server and `auth` are stopped afterwards."""
    url = f"http://127.0.0.1:{port}"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "MEMBRANE_MCP_OAUTH_ISSUER": auth.issuer,
        "MEMBRANE_MCP_PUBLIC_URL": url,
        **(env or {}),
    }
    try:
        process = spawn_server(port, environment, args)
        try:
            yield Deployment(auth, url, process)
        finally:
            stop_process(process)
    finally:
        auth.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = LoopbackAuthorizationServer(audience=url)
    auth.add_client("alice", "alice-secret")
    auth.add_client("bob", "bob-secret")
    auth.add_client("reader", "reader-secret", scope="membrane:read")
    auth.add_client("opaque-dave", "dave-secret")
    auth.add_client("resource-server", "rs-secret")
    auth.add_public_client("public-app", REDIRECT_URI)
    auth.start()
    db: Path = tmp_path_factory.mktemp("oauth") / "sandbox.sqlite3"
    env = {
        "MEMBRANE_MCP_OAUTH_INTROSPECTION_URL": f"{auth.issuer}/introspect",
        "MEMBRANE_MCP_OAUTH_CLIENT_ID": "resource-server",
        "MEMBRANE_MCP_OAUTH_CLIENT_SECRET": "rs-secret",
        "MEMBRANE_MCP_AUTH_TOKENS": f"{STATIC_TOKEN}=carol",
    }
    args = ["--sandbox", "--sandbox-db", str(db), "--sandbox-build-seconds", "0.2", "--tool-mode", "direct"]
    args += ["--apps", "vtiger"]
    with deployed(auth, port, args, env) as running:
        yield running


class MemoryStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@asynccontextmanager
async def oauth_client(
    deployment: Deployment,
    client_id: str,
    secret: str,
    scope: str = "membrane:read membrane:write",
    **kwargs: Any,
) -> AsyncIterator[Client]:
    """The SDK client with its own OAuth support: discovery from the first 401, then client credentials."""
    provider = ClientCredentialsOAuthProvider(
        server_url=deployment.mcp_url,
        storage=MemoryStorage(),
        client_id=client_id,
        client_secret=secret,
        scope=scope,
        issuer=deployment.auth.issuer,
    )
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(deployment.mcp_url, http_client=http), **kwargs) as client,
    ):
        yield client


@asynccontextmanager
async def bearer_client(deployment: Deployment, token: str, **kwargs: Any) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(deployment.mcp_url, http_client=http), **kwargs) as client,
    ):
        yield client


REDIRECT_URI = "http://127.0.0.1:9/callback"  # never reached: the test's browser reads the redirect itself


class Browser:
    """Plays the user: opens the authorization URL signed in as `user`, consents, hands back the code."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.result: AuthorizationCodeResult | None = None

    async def open(self, authorization_url: str) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{authorization_url}&{urlencode({'user': self.user})}")
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["location"])
        assert location.geturl().startswith(REDIRECT_URI)
        query = dict(parse_qsl(location.query))
        self.result = AuthorizationCodeResult(
            code=query["code"], state=query.get("state"), iss=query.get("iss")
        )

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


@asynccontextmanager
async def signed_in_client(
    deployment: Deployment, user: str, client_id: str = "public-app"
) -> AsyncIterator[Client]:
    """The SDK client's authorization-code flow with PKCE, for `user`, through one public client."""
    storage = MemoryStorage()
    storage.client = OAuthClientInformationFull(
        client_id=client_id, redirect_uris=[AnyUrl(REDIRECT_URI)], token_endpoint_auth_method="none"
    )
    browser = Browser(user)
    provider = OAuthClientProvider(
        server_url=deployment.mcp_url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope="membrane:read membrane:write",
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(deployment.mcp_url, http_client=http)) as client,
    ):
        yield client
