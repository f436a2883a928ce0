"""raw_request guardrails: every refusal happens before anything reaches Membrane."""

from __future__ import annotations

import pytest

from tests.safety.conftest import error_text
from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio

VTIGER_BASE = "https://sandbox.od2.vtiger.com/restapi/v1/vtiger/default"

REFUSED = [
    ({"path": "https://evil.example/steal"}, "not an absolute URL"),
    ({"path": "http://sandbox.od2.vtiger.com/me"}, "not an absolute URL"),
    ({"path": "//evil.example/me"}, "not an absolute URL"),
    ({"path": "javascript:alert(1)"}, "not an absolute URL"),
    ({"path": "/me/../../connections"}, "'..' segments"),
    ({"path": "/me/%2e%2e/%2E%2E/connections"}, "'..' segments"),
    ({"path": "/me/%252e%252e/x"}, "'..' segments"),
    ({"path": "/{id}", "path_params": {"id": ".."}}, "'..' segments"),
    ({"path": "/me\\..\\x"}, "backslashes"),
    ({"path": "/me\r\nX-Injected: 1"}, "control characters"),
    ({"headers": {"Authorization": "Bearer stolen"}}, "refuses these headers: Authorization"),
    ({"headers": {"cookie": "session=1"}}, "refuses these headers: cookie"),
    ({"headers": {"Host": "evil.example"}}, "refuses these headers: Host"),
    ({"headers": {"Proxy-Authorization": "Basic x"}}, "refuses these headers: Proxy-Authorization"),
    ({"headers": {"X-Forwarded-For": "1.2.3.4"}}, "refuses these headers: X-Forwarded-For"),
    ({"headers": {"Forwarded": "for=1.2.3.4"}}, "refuses these headers: Forwarded"),
    ({"method": "POST", "path": "/create", "body": "x" * (1024 * 1024 + 1)}, "at most 1048576 (1 MiB)"),
    ({"method": "GET", "body": {"a": 1}}, "carries no body"),
]


async def test_every_refusal_sends_nothing(fresh_sandbox, mode):
    async with connect(settings_for(fresh_sandbox, apps=["vtiger"]), mode) as client:
        before = sandbox_stats(fresh_sandbox)
        for overrides, expected in REFUSED:
            args = {"connection": "vtiger", "method": "GET", "path": "/me", **overrides}
            result = await client.call_tool("raw_request", args)
            assert expected in error_text(result), (overrides, error_text(result))
        after = sandbox_stats(fresh_sandbox)
    assert after["proxyRequests"] == before["proxyRequests"]


async def test_allowed_host_takes_an_absolute_url_other_hosts_do_not(fresh_sandbox, mode):
    settings = settings_for(fresh_sandbox, apps=["vtiger"], raw_allow_host=["sandbox.od2.vtiger.com"])
    async with connect(settings, mode) as client:
        ok = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": "GET", "path": f"{VTIGER_BASE}/me"}
        )
        before = sandbox_stats(fresh_sandbox)["proxyRequests"]
        refused = {
            url: await client.call_tool("raw_request", {"connection": "vtiger", "method": "GET", "path": url})
            for url in (
                "https://evil.example/me",
                "https://sandbox.od2.vtiger.com.evil.example/me",
                "https://user:pw@sandbox.od2.vtiger.com/me",
                f"{VTIGER_BASE}/../../admin",
                "ftp://sandbox.od2.vtiger.com/me",
            )
        }
        after = sandbox_stats(fresh_sandbox)["proxyRequests"]
    assert ok.structured_content["status"] == 200, ok.content
    assert ok.structured_content["body"]["result"]["user_name"]
    assert "is not one raw_request may reach" in error_text(refused["https://evil.example/me"])
    assert "is not one raw_request may reach" in error_text(
        refused["https://sandbox.od2.vtiger.com.evil.example/me"]
    )
    assert "credentials" in error_text(refused["https://user:pw@sandbox.od2.vtiger.com/me"])
    assert "'..' segments" in error_text(refused[f"{VTIGER_BASE}/../../admin"])
    assert "http(s)" in error_text(refused["ftp://sandbox.od2.vtiger.com/me"])
    assert after == before


async def test_raw_methods_allow_list(fresh_sandbox, mode):
    settings = settings_for(fresh_sandbox, apps=["vtiger"], raw_methods=["GET", "POST"])
    async with connect(settings, mode) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "raw_request")
        before = sandbox_stats(fresh_sandbox)["proxyRequests"]
        deleted = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": "DELETE", "path": "/delete"}
        )
        posted = await client.call_tool(
            "raw_request",
            {"connection": "vtiger", "method": "POST", "path": "/create",
             "body": {"elementType": "Leads", "element": {"lastname": "Raw", "company": "Acme"}}},
        )  # fmt: skip
    assert tool.input_schema["properties"]["method"]["enum"] == ["GET", "POST"]
    assert "refuses DELETE; allowed methods: GET, POST" in error_text(deleted)
    assert posted.structured_content["status"] == 200, posted.content
    assert sandbox_stats(fresh_sandbox)["proxyRequests"].get("POST", 0) == before.get("POST", 0) + 1
    assert "DELETE" not in sandbox_stats(fresh_sandbox)["proxyRequests"]


async def test_raw_response_is_capped_like_every_output(sandbox, mode):
    settings = settings_for(sandbox, apps=["vtiger"], max_output_bytes=2048)
    args = {
        "connection": "vtiger",
        "method": "GET",
        "path": "/query",
        "query": {"query": "SELECT * FROM Contacts LIMIT 50;"},
    }
    async with connect(settings, mode) as client:
        result = await client.call_tool("raw_request", args)
    assert not result.is_error
    assert len(result.content[0].text.encode()) <= 2048
    assert "_truncated" in result.structured_content
