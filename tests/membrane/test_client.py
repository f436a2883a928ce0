from __future__ import annotations

import gzip
import json

import anyio
import httpx
import pytest
import respx

from membrane_mcp import __version__
from membrane_mcp.membrane import (
    ActionRunError,
    AuthenticationError,
    ConnectionProblem,
    MembraneClient,
    MembraneConfig,
    NotFound,
    StaticToken,
)
from membrane_mcp.membrane.client import API_VERSION, DEADLINE_MARGIN
from membrane_mcp.membrane.errors import InvalidAnswer

from .helpers import BASE, TOKEN, RecordingSleep, envelope, make_client


@pytest.fixture
def mock() -> respx.MockRouter:
    # using="httpx": respx mocks at the client, whatever transport it has (membrane/transport.py).
    with respx.mock(base_url=BASE, assert_all_called=False, using="httpx") as router:
        yield router


@pytest.mark.anyio
async def test_headers_sent(mock: respx.MockRouter) -> None:
    route = mock.post("/actions").respond(200, json={"id": "a1", "state": "BUILDING"})
    async with make_client() as client:
        action = await client.create_action("list leads", "conn-1", name="Leads")
    assert action.state == "BUILDING"
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["membrane-api-version"] == API_VERSION == "2025-10-21"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"membrane-mcp/{__version__}"
    assert json.loads(request.content) == {"intent": "list leads", "connectionId": "conn-1", "name": "Leads"}


@pytest.mark.anyio
async def test_list_connections_follows_cursors(mock: respx.MockRouter) -> None:
    route = mock.get("/connections").mock(
        side_effect=[
            httpx.Response(200, json={"items": [{"id": "c1"}, {"id": "c2"}], "cursor": "next-1"}),
            httpx.Response(200, json={"items": [{"id": "c3", "unknown": True}], "cursor": ""}),
        ]
    )
    async with make_client() as client:
        connections = await client.list_connections(integration_key="vtiger", connected=True)
    assert [c.id for c in connections] == ["c1", "c2", "c3"]
    first, second = (call.request.url.params for call in route.calls)
    assert dict(first) == {"integrationKey": "vtiger", "connected": "true", "limit": "1000", "cursor": "0"}
    assert second["cursor"] == "next-1"


@pytest.mark.anyio
async def test_cursor_loop_is_broken(mock: respx.MockRouter) -> None:
    route = mock.get("/actions").respond(200, json={"items": [{"id": "a"}], "cursor": "same"})
    async with make_client() as client:
        actions = await client.list_actions(connection_id="c1")
    assert route.call_count == 2 and len(actions) == 2


@pytest.mark.anyio
async def test_list_actions_with_intent_is_one_ranked_request(mock: respx.MockRouter) -> None:
    route = mock.get("/actions").respond(200, json={"items": [{"id": "a1"}, {"id": "a2"}], "cursor": "more"})
    async with make_client() as client:
        actions = await client.list_actions(connection_id="c1", intent="find a contact by email")
    assert [a.id for a in actions] == ["a1", "a2"]
    assert route.call_count == 1
    assert dict(route.calls.last.request.url.params) == {
        "connectionId": "c1",
        "intent": "find a contact by email",
        "limit": "10",
    }


@pytest.mark.anyio
async def test_search(mock: respx.MockRouter) -> None:
    route = mock.get("/search").respond(
        200, json={"items": [{"elementType": "connector", "element": {"id": "vt", "name": "Vtiger"}}]}
    )
    async with make_client() as client:
        results = await client.search("vtiger", limit=500)
    assert results[0].element["id"] == "vt"
    assert dict(route.calls.last.request.url.params) == {
        "q": "vtiger",
        "elementType": "connector",
        "limit": "100",
    }


@pytest.mark.anyio
async def test_get_action_long_poll_stays_inside_deadline(mock: respx.MockRouter) -> None:
    route = mock.get("/actions/vtiger.query-records").respond(200, json={"id": "a1", "state": "READY"})
    async with make_client() as client:
        await client.get_action("vtiger.query-records", wait=True, timeout=120)
        assert dict(route.calls.last.request.url.params) == {"wait": "true", "timeout": "60"}
        # The client works to the caller's cancel scope, DEADLINE_MARGIN before it.
        with anyio.CancelScope(deadline=anyio.current_time() + 12 + DEADLINE_MARGIN):
            await client.get_action("vtiger.query-records", wait=True)
        assert int(route.calls.last.request.url.params["timeout"]) <= 7
        with anyio.CancelScope(deadline=anyio.current_time() + 3 + DEADLINE_MARGIN):
            await client.get_action("vtiger.query-records", wait=True)
        assert "wait" not in route.calls.last.request.url.params  # too little time left: a plain GET


