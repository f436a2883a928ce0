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
    # Found by the attack run: encoded URLs, URLs as path_params, encoded separators, Tomcat and Unicode dots.
    ({"path": "https%3A%2F%2Fevil.example%2Fx"}, "not an absolute URL"),
    ({"path": "/https%253A%252F%252Fevil.example%252Fx"}, "not an absolute URL"),
    ({"path": "{u}", "path_params": {"u": "https://evil.example/x"}}, "not an absolute URL"),
    ({"path": "/{u}", "path_params": {"u": "https://evil.example/x"}}, "not an absolute URL"),
    ({"path": "/{u}", "path_params": {"u": "//evil.example/x"}}, "empty segment"),
    ({"path": "/%2F%2Fevil.example/x"}, "empty segment"),
    ({"path": "/me/%5c..%5cx"}, "backslashes"),
    ({"path": "/me/%255c"}, "backslashes"),
    ({"path": "/me%0d%0aX-Injected:%201"}, "control characters"),
    ({"path": "/me/%250d%250a"}, "control characters"),
    ({"path": "/me/..;/connections"}, "'..' segments"),
    ({"path": "/me/%2e%2e%3b/connections"}, "'..' segments"),
    ({"path": "/me/\uff0e\uff0e/connections"}, "'..' segments"),
    ({"path": "/me/%EF%BC%8E%EF%BC%8E/connections"}, "'..' segments"),
    ({"path": "/me/\u2025/connections"}, "'..' segments"),
    ({"path": "/{a}/x", "path_params": {"a": "\uff0e\uff0e"}}, "'..' segments"),
    ({"path": "/me//x"}, "empty segment"),
    ({"path": "/records/{id}", "path_params": {"id": ""}}, "empty value for: id"),
    ({"path": "/{id}", "path_params": {"id": "12x1?x=1"}}, "'?' or '#'"),
    ({"path": "/me%23frag"}, "'?' or '#'"),
    ({"headers": {"X-Name": "caf\u00e9"}}, "not visible ASCII"),
    ({"headers": {"X-Name": "a\r\nX-Injected: 1"}}, "not visible ASCII"),
    ({"headers": {"Bad Name": "x"}}, "not valid HTTP field names"),
    ({"headers": {"X-\u00e9": "x"}}, "not valid HTTP field names"),
    ({"headers": {"X-A:b": "x"}}, "not valid HTTP field names"),
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
            tool = "raw_request" if args["method"] == "GET" else "raw_write_request"
            result = await client.call_tool(tool, args)
            assert expected in error_text(result), (overrides, error_text(result))
        after = sandbox_stats(fresh_sandbox)
    assert after["proxyRequests"] == before["proxyRequests"]


async def test_path_params_are_single_segments_encoded_on_output(fresh_sandbox):
    """A path_params value is text of one segment, sent percent-encoded (its '%' as %25, spaces as %20)."""
    async with connect(settings_for(fresh_sandbox, apps=["vtiger"])) as client:
        result = await client.call_tool(
            "raw_request",
            {"connection": "vtiger", "method": "GET", "path": "/records/{id}",
             "path_params": {"id": "12x1 &y=50%"}},
        )  # fmt: skip
    assert result.structured_content["status"] == 404, result.content  # reached the app, as one segment
    assert "No API /records/12x1 &y=50%" in str(result.structured_content["body"])


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
                "https://sandbox.od2.vtiger.com:8443/me",
                "http://sandbox.od2.vtiger.com/me",
            )
        }
        after = sandbox_stats(fresh_sandbox)["proxyRequests"]
    assert ok.structured_content["status"] == 200, ok.content
    assert ok.structured_content["body"]["result"]["user_name"]
    for url in (
        "https://evil.example/me",
        "https://sandbox.od2.vtiger.com.evil.example/me",
        "https://sandbox.od2.vtiger.com:8443/me",  # the port counts
        "http://sandbox.od2.vtiger.com/me",  # and the scheme
    ):
        assert "is not an origin raw_request may reach" in error_text(refused[url]), url
    assert "credentials" in error_text(refused["https://user:pw@sandbox.od2.vtiger.com/me"])
    assert "'..' segments" in error_text(refused[f"{VTIGER_BASE}/../../admin"])
    assert "http(s)" in error_text(refused["ftp://sandbox.od2.vtiger.com/me"])
    assert after == before


async def test_raw_methods_allow_list(fresh_sandbox, mode):
    settings = settings_for(fresh_sandbox, apps=["vtiger"], raw_methods=["GET", "POST"])
    async with connect(settings, mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        before = sandbox_stats(fresh_sandbox)["proxyRequests"]
        deleted = await client.call_tool(
            "raw_write_request", {"connection": "vtiger", "method": "DELETE", "path": "/delete"}
        )
        posted = await client.call_tool(
            "raw_write_request",
            {"connection": "vtiger", "method": "POST", "path": "/create",
             "body": {"elementType": "Leads", "element": {"lastname": "Raw", "company": "Acme"}}},
        )  # fmt: skip
    assert tools["raw_request"].input_schema["properties"]["method"]["enum"] == ["GET"]
    assert tools["raw_write_request"].input_schema["properties"]["method"]["enum"] == ["POST"]
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
