"""End to end: a real authorization server, `serve --sandbox` as the resource server, the SDK's OAuth client."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.oauth.conftest import STATIC_TOKEN, Deployment, bearer_client, oauth_client, signed_in_client

pytestmark = pytest.mark.anyio

INITIALIZE = (
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    '"capabilities":{},"clientInfo":{"name":"t","version":"0"}}}'
)
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
WRITE_TOOLS = {"vtiger_create_record", "vtiger_update_record", "vtiger_delete_record", "create_action"}


def structured(result: Any) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


async def lead_count(client: Any, marker: str) -> int:
    result = await client.call_tool(
        "vtiger_query_records", {"query": f"SELECT * FROM Leads WHERE lastname = '{marker}';"}
    )
    return len(structured(result)["records"])


def test_protected_resource_metadata_is_published(deployment: Deployment) -> None:
    response = httpx.get(f"{deployment.url}/.well-known/oauth-protected-resource")
    assert response.status_code == 200
    document = response.json()
    assert document["resource"] == deployment.url
    assert document["authorization_servers"] == [deployment.auth.issuer]
    assert document["scopes_supported"] == ["membrane:read", "membrane:write"]
    assert document["bearer_methods_supported"] == ["header"]


def test_no_token_gets_401_pointing_at_the_metadata(deployment: Deployment) -> None:
    response = httpx.post(deployment.mcp_url, content=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{deployment.url}/.well-known/oauth-protected-resource"' in challenge


async def test_sdk_client_discovers_the_server_and_calls_a_tool(deployment: Deployment) -> None:
    before = deployment.auth.token_requests
    async with oauth_client(deployment, "alice", "alice-secret") as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        connections = structured(await client.call_tool("list_connections", {}))
    assert deployment.auth.token_requests == before + 1  # one token, from the real authorization server
    assert WRITE_TOOLS <= tools
    assert [c["app"] for c in connections["connections"]] == ["vtiger"] or connections


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_two_users_land_in_two_tenants(deployment: Deployment, mode: str) -> None:
    marker = f"Tenant{uuid.uuid4().hex[:8]}"
    async with oauth_client(deployment, "alice", "alice-secret", mode=mode) as alice:
        created = await alice.call_tool(
            "vtiger_create_record",
            {"elementType": "Leads", "element": {"lastname": marker, "company": "Alice Inc"}},
        )
        structured(created)
        assert await lead_count(alice, marker) == 1
    async with oauth_client(deployment, "bob", "bob-secret", mode=mode) as bob:
        assert await lead_count(bob, marker) == 0
    async with bearer_client(deployment, STATIC_TOKEN) as carol:  # a static token=tenant pair, a third tenant
        assert await lead_count(carol, marker) == 0


async def test_read_scope_gets_the_read_only_view(deployment: Deployment) -> None:
    async with oauth_client(deployment, "reader", "reader-secret", scope="membrane:read") as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as refused:
            await client.call_tool(
                "vtiger_create_record", {"elementType": "Leads", "element": {"lastname": "x", "company": "y"}}
            )
    assert "vtiger_query_records" in tools
    assert not tools & WRITE_TOOLS
    assert "Unknown tool" in str(refused.value)


async def test_opaque_token_is_checked_by_introspection(deployment: Deployment) -> None:
    token = deployment.token("opaque-dave", "dave-secret")
    assert not token.startswith("eyJ")
    async with bearer_client(deployment, token) as client:
        assert "vtiger_create_record" in {tool.name for tool in (await client.list_tools()).tools}


async def test_an_action_one_user_creates_is_not_anothers(deployment: Deployment) -> None:
    description = f"list the deals closing this quarter {uuid.uuid4().hex[:6]}"
    async with oauth_client(deployment, "alice", "alice-secret") as alice:
        created = structured(
            await alice.call_tool("create_action", {"connection": "vtiger", "description": description})
        )
        assert created["tool"] in {tool.name for tool in (await alice.list_tools()).tools}
    async with oauth_client(deployment, "bob", "bob-secret") as bob:
        assert created["tool"] not in {tool.name for tool in (await bob.list_tools()).tools}
        with pytest.raises(MCPError):
            await bob.call_tool(created["tool"], {})


async def test_users_signing_in_through_one_app_get_their_own_tenants(deployment: Deployment) -> None:
    """Authorization code with PKCE: the tenant is the signed-in user (`sub`), not the client app."""
    marker = f"Signed{uuid.uuid4().hex[:8]}"
    async with signed_in_client(deployment, "erin@example.test") as erin:
        structured(
            await erin.call_tool(
                "vtiger_create_record",
                {"elementType": "Leads", "element": {"lastname": marker, "company": "Erin Ltd"}},
            )
        )
        assert await lead_count(erin, marker) == 1
    async with signed_in_client(deployment, "frank@example.test") as frank:
        assert await lead_count(frank, marker) == 0
    async with signed_in_client(deployment, "erin@example.test") as erin_again:
        assert await lead_count(erin_again, marker) == 1
