"""The Membrane client's own transport (httpx over aiohttp's pool) against real sockets."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from membrane_mcp.membrane import MembraneClient, MembraneConfig, RetryPolicy, StaticToken
from membrane_mcp.membrane.deferred_transport import DeferredTransport, default_transport_later
from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.membrane.transport import PooledTransport
from membrane_sandbox.config import SandboxConfig
from tests.sandboxes import seeded_sandbox

from .helpers import RecordingSleep
from .raw_server import Received, answer, raw_server
from .tls import self_signed

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)
pytestmark = pytest.mark.anyio


def _client(url: str, **config: int) -> MembraneClient:
    retry = RetryPolicy(sleep=RecordingSleep(), jitter=0.0)
    return MembraneClient(MembraneConfig(url, retry_policy=retry, **config), StaticToken("pat-x"))


def test_default_is_pooled_without_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(default_transport_later(LIMITS), DeferredTransport)  # the pool, made at first use


def test_a_proxy_in_the_environment_keeps_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert default_transport_later(LIMITS) is None


async def test_the_client_reads_the_sandbox_through_the_pool() -> None:
    with seeded_sandbox(SandboxConfig()) as sandbox:
        async with MembraneClient(MembraneConfig(sandbox.url), StaticToken(sandbox.token)) as client:
            first = await client.list_connections()
            second = await client.list_connections()
    assert first and [c.id for c in first] == [c.id for c in second]


async def test_requests_keep_their_connection_and_send_only_the_headers_httpx_built() -> None:
    with raw_server(lambda _: answer(b'{"ok":true}', ("Content-Type", "application/json"))) as server:
        async with _client(server.url) as client:
            for _ in range(3):
                answered = await client.proxy("conn-1", "GET", "/me")
                assert answered.body == b'{"ok":true}'
    assert server.connections == 1 and len(server.received) == 3
    sent = server.received[0]
    assert sent.target == "/connections/conn-1/proxy/me"
    assert sent.header("authorization") == ["Bearer pat-x"]
    # The proxy passes no default headers of ours to the app, and the transport adds none of its own.
    assert sent.header("user-agent") == [] and sent.header("accept") == []


async def test_a_body_and_a_quoted_path_arrive_as_sent() -> None:
    with raw_server(lambda _: answer(b"{}")) as server:
        async with _client(server.url) as client:
            await client.proxy(
                "conn-1",
                "POST",
                "/records/a%2Fb",
                query={"q": "x y"},
                headers={"Content-Type": "text/plain"},
                body=b"hello",
            )
    (sent,) = server.received
    assert sent.target == "/connections/conn-1/proxy/records/a%2Fb?q=x+y"
    assert sent.body == b"hello"
    assert sent.header("content-length") == ["5"] and sent.header("content-type") == ["text/plain"]


async def test_a_gzip_answer_is_decoded() -> None:
    payload = json.dumps({"items": [{"id": str(i)} for i in range(500)]}).encode()
    reply = answer(gzip.compress(payload), ("Content-Encoding", "gzip"))
    with raw_server(lambda _: reply) as server:
        async with _client(server.url) as client:
            answered = await client.proxy("conn-1", "GET", "/records")
    assert answered.body == payload


async def test_an_answer_over_the_cap_is_cut_and_its_connection_not_reused() -> None:
    big = json.dumps({"items": [{"id": str(i), "pad": "x" * 100} for i in range(2000)]}).encode()

    def script(request: Received) -> bytes:
        return answer(big if request.target.endswith("/big") else b"{}")

    with raw_server(script) as server:
        async with _client(server.url, max_response_bytes=10_000) as client:
            cut = await client.proxy("conn-1", "GET", "/big")
            after = await client.proxy("conn-1", "GET", "/small")
    assert cut.cut and len(cut.body) <= 10_000
    assert after.body == b"{}"
    # The unread rest of the big answer must not be taken for the next answer.
    assert server.received[1].connection != server.received[0].connection


@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST", "PATCH"])
async def test_a_write_whose_connection_drops_is_sent_once_and_reported_unknown(method: str) -> None:
    # The first request opens a kept-alive connection; the write arrives on it and the server drops it
    # unanswered. aiohttp would send a PUT or DELETE again on its own; for us it stays one write.
    with raw_server(lambda r: answer(b"{}") if r.method == "GET" else None) as server:
        async with _client(server.url) as client:
            await client.proxy("conn-1", "GET", "/me")
            with pytest.raises(MembraneError) as caught:
                await client.proxy("conn-1", method, "/records/1", body=b"{}")
    assert [r.method for r in server.received] == ["GET", method]
    assert caught.value.outcome_unknown


async def test_a_read_whose_connection_drops_is_retried() -> None:
    dropped: list[Received] = []

    def script(request: Received) -> bytes | None:
        if not dropped:
            dropped.append(request)
            return None
        return answer(b'{"ok":1}')

    with raw_server(script) as server:
        async with _client(server.url) as client:
            answered = await client.proxy("conn-1", "GET", "/me")
    assert answered.body == b'{"ok":1}' and len(server.received) == 2


async def test_no_answer_within_the_read_timeout_is_httpx_read_timeout() -> None:
    with raw_server(lambda _: "hang") as server:
        transport = PooledTransport(LIMITS)
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, read=0.05)) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get(f"{server.url}/slow")


async def test_waiting_for_a_connection_of_a_full_pool_is_bounded_and_not_sent() -> None:
    arrived = threading.Event()

    def hold(_: Received) -> str:
        arrived.set()
        return "hang"

    with raw_server(hold) as server:
        transport = PooledTransport(httpx.Limits(max_connections=1))
        timeout = httpx.Timeout(5.0, pool=0.05, connect=0.05)
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
            async with anyio.create_task_group() as group:
                group.start_soon(http.get, f"{server.url}/first")  # holds the only connection
                assert await anyio.to_thread.run_sync(arrived.wait, 30)
                with pytest.raises(httpx.ConnectTimeout):  # retry.py: not sent
                    await http.get(f"{server.url}/second")
                group.cancel_scope.cancel()
    assert [r.target for r in server.received] == ["/first"]


async def test_a_refused_connection_is_httpx_connect_error_and_retried_as_not_sent() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient(transport=PooledTransport(LIMITS)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")
    async with _client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(MembraneError) as caught:
            await client.create_action("list leads", "conn-1")  # a write: retried only because never sent
    assert caught.value.attempts > 1
    assert not caught.value.outcome_unknown


async def test_a_refused_https_connection_names_the_host_not_the_tls_context() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient(transport=PooledTransport(LIMITS)) as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.get(f"https://127.0.0.1:{port}/")
    text = str(caught.value)
    assert text.startswith(f"Cannot connect to host 127.0.0.1:{port} [")
    assert "SSLContext" not in text and "ssl:" not in text


def _counting_tls_contexts(monkeypatch: pytest.MonkeyPatch, make: Any = None) -> list[int]:
    """Count the TLS contexts the transport makes (httpx's, certifi's CAs); `make` replaces httpx's."""
    made: list[int] = []
    real = make or httpx.create_ssl_context

    def counted() -> Any:
        made.append(1)
        return real()

    monkeypatch.setattr(httpx, "create_ssl_context", counted)
    return made