@pytest.mark.anyio
async def test_selectors_are_path_encoded(mock: respx.MockRouter) -> None:
    route = mock.get(url__regex=r".*/connections/.*").respond(200, json={"id": "x"})
    async with make_client() as client:
        await client.get_connection("a/b?c")
        await client.get_connection("..")
    assert route.calls[0].request.url.raw_path == b"/connections/a%2Fb%3Fc"
    assert route.calls[1].request.url.raw_path == b"/connections/%2E%2E"


@pytest.mark.anyio
async def test_wait_for_action_polls_until_not_building(mock: respx.MockRouter) -> None:
    mock.get("/actions/a1").mock(
        side_effect=[
            httpx.Response(200, json={"id": "a1", "state": "BUILDING"}),
            httpx.Response(200, json={"id": "a1", "state": "BUILDING"}),
            httpx.Response(200, json={"id": "a1", "state": "READY"}),
        ]
    )
    seen: list[tuple[float, str | None]] = []

    async def progress(elapsed: float, action: object) -> None:
        seen.append((elapsed, getattr(action, "state", None)))

    sleep = RecordingSleep()
    async with make_client(sleep=sleep) as client:
        with anyio.CancelScope(deadline=anyio.current_time() + 100):
            action = await client.wait_for_action("a1", on_progress=progress)
    assert action.state == "READY"
    assert [state for _, state in seen] == ["BUILDING", "BUILDING"]
    assert sleep.delays and all(
        d <= 1.0 for d in sleep.delays
    )  # no tight loop when the server returns at once


@pytest.mark.anyio
async def test_wait_for_action_returns_building_at_deadline(mock: respx.MockRouter) -> None:
    mock.get("/actions/a1").respond(200, json={"id": "a1", "state": "BUILDING"})
    async with make_client() as client:
        with anyio.CancelScope(deadline=anyio.current_time() + 0.5 + DEADLINE_MARGIN):
            action = await client.wait_for_action("a1")
    assert action.state == "BUILDING"


@pytest.mark.anyio
async def test_run_action(mock: respx.MockRouter) -> None:
    route = mock.post("/actions/query-records/run").respond(
        200, json={"output": {"rows": []}, "actionRunId": "r1"}
    )
    async with make_client() as client:
        result = await client.run_action("query-records", "conn-1", {"query": "SELECT * FROM Leads;"})
    assert result.output == {"rows": []} and result.action_run_id == "r1"
    request = route.calls.last.request
    assert request.url.params["connectionId"] == "conn-1"
    assert json.loads(request.content) == {"input": {"query": "SELECT * FROM Leads;"}}


@pytest.mark.anyio
async def test_run_action_failure_carries_run_id(mock: respx.MockRouter) -> None:
    mock.post("/actions/q/run").respond(400, json=envelope("action_run", None, "bad query", actionRunId="r9"))
    mock.get("/action-run-logs/r9").respond(200, json={"id": "r9", "status": "error"})
    async with make_client() as client:
        with pytest.raises(ActionRunError) as info:
            await client.run_action("q", "c", {})
        assert info.value.action_run_id == "r9"
        assert (await client.get_action_run_log("r9"))["status"] == "error"


@pytest.mark.anyio
async def test_archive_and_create_connection(mock: respx.MockRouter) -> None:
    delete = mock.delete("/actions/a1").respond(200, json={"id": "a1"})
    create = mock.post("/connections").respond(200, json={"id": "c9", "state": "CLIENT_ACTION_REQUIRED"})
    async with make_client() as client:
        await client.archive_action("a1")
        conn = await client.create_connection(connector_key="vtiger")
        with pytest.raises(ValueError):
            await client.create_connection()
    assert delete.call_count == 1
    assert conn.state == "CLIENT_ACTION_REQUIRED"
    assert json.loads(create.calls.last.request.content) == {"connectorKey": "vtiger"}


@pytest.mark.anyio
async def test_proxy_returns_app_responses_verbatim(mock: respx.MockRouter) -> None:
    route = mock.route(method="PATCH", url__regex=r".*/proxy/.*").respond(
        422, headers={"x-app": "1", "content-type": "text/plain"}, content=b"app says no"
    )
    async with make_client() as client:
        resp = await client.proxy(
            "conn-1",
            "patch",
            "/restapi/v1/vtiger/default/record?id=12x3",
            query={"extra": "a b"},
            headers={"Content-Type": "application/json", "Authorization": "Bearer evil", "Accept": "*/*"},
            body=b'{"a": 1}',
        )
    assert (resp.status, resp.body, resp.headers["x-app"]) == (422, b"app says no", "1")
    request = route.calls.last.request
    assert (
        request.url.raw_path
        == b"/connections/conn-1/proxy/restapi/v1/vtiger/default/record?id=12x3&extra=a+b"
    )
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "*/*"
    assert request.content == b'{"a": 1}'
    assert route.call_count == 1


