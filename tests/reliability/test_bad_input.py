"""Bad input on the wire: every request gets a JSON-RPC error or an isError result, and the server
keeps serving. Over a stdio subprocess (raw lines) and over HTTP (raw POSTs)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from membrane_sandbox.serve import RunningSandbox
from tests.reliability.conftest import server_env, start_http_server, stop_process

HANDSHAKE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}


def call(request_id: int, name: Any, arguments: Any) -> str:
    params = {"name": name, "arguments": arguments}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})


NESTED = "[" * 100_000 + "]" * 100_000

# (request id the answer must carry, or None when it cannot be known; the raw line; what is expected)
CASES: list[tuple[str, int | None, str, str]] = [
    ("malformed JSON", None, '{"jsonrpc": "2.0", "id": 1, "method": ', "error:-32700"),
    (
        "a batch (not in this protocol)",
        None,
        '[{"jsonrpc": "2.0", "id": 2, "method": "ping"}]',
        "error:-32600",
    ),
    ("no jsonrpc member", 3, '{"id": 3, "method": "ping"}', "error:-32600"),
    ("unknown method", 4, '{"jsonrpc": "2.0", "id": 4, "method": "tools/explode"}', "error:-32601"),
    ("tool name of the wrong type", 5, call(5, 123, {}), "error:-32602"),
    ("arguments of the wrong type", 6, call(6, "run_action", "not an object"), "error:-32602"),
    ("unknown tool", 7, call(7, "no_such_tool", {}), "error:-32602"),
    ("argument of the wrong type", 8, call(8, "search_actions", {"query": 42}), "isError"),
    ("10 MB argument", 9, call(9, "search_actions", {"query": "x" * 10_000_000}), "isError"),
    (
        "10 MB action input",
        10,
        call(
            10,
            "run_action",
            {"connection": "vtiger", "action": "list-modules", "input": {"blob": "y" * 10_000_000}},
        ),
        "isError",
    ),
    (
        "deeply nested JSON",
        None,
        call(11, "run_action", {"connection": "vtiger", "action": "x"})[:-2]
        + ', "input": {"a": '
        + NESTED
        + "}}}",
        "error:-32700",
    ),
    ("lone surrogate", 12, call(12, "search_actions", {"query": "\ud800 leads"}), "error:-32600"),
    (
        "odd but valid Unicode",
        13,
        call(13, "search_actions", {"query": "\u202e\u200b\u0000 🧨 \ufdfd \uff2c\uff45\uff41\uff44\uff53"}),
        "result",
    ),
    (
        "Unicode tool name",
        14,
        call(14, "\uff52\uff55\uff4e\uff3f\uff41\uff43\uff54\uff49\uff4f\uff4e\u0000", {}),
        "error:-32602",
    ),
    (
        "invalid cursor",
        15,
        '{"jsonrpc": "2.0", "id": 15, "method": "tools/list", "params": {"cursor": "not-a-cursor"}}',
        "error:-32602",
    ),
]


def check(answer: dict[str, Any], expected: str) -> None:
    kind, _, code = expected.partition(":")
    if kind == "error":
        assert "error" in answer and answer["error"]["code"] == int(code), answer
    elif kind == "isError":
        assert answer.get("result", {}).get("isError") is True, str(answer)[:500]
    else:
        assert "result" in answer and not answer["result"].get("isError"), str(answer)[:500]


class RawStdio:
    def __init__(self, running: RunningSandbox) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "membrane_mcp", "serve", "--apps", "vtiger"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=server_env(running),
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            self.lines.put(line)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode("utf-8", "surrogatepass") + b"\n")
        self.process.stdin.flush()

    def answers(self, *ids: int | None, within: float = 30) -> dict[int | None, dict[str, Any]]:
        """The answers to these request ids (None: an error whose id could not be known), in any order."""
        found: dict[int | None, dict[str, Any]] = {}
        deadline = time.monotonic() + within  # bounds a wait for answers (a hang), measures nothing
        while time.monotonic() < deadline and set(ids) - set(found):
            try:
                message = json.loads(self.lines.get(timeout=0.2))
            except queue.Empty:
                continue
            if "result" in message or "error" in message:
                assert message.get("id") not in found, f"two answers to {message.get('id')}"
                found[message.get("id")] = message
        assert not set(ids) - set(found), (
            f"no answer to {set(ids) - set(found)} within {within} s; got {found}"
        )
        return found

    def close(self) -> None:
        stop_process(self.process)  # type: ignore[arg-type]


@pytest.fixture
def stdio_server(faulty_sandbox: RunningSandbox) -> Iterator[RawStdio]:
    server = RawStdio(faulty_sandbox)
    try:
        server.send(json.dumps(HANDSHAKE))
        server.answers(0)
        server.send('{"jsonrpc": "2.0", "method": "notifications/initialized"}')
        yield server
    finally:
        server.close()


def test_stdio_answers_every_bad_line_and_keeps_serving(stdio_server: RawStdio) -> None:
    for index, (label, request_id, line, expected) in enumerate(CASES):
        ping_id = 1000 + index
        stdio_server.send(line)
        stdio_server.send(json.dumps({"jsonrpc": "2.0", "id": ping_id, "method": "ping"}))
        found = stdio_server.answers(request_id, ping_id)
        check(found[request_id], expected)
        assert found[ping_id] == {"jsonrpc": "2.0", "id": ping_id, "result": {}}, label
    stdio_server.send(call(2000, "list_connections", {}))
    final = stdio_server.answers(2000)[2000]
    assert final["result"]["structuredContent"]["connections"][0]["app"] == "vtiger"


# ---- HTTP ------------------------------------------------------------------------------------------


@pytest.fixture
def http_server(faulty_sandbox: RunningSandbox) -> Iterator[str]:
    process, url = start_http_server(faulty_sandbox, "--apps", "vtiger")
    try:
        yield f"{url}/mcp"
    finally:
        stop_process(process)


def _messages(response: httpx.Response) -> list[dict[str, Any]]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return [
            json.loads(line[5:])
            for line in response.text.splitlines()
            if line.startswith("data:") and line[5:].strip()
        ]
    return [response.json()] if response.content else []


def test_http_answers_every_bad_post_and_keeps_serving(http_server: str) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    with httpx.Client(timeout=60) as http:
        opened = http.post(http_server, content=json.dumps(HANDSHAKE), headers=headers)
        assert opened.status_code == 200
        headers["Mcp-Session-Id"] = opened.headers["mcp-session-id"]
        headers["MCP-Protocol-Version"] = "2025-11-25"
        initialized = http.post(
            http_server, content='{"jsonrpc": "2.0", "method": "notifications/initialized"}', headers=headers
        )
        assert initialized.status_code == 202
        for index, (label, _request_id, line, expected) in enumerate(CASES):
            response = http.post(http_server, content=line.encode("utf-8", "surrogatepass"), headers=headers)
            assert response.status_code < 500, (label, response.status_code, response.text[:300])
            if response.status_code == 413:  # the SDK's 4 MiB body cap, checked before parsing
                assert len(line) > 4 * 1024 * 1024 and "too large" in response.text, label
                messages = []
            else:
                messages = _messages(response)
            if response.status_code == 413:
                pass
            elif (
                response.status_code >= 400
            ):  # refused at the HTTP layer: the body must still be a JSON-RPC error
                assert messages and "error" in messages[0], (label, response.status_code, response.text[:300])
            else:
                assert len(messages) == 1, (label, response.text[:300])
                check(messages[0], expected)
            ping = http.post(
                http_server,
                content=json.dumps({"jsonrpc": "2.0", "id": 1000 + index, "method": "ping"}),
                headers=headers,
            )
            assert _messages(ping) == [{"jsonrpc": "2.0", "id": 1000 + index, "result": {}}], label
        final = http.post(http_server, content=call(2000, "list_connections", {}), headers=headers)
    assert _messages(final)[0]["result"]["structuredContent"]["connections"][0]["app"] == "vtiger"