async def test_an_https_answer_comes_through_the_pool_verified_with_the_transports_ca(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    certificate = self_signed()
    made = _counting_tls_contexts(monkeypatch, certificate.client_context)
    with raw_server(lambda _: answer(b'{"ok":true}'), tls=certificate.server_context()) as server:
        async with _client(server.url) as client:
            for _ in range(2):
                answered = await client.proxy("conn-1", "GET", "/me")
                assert answered.body == b'{"ok":true}'
    assert len(made) == 1  # made with the pool, for its first (https) request, and kept
    assert server.connections == 1 and len(server.received) == 2


async def test_an_https_server_the_ca_bundle_does_not_vouch_for_is_refused_and_sent_nothing() -> None:
    with raw_server(lambda _: answer(b"{}"), tls=self_signed().server_context()) as server:
        async with _client(server.url) as client:
            with pytest.raises(MembraneError) as caught:
                await client.create_action("list leads", "conn-1")
    assert "certificate" in str(caught.value).lower()
    assert not caught.value.outcome_unknown and server.received == []


async def test_a_plain_http_pool_loads_no_ca_bundle_until_an_https_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    certificate = self_signed()
    made = _counting_tls_contexts(monkeypatch, certificate.client_context)
    with (
        raw_server(lambda _: answer(b"{}")) as plain,
        raw_server(lambda _: answer(b"{}"), tls=certificate.server_context()) as secure,
    ):
        async with httpx.AsyncClient(transport=default_transport_later(LIMITS)) as http:
            assert (await http.get(f"{plain.url}/a")).status_code == 200
            assert made == []
            assert (await http.get(f"{secure.url}/b")).status_code == 200
            assert (await http.get(f"{plain.url}/c")).status_code == 200
            assert (await http.get(f"{secure.url}/d")).status_code == 200
    assert len(made) == 1
    assert [r.target for r in plain.received] == ["/a", "/c"] and plain.connections == 1
    assert [r.target for r in secure.received] == ["/b", "/d"] and secure.connections == 1
