"""/metrics when one server serves many users: tool calls labelled by tenant, readable with the metrics scope only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.oauth.authserver import SCOPES, LoopbackAuthorizationServer
from tests.oauth.conftest import Deployment, bearer_client, deployed
from tests.observability.test_metrics import samples, value
from tests.processes import free_port

pytestmark = pytest.mark.anyio

METRICS_SCOPE = "membrane:metrics"  # the default of MEMBRANE_MCP_OAUTH_METRICS_SCOPE
STATIC_USER = "static-token-for-carol"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = LoopbackAuthorizationServer(audience=url)
    auth.authorization.scopes_supported = [*SCOPES, METRICS_SCOPE]
    auth.add_client("alice", "alice-secret")
    auth.add_client("bob", "bob-secret")
    auth.add_client("prometheus", "prometheus-secret", scope=METRICS_SCOPE)
    auth.start()
    db: Path = tmp_path_factory.mktemp("metrics") / "sandbox.sqlite3"
    args = ["--sandbox", "--sandbox-db", str(db), "--sandbox-build-seconds", "0.2", "--tool-mode", "direct"]
    args += ["--apps", "vtiger", "--tenant-rate", "0", "--metrics"]
    with deployed(auth, port, args, {"MEMBRANE_MCP_AUTH_TOKENS": f"{STATIC_USER}=carol"}) as running:
        yield running


async def query_leads(deployment: Deployment, token: str, times: int) -> None:
    async with bearer_client(deployment, token) as client:
        for _ in range(times):
            result = await client.call_tool("vtiger_query_records", {"query": "SELECT * FROM Leads LIMIT 1;"})
            assert not result.is_error, result.content


async def test_tool_calls_of_two_users_are_counted_per_tenant(deployment: Deployment) -> None:
    await query_leads(deployment, deployment.token("alice", "alice-secret"), times=2)
    await query_leads(deployment, deployment.token("bob", "bob-secret"), times=1)
    scraper = deployment.token("prometheus", "prometheus-secret", scope=METRICS_SCOPE)

    async with httpx.AsyncClient() as http:
        scraped = await http.get(f"{deployment.url}/metrics", headers={"Authorization": f"Bearer {scraper}"})

    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)
    calls = "membrane_mcp_tool_calls_total"
    tool = {"tool": "vtiger_query_records", "kind": "read", "outcome": "ok"}
    assert value(found, calls, tenant="alice", **tool) == 2
    assert value(found, calls, tenant="bob", **tool) == 1
    assert value(found, calls, tenant="carol", **tool) == 0
    count = "membrane_mcp_tool_call_duration_seconds_count"
    assert value(found, count, tenant="alice", tool="vtiger_query_records", kind="read") == 2
    assert value(found, count, tenant="bob", tool="vtiger_query_records", kind="read") == 1
    assert all("tenant" in labels for name, labels, _ in found if name.startswith("membrane_mcp_tool_call"))


def test_metrics_name_tenants_so_users_tokens_cannot_read_them(deployment: Deployment) -> None:
    metrics_url = f"{deployment.url}/metrics"
    anonymous = httpx.get(metrics_url)
    assert anonymous.status_code == 401
    assert "resource_metadata" in anonymous.headers.get("www-authenticate", "")
    for user_token in (deployment.token("alice", "alice-secret"), STATIC_USER):
        refused = httpx.get(metrics_url, headers={"Authorization": f"Bearer {user_token}"})
        assert refused.status_code == 403, refused.text
        assert "membrane_mcp_tool_calls" not in refused.text
    # The metrics scope reads metrics and nothing else: no tools.
    scraper = deployment.token("prometheus", "prometheus-secret", scope=METRICS_SCOPE)
    tools = httpx.post(
        deployment.mcp_url,
        headers={"Authorization": f"Bearer {scraper}", "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    assert tools.status_code == 403
