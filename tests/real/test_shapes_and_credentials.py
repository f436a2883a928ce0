"""Issue 13 items 1, 5 and 6: the client's reading of each shape the SDK allows, the tenant claim, create_action
on a token that may not create actions, and the proxy's methods and headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from membrane_mcp.membrane.auth import StaticToken
from membrane_mcp.membrane.client import MembraneClient, MembraneConfig
from membrane_mcp.membrane.models import Connection
from membrane_mcp.server.backend import credentials_from, workspace_credentials_from
from membrane_mcp.settings import Settings
from membrane_mcp.tools.catalog import Catalog, connection_infos, merge_layers
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread
from tests.server.conftest import connect

pytestmark = pytest.mark.anyio


class Recorder:
    """A Membrane stand-in answering from a table, recording every request."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.get(request.url.path)
        if answer is None:
            return httpx.Response(404, json={"type": "bad_request", "key": "not_found", "message": "no"})
        return httpx.Response(200, json=answer)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def client_over(recorder: Recorder) -> MembraneClient:
    return MembraneClient(
        MembraneConfig(base_url="https://membrane.test"),
        StaticToken("pat-test"),
        transport=httpx.MockTransport(recorder),
    )


async def test_the_app_of_a_connection_comes_from_integration_then_integration_id_then_connector() -> None:
    recorder = Recorder(
        {
            "/integrations/int-1": {"id": "int-1", "key": "vtiger", "name": "Vtiger"},
            "/connectors/con-2": {"id": "con-2", "key": "1crm", "name": "1CRM"},
        }
    )
    connections = [
        Connection.model_validate(
            {"id": "a", "integration": {"id": "int-0", "key": "bigtincan", "name": "B"}}
        ),
        Connection.model_validate({"id": "b", "integrationId": "int-1", "disconnected": False}),
        Connection.model_validate({"id": "c", "integrationId": "int-1", "disconnected": True}),
        Connection.model_validate(
            {"id": "d", "integrationId": "int-9", "connectorId": "con-2", "connected": True}
        ),
        Connection.model_validate({"id": "e", "integrationKey": "ignored"}),
    ]
    async with client_over(recorder) as client:
        infos = {info.id: info for info in await connection_infos(client, connections)}
    assert {k: v.app_key for k, v in infos.items()} == {
        "a": "bigtincan",
        "b": "vtiger",
        "c": "vtiger",
        "d": "1crm",
        "e": "app",  # integrationKey is no field of a connection: never read
    }
    assert {k: v.state for k, v in infos.items()} == {
        "a": "UNKNOWN",
        "b": "READY",
        "c": "DISCONNECTED",
        "d": "READY",
        "e": "UNKNOWN",
    }
    assert recorder.paths().count("/integrations/int-1") == 1  # cached


async def test_one_integration_list_names_the_apps_of_several_connections_without_an_embedded_one() -> None:
    recorder = Recorder(
        {
            "/integrations": {
                "items": [
                    {"id": "int-1", "key": "vtiger", "name": "Vtiger"},
                    {"id": "int-2", "key": "1crm", "name": "1CRM"},
                ]
            },
            "/connectors/con-3": {"id": "con-3", "key": "bigtincan", "name": "Bigtincan"},
        }
    )
    connections = [
        Connection.model_validate({"id": "b", "integrationId": "int-1"}),
        Connection.model_validate({"id": "c", "integrationId": "int-2"}),
        # Not in the list (say, archived since): looked up one by one, then by its connector.
        Connection.model_validate({"id": "d", "integrationId": "int-3", "connectorId": "con-3"}),
    ]
    async with client_over(recorder) as client:
        infos = {info.id: info for info in await connection_infos(client, connections)}
    assert {k: (v.app_key, v.app_name) for k, v in infos.items()} == {
        "b": ("vtiger", "Vtiger"),
        "c": ("1crm", "1CRM"),
        "d": ("bigtincan", "Bigtincan"),
    }
    assert sorted(recorder.paths()) == ["/connectors/con-3", "/integrations", "/integrations/int-3"]


def test_a_connections_actions_merge_the_layers_by_key() -> None:
    from membrane_mcp.membrane.models import Action

    own = [Action(id="c1", key="list"), Action(id="c2", key="custom")]
    integration = [Action(id="i1", key="list"), Action(id="i2", key="get")]
    universal = [Action(id="u1", key="get"), Action(id="u2", key="search"), Action(id="u3", key=None)]
    merged = merge_layers(own, integration, universal)
    assert [a.id for a in merged] == ["c1", "c2", "i2", "u2", "u3"]


