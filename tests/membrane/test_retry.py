from __future__ import annotations

import logging
import time

import anyio
import httpx
import jwt
import pytest
import respx

from membrane_mcp.membrane import (
    AuthenticationError,
    ConnectionProblem,
    DeadlineExceeded,
    NotFound,
    RateLimited,
    UpstreamUnavailable,
    WorkspaceCredentials,
)
from membrane_mcp.membrane.client import DEADLINE_MARGIN

from .helpers import BASE, TOKEN, RecordingSleep, envelope, make_client

RATE_LIMIT = envelope("bad_request", "rate_limit_exceeded", "Too many requests")
SECRET = "workspace-secret-workspace-secret-0123"


@pytest.fixture
def mock() -> respx.MockRouter:
    # using="httpx": respx mocks at the client, whatever transport it has (membrane/transport.py).
    with respx.mock(base_url=BASE, assert_all_called=False, using="httpx") as router:
        yield router


def _ok_connections() -> httpx.Response:
    return httpx.Response(200, json={"items": [{"id": "c1"}]})


# ---- safe requests ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_read_retried_on_429_honouring_retry_after(mock: respx.MockRouter) -> None:
    route = mock.get("/connections").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}, json=RATE_LIMIT), _ok_connections()]
    )
    sleep = RecordingSleep()
    async with make_client(sleep=sleep) as client:
        assert [c.id for c in await client.list_connections()] == ["c1"]
    assert route.call_count == 2
    assert sleep.delays == [2.0]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(504, text="Gateway Timeout"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
    ],
)
async def test_read_retried_on_transient_failures(mock: respx.MockRouter, failure: object) -> None:
    route = mock.get("/connections").mock(side_effect=[failure, failure, _ok_connections()])
    sleep = RecordingSleep()
    async with make_client(sleep=sleep) as client:
        await client.list_connections()
    assert route.call_count == 3
    assert len(sleep.delays) == 2 and sleep.delays[1] >= sleep.delays[0]


@pytest.mark.anyio
async def test_read_gives_up_after_max_attempts(mock: respx.MockRouter) -> None:
    route = mock.get("/connections").respond(503, text="down")
    async with make_client(max_attempts=3) as client:
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.list_connections()
    assert route.call_count == 3
    assert raised.value.status == 503 and raised.value.attempts == 3 and not raised.value.outcome_unknown


@pytest.mark.anyio
async def test_read_retried_on_500_not_on_404(mock: respx.MockRouter) -> None:
    crash = mock.get("/actions/a").respond(500, json=envelope("internal", None, "boom"))
    missing = mock.get("/actions/b").respond(404, json=envelope("not_found", None, "no such action"))
    async with make_client(max_attempts=3) as client:
        with pytest.raises(UpstreamUnavailable):
            await client.get_action("a")
        with pytest.raises(NotFound):
            await client.get_action("b")
    assert crash.call_count == 3
    assert missing.call_count == 1


@pytest.mark.anyio
async def test_network_failure_after_retries_is_upstream_unavailable(mock: respx.MockRouter) -> None:
    mock.get("/connections").mock(side_effect=httpx.ConnectError("refused"))
    async with make_client(max_attempts=2) as client:
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.list_connections()
    assert not raised.value.sent and raised.value.attempts == 2 and raised.value.status is None


# ---- unsafe requests ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json=envelope("internal", None, "boom")),
        httpx.Response(503, text="Service Unavailable"),
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
async def test_run_never_repeated_once_it_may_have_reached_the_server(
    mock: respx.MockRouter, failure: object
) -> None:
    route = mock.post("/actions/create-lead/run").mock(side_effect=[failure, httpx.Response(200, json={})])
    async with make_client() as client:
        with pytest.raises(UpstreamUnavailable) as info:
            await client.run_action("create-lead", "c1", {"lastname": "X"})
    assert route.call_count == 1
    assert info.value.outcome_unknown and info.value.sent
    assert info.value.request_line == "POST /actions/create-lead/run"


@pytest.mark.anyio
async def test_proxy_write_not_repeated_on_dropped_connection(mock: respx.MockRouter) -> None:
    route = mock.post("/connections/c1/proxy/records").mock(side_effect=httpx.RemoteProtocolError("dropped"))
    async with make_client() as client:
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.proxy("c1", "POST", "/records", body=b"{}")
    assert route.call_count == 1
    assert raised.value.outcome_unknown


@pytest.mark.anyio
async def test_create_action_not_repeated_on_502(mock: respx.MockRouter) -> None:
    route = mock.post("/actions").respond(502, text="bad gateway")
    async with make_client() as client:
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.create_action("x", "c1")
    assert route.call_count == 1
    assert raised.value.outcome_unknown and raised.value.status == 502


@pytest.mark.anyio
@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")])
async def test_run_retried_when_nothing_was_sent(mock: respx.MockRouter, failure: object) -> None:
    route = mock.post("/actions/q/run").mock(side_effect=[failure, httpx.Response(200, json={"output": 1})])
    async with make_client() as client:
        assert (await client.run_action("q", "c1", {})).output == 1
    assert route.call_count == 2


@pytest.mark.anyio
async def test_run_retried_on_membrane_rate_limit_envelope(mock: respx.MockRouter) -> None:
    route = mock.post("/actions/q/run").mock(
        side_effect=[httpx.Response(429, json=RATE_LIMIT), httpx.Response(200, json={"output": 2})]
    )
    async with make_client() as client:
        assert (await client.run_action("q", "c1", {})).output == 2
    assert route.call_count == 2