@pytest.mark.anyio
async def test_proxy_path_cannot_escape(mock: respx.MockRouter) -> None:
    route = mock.get(url__regex=r".*").respond(200, json={})
    async with make_client() as client:
        await client.proxy("c1", "GET", "../../actions/%2Fx/a b")
        await client.proxy("c1", "GET", "https://api.example.com/v1/me")
    assert route.calls[0].request.url.raw_path == b"/connections/c1/proxy/%2E%2E/%2E%2E/actions/%2Fx/a%20b"
    assert route.calls[1].request.url.raw_path == b"/connections/c1/proxy/https://api.example.com/v1/me"


@pytest.mark.anyio
async def test_proxy_rejects_odd_methods() -> None:
    async with make_client() as client:
        with pytest.raises(ValueError):
            await client.proxy("c1", "GET /x HTTP/1.1\r\n", "/me")


@pytest.mark.anyio
async def test_proxy_raises_only_on_membrane_envelope(mock: respx.MockRouter) -> None:
    mock.get("/connections/gone/proxy/me").respond(
        404, json=envelope("bad_request", "not_found", "no connection")
    )
    mock.get("/connections/dead/proxy/me").respond(
        400, json=envelope("connection", "connection_is_defunct", "reconnect")
    )
    mock.get("/connections/c1/proxy/me").respond(401, json={"error": "app token invalid"})
    async with make_client() as client:
        with pytest.raises(NotFound):
            await client.proxy("gone", "GET", "me")
        with pytest.raises(ConnectionProblem):
            await client.proxy("dead", "GET", "me")
        resp = await client.proxy("c1", "GET", "me")
    assert resp.status == 401 and resp.json() == {"error": "app token invalid"}


@pytest.mark.anyio
async def test_not_found_and_auth_errors(mock: respx.MockRouter) -> None:
    mock.get("/connections/nope").respond(
        404, json=envelope("bad_request", "not_found", "Connection not found")
    )
    route = mock.get("/actions/x").respond(401, json=envelope("bad_request", "not_authenticated", "expired"))
    async with make_client() as client:
        with pytest.raises(NotFound) as raised:
            await client.get_connection("nope")
        assert raised.value.reason == "Connection not found" and raised.value.status == 404
        with pytest.raises(AuthenticationError):
            await client.get_action("x")
    assert route.call_count == 1  # a static token cannot be renewed: no pointless retry


@pytest.mark.anyio
async def test_repr_hides_token() -> None:
    async with make_client() as client:
        assert TOKEN not in repr(client)


@pytest.mark.anyio
async def test_a_list_page_that_is_not_json_is_an_invalid_answer(mock: respx.MockRouter) -> None:
    mock.get("/connections").respond(200, content=b"<html>gateway error</html>")
    async with make_client() as client:
        with pytest.raises(InvalidAnswer) as caught:
            await client.list_connections()
    assert "gateway error" in str(caught.value)


@pytest.mark.anyio
async def test_list_pages_parse_into_models_with_their_extra_fields(mock: respx.MockRouter) -> None:
    mock.get("/actions").respond(
        200, json={"items": [{"id": "a1", "key": "list-leads", "inputSchema": {"type": "object"}, "x": 1}]}
    )
    async with make_client() as client:
        (action,) = await client.list_actions(connection_id="c1")
    assert (action.key, action.input_schema, action.model_extra) == (
        "list-leads",
        {"type": "object"},
        {"x": 1},
    )


def _client_with_limit(limit: int) -> MembraneClient:
    return MembraneClient(MembraneConfig(BASE, max_response_bytes=limit), StaticToken(TOKEN))


@pytest.mark.anyio
async def test_an_answer_of_declared_length_within_the_limit_is_read_whole(mock: respx.MockRouter) -> None:
    records = [{"id": str(i)} for i in range(20)]
    mock.get("/connections").respond(200, json={"items": records})
    async with _client_with_limit(10_000) as client:
        connections = await client.list_connections()
    assert [c.id for c in connections] == [str(i) for i in range(20)]


@pytest.mark.anyio
async def test_a_compressed_answer_is_capped_by_its_decoded_size(mock: respx.MockRouter) -> None:
    """A small gzip body may decode to far more than its Content-Length: the cap applies to what is read."""
    records = [{"id": str(i), "name": "x" * 50} for i in range(200)]
    raw = json.dumps({"items": records}).encode()
    packed = gzip.compress(raw)
    assert len(packed) < 2_000 < len(raw)
    mock.get("/connections").respond(
        200, content=packed, headers={"content-encoding": "gzip", "content-type": "application/json"}
    )
    async with _client_with_limit(2_000) as client:
        connections = await client.list_connections()
    assert 0 < len(connections) < 200  # cut at a record boundary, within the limit