def test_no_tenant_key_means_no_tenant_claim() -> None:
    settings = Settings(workspace_key="ws", workspace_secret="s" * 32)
    for provider in (credentials_from(settings), workspace_credentials_from(settings)):
        token = provider.current_token()  # type: ignore[union-attr]
        claims = jwt.decode(token, "s" * 32, algorithms=["HS256"])
        assert claims["iss"] == "ws" and "id" not in claims and "tenantKey" not in claims
    with_tenant = credentials_from(Settings(workspace_key="ws", workspace_secret="s" * 32, tenant_key="t1"))
    claims = jwt.decode(with_tenant.current_token(), "s" * 32, algorithms=["HS256"])  # type: ignore[attr-defined]
    assert claims["id"] == claims["tenantKey"] == "t1"


async def test_the_proxy_sends_only_what_membrane_supports_and_none_of_our_own_headers() -> None:
    recorder = Recorder({"/connections/c1/proxy/me": {"ok": True}, "/connections": {"items": []}})
    async with client_over(recorder) as client:
        await client.list_connections()
        await client.proxy("c1", "GET", "/me")
        await client.proxy("c1", "GET", "/me", headers={"Accept": "text/csv", "X-Custom": "1"})
        for method in ("HEAD", "OPTIONS"):
            with pytest.raises(ValueError, match="unsupported proxy method"):
                await client.proxy("c1", method, "/me")
    own, plain, with_accept = recorder.requests
    assert own.headers["membrane-api-version"] and own.headers["user-agent"].startswith("membrane-mcp/")
    for name in ("accept", "user-agent", "membrane-api-version"):
        assert name not in plain.headers, name
    assert plain.headers["authorization"] == "Bearer pat-test"
    assert with_accept.headers["accept"] == "text/csv" and with_accept.headers["x-custom"] == "1"
    assert "user-agent" not in with_accept.headers


@pytest.fixture(scope="module")
def strict_tenant() -> Iterator[RunningSandbox]:
    with start_in_thread(SandboxConfig(profile="tenant-cannot-create-actions", build_seconds=0.3)) as running:
        yield running


async def test_create_action_refused_for_a_tenant_token_names_the_credential_that_can(
    strict_tenant: RunningSandbox,
) -> None:
    settings = Settings(api_url=strict_tenant.url, token=strict_tenant.token)
    async with connect(settings) as client:
        result = await client.call_tool(
            "create_action", {"connection": "vtiger", "description": "list vtiger leads created today"}
        )
    assert result.is_error
    text = result.content[0].text
    assert "MEMBRANE_WORKSPACE_KEY" in text and "MEMBRANE_WORKSPACE_SECRET" in text and "403" in text


async def test_with_workspace_credentials_create_action_uses_a_workspace_token(
    strict_tenant: RunningSandbox,
) -> None:
    config = strict_tenant.config
    settings = Settings(
        api_url=strict_tenant.url,
        workspace_key=config.workspace_key,
        workspace_secret=config.workspace_secret,
        tenant_key="sandbox-tenant",
    )
    async with connect(settings) as client:
        result = await client.call_tool(
            "create_action", {"connection": "vtiger", "description": "list vtiger leads created today"}
        )
    assert not result.is_error, result.content
    created = result.structured_content
    assert created is not None and created["state"] == "READY", json.dumps(created)


async def test_a_catalog_load_merges_the_layers_and_survives_a_layer_it_cannot_list() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        query = request.url.params
        if request.url.path == "/connections":
            # Only the disconnected flag, no embedded integration: named through GET /integrations/{id}.
            return httpx.Response(
                200,
                json={"items": [{"id": "c1", "name": "Mine", "integrationId": "i1", "disconnected": False}]},
            )
        if request.url.path == "/integrations/i1":
            return httpx.Response(200, json={"id": "i1", "key": "vtiger", "name": "Vtiger"})
        if query.get("layer") == "universal":
            return httpx.Response(400, json={"type": "bad_request", "message": "unknown filter layer"})
        if query.get("connectionId") == "c1":
            return httpx.Response(200, json={"items": [{"id": "a1", "key": "custom", "state": "READY"}]})
        if query.get("integrationId") == "i1":
            items = [{"id": "i-list", "key": "list-modules"}, {"id": "i-custom", "key": "custom"}]
            return httpx.Response(200, json={"items": items})
        return httpx.Response(404, json={"type": "bad_request", "key": "not_found", "message": "no"})

    client = MembraneClient(
        MembraneConfig(base_url="https://membrane.test"),
        StaticToken("pat-test"),
        transport=httpx.MockTransport(answer),
    )
    async with client:
        snapshot = await Catalog(client).get()
    assert [(e.name, e.action_id) for e in snapshot.entries] == [
        ("vtiger_custom", "a1"),
        ("vtiger_list_modules", "i-list"),
    ]
    assert snapshot.connections[0].state == "READY" and not snapshot.load_errors