@pytest.mark.anyio
async def test_run_not_retried_on_429_without_membrane_envelope(mock: respx.MockRouter) -> None:
    route = mock.post("/actions/q/run").respond(429, text="slow down")
    async with make_client() as client:
        with pytest.raises(RateLimited):
            await client.run_action("q", "c1", {})
    assert route.call_count == 1


@pytest.mark.anyio
async def test_run_not_retried_on_external_app_rate_limit(mock: respx.MockRouter) -> None:
    route = mock.post("/actions/q/run").respond(
        429, json=envelope("connection", "rate_limit_exceeded", "Vtiger rate limit")
    )
    async with make_client() as client:
        with pytest.raises(ConnectionProblem) as raised:
            await client.run_action("q", "c1", {})
    assert route.call_count == 1
    assert raised.value.reason == "Vtiger rate limit" and raised.value.status == 429


# ---- 401: re-mint once ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_invalidates_and_retries_once_with_a_fresh_token(mock: respx.MockRouter) -> None:
    now = [1_800_000_000.0]
    creds = WorkspaceCredentials("ws", SECRET, "tenant", clock=lambda: now[0])
    unauthorized = httpx.Response(401, json=envelope("bad_request", "not_authenticated", "token expired"))
    route = mock.post("/actions/q/run").mock(
        side_effect=[unauthorized, httpx.Response(200, json={"output": 3})]
    )
    async with make_client(credentials=creds) as client:
        first = await creds.token()
        now[0] += 1
        assert (await client.run_action("q", "c1", {})).output == 3
    tokens = [call.request.headers["authorization"].removeprefix("Bearer ") for call in route.calls]
    assert route.call_count == 2
    assert tokens[0] == first and tokens[1] != first
    assert jwt.decode(tokens[1], SECRET, algorithms=["HS256"])["tenantKey"] == "tenant"


@pytest.mark.anyio
async def test_401_twice_is_an_authentication_error(mock: respx.MockRouter) -> None:
    creds = WorkspaceCredentials("ws", SECRET, "tenant")
    route = mock.get("/connections").respond(401, json=envelope("bad_request", "not_authenticated", "nope"))
    async with make_client(credentials=creds) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.list_connections()
    assert route.call_count == 2
    assert SECRET not in str(info.value)


# ---- deadlines -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_retry_after_longer_than_deadline_fails_fast(mock: respx.MockRouter) -> None:
    route = mock.get("/connections").respond(429, headers={"Retry-After": "10"}, json=RATE_LIMIT)
    sleep = RecordingSleep()
    async with make_client(sleep=sleep) as client:
        with pytest.raises((RateLimited, DeadlineExceeded)) as info:
            with anyio.CancelScope(deadline=anyio.current_time() + 2 + DEADLINE_MARGIN):
                await client.list_connections()
    assert route.call_count == 1 and sleep.delays == []  # fast: no pause was even asked for
    assert info.value.retry_after == 10


@pytest.mark.anyio
async def test_retry_after_above_cap_is_not_waited(mock: respx.MockRouter) -> None:
    route = mock.get("/connections").respond(429, headers={"Retry-After": "600"}, json=RATE_LIMIT)
    async with make_client() as client:
        with pytest.raises(RateLimited):
            await client.list_connections()
    assert route.call_count == 1


@pytest.mark.anyio
async def test_deadline_already_past(mock: respx.MockRouter) -> None:
    route = mock.get("/connections").respond(200, json={"items": []})
    async with make_client() as client:
        with pytest.raises(DeadlineExceeded) as raised:
            # Less than the client's margin left: its own deadline has already passed.
            with anyio.CancelScope(deadline=anyio.current_time() + DEADLINE_MARGIN / 2):
                await client.list_connections()
    assert route.call_count == 0
    assert not raised.value.sent and not raised.value.outcome_unknown


@pytest.mark.anyio
async def test_slow_answer_bounded_by_deadline(mock: respx.MockRouter) -> None:
    calls: list[httpx.Request] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        # Simulated latency, longer than the test's bound: the mock transport ignores httpx timeouts, so
        # only the client's deadline can end this.
        await anyio.sleep(60)
        return httpx.Response(200, json={"output": None})

    mock.post("/actions/q/run").mock(side_effect=slow)
    async with make_client() as client:
        with pytest.raises(DeadlineExceeded) as raised:
            with anyio.CancelScope(deadline=anyio.current_time() + 0.3 + DEADLINE_MARGIN):
                await client.run_action("q", "c1", {})
    assert len(calls) == 1
    assert raised.value.sent and raised.value.outcome_unknown  # a run (a write) was in flight


@pytest.mark.anyio
async def test_read_timeout_at_deadline_is_deadline_exceeded(mock: respx.MockRouter) -> None:
    calls: list[httpx.Request] = []

    def timeout(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        time.sleep(0.06)  # simulated latency: the transport waited until its read timeout, at the deadline
        raise httpx.ReadTimeout("timed out", request=request)

    mock.get("/connections").mock(side_effect=timeout)
    async with make_client() as client:
        with pytest.raises(DeadlineExceeded) as raised:
            with anyio.CancelScope(deadline=anyio.current_time() + 0.05 + DEADLINE_MARGIN):
                await client.list_connections()
    assert len(calls) == 1
    assert not raised.value.outcome_unknown  # a read: nothing can have changed


# ---- logging -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_retries_logged_without_the_token(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.get("/connections").mock(side_effect=[httpx.Response(503, text=f"echo {TOKEN}"), _ok_connections()])
    caplog.set_level(logging.DEBUG, logger="membrane_mcp.membrane")
    async with make_client() as client:
        await client.list_connections()
    assert any("retrying GET /connections" in r.getMessage() for r in caplog.records)
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