@pytest.mark.anyio
async def test_requests_are_built_as_httpx_builds_them(mock: respx.MockRouter) -> None:
    # The client writes its URLs and headers itself (one URL parse per request); they must be what
    # httpx.AsyncClient.build_request makes of the same path, query and headers.
    route = mock.route(url__regex=r".*").respond(200, json={"items": []})
    query = {"q": "ä/&=?# +%41", "n": "1"}
    async with make_client() as client:
        await client.proxy("c 1", "GET", "/records/a%2Fb/ü x?x=y z&e=", query=query, headers={"X-A": "1"})
        await client.run_action("key with/slash", "conn 1", {"a": 1})
        await client.search("find: contacts & leads?", limit=3)
        reference = httpx.AsyncClient(base_url=BASE, headers=client._http.headers)
    expected = [
        reference.build_request(
            "GET",
            "/connections/c%201/proxy/records/a%2Fb/%C3%BC%20x",
            params=[("x", "y z"), ("e", ""), *query.items()],
            headers={"X-A": "1", "Authorization": f"Bearer {TOKEN}"},
        ),
        reference.build_request(
            "POST",
            "/actions/key%20with%2Fslash/run",
            params={"connectionId": "conn 1"},
            content=b'{"input": {"a": 1}}',
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        ),
        reference.build_request(
            "GET",
            "/search",
            params={"q": "find: contacts & leads?", "elementType": "connector", "limit": "3"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ),
    ]
    for own in ("user-agent", "accept", "membrane-api-version"):  # not passed through the proxy
        del expected[0].headers[own]
    for call, built in zip(route.calls, expected, strict=True):
        assert str(call.request.url) == str(built.url)
        # `traceparent` is added when an OpenTelemetry tracer provider is set (by an earlier test).
        sent = [
            (k, v) for k, v in call.request.headers.raw if k.lower() not in (b"traceparent", b"tracestate")
        ]
        assert sorted(sent) == sorted(built.headers.raw)
        assert call.request.content == built.content


@pytest.mark.anyio
async def test_cookies_set_by_membrane_are_not_sent_back(mock: respx.MockRouter) -> None:
    route = mock.get("/connections/c1").respond(
        200, json={"id": "c1"}, headers={"set-cookie": "session=abc; Path=/"}
    )
    async with make_client() as client:
        await client.get_connection("c1")
        await client.get_connection("c1")
    assert [call.request.headers.get("cookie") for call in route.calls] == [None, None]


@pytest.mark.anyio
async def test_repeated_and_changed_urls_each_reach_their_own_address(mock: respx.MockRouter) -> None:
    """Request URLs are parsed once and kept: a repeat and a changed query each go where they say."""
    route = mock.post("/actions/q/run").respond(200, json={"output": {}, "actionRunId": "r1"})
    async with make_client() as client:
        for connection in ("conn-1", "conn-1", "conn-2", "conn-1"):
            await client.run_action("q", connection, {})
    assert [str(call.request.url) for call in route.calls] == [
        f"{BASE}/actions/q/run?connectionId={connection}"
        for connection in ("conn-1", "conn-1", "conn-2", "conn-1")
    ]


@pytest.mark.parametrize(
    ("headers", "within"),
    [
        ([("Content-Length", "5")], True),
        ([("content-length", "5"), ("Content-Encoding", " Identity ")], True),
        ([("Content-Length", "11")], False),
        ([("Content-Length", "5"), ("Content-Encoding", "gzip")], False),
        ([("Content-Length", "5"), ("Content-Length", "5")], False),
        ([("Content-Length", "5"), ("Content-Encoding", "identity"), ("Content-Encoding", "gzip")], False),
        ([], False),
    ],
)
def test_only_a_single_plain_declared_length_skips_the_limited_read(
    headers: list[tuple[str, str]], within: bool
) -> None:
    from membrane_mcp.membrane.client import _declared_within

    assert _declared_within(httpx.Response(200, headers=headers), 10) is within


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [
        {"items": "none"},
        {"items": [{"id": {"nested": "not an id"}}]},
        [{"id": "c1"}],
    ],
)
async def test_garbled_list_is_an_invalid_answer(mock: respx.MockRouter, answer: object) -> None:
    mock.get("/connections").respond(200, json=answer)
    async with make_client() as client:
        with pytest.raises(InvalidAnswer) as caught:
            await client.list_connections()
    message = str(caught.value)
    assert "a page of connections is not in the documented shape" in message
    assert "\n" not in message
