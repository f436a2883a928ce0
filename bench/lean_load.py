"""A lean MCP load generator: the SDK client's HTTP requests replayed over aiohttp, every answer checked.

Figure 4's load generator is the `mcp` SDK's `Client` (one per simulated client) in the bench process.
On two cores shared with the server and the sandbox it needs about a core of its own, so it, not the
server, bounds calls/s, and a second server worker (figure 9) has no core left to use. This one sends
exactly what that client sends in the 2026-07-28 era (same headers in the same order, same JSON bodies
but the request id; `sdk_requests` in tests/bench/test_lean_load.py checks it against a captured run):
`server/discover` and `tools/list` once per client, then the figure's mix. `clients` coroutines share
one aiohttp pool of as many kept-alive connections (the SDK client keeps one each). Each answer must be
HTTP 200 with a JSON-RPC result: no `error`, `isError` false on a tool call, a tool list on tools/list;
anything else counts as an error of that operation.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import anyio

from bench.common import LoadClock, load_summary, note_error

PROTOCOL_VERSION = "2026-07-28"
# What mcp 2.3.0's Client puts in every request's `_meta` (no clientInfo given) and its HTTP headers
# (httpx2 writes the first four, the SDK's streamable HTTP transport the rest); Host and
# Content-Length are written by aiohttp as httpx2 writes them.
CLIENT_META: dict[str, Any] = {
    "io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION,
    "io.modelcontextprotocol/clientInfo": {"name": "mcp", "version": "0.1.0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
BASE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
    ("User-Agent", "python-httpx2/2.16.2"),
    ("accept", "application/json, text/event-stream"),
    ("content-type", "application/json"),
    ("mcp-protocol-version", PROTOCOL_VERSION),
)
# aiohttp's own default headers, not sent: only the ones above are.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

Operation = tuple[str, str | None, dict[str, Any]]  # (name, tool or None for tools/list, arguments)


@dataclass(frozen=True)
class Request:
    """One JSON-RPC request as the SDK client sends it; `body(id)` is its bytes with that request id."""

    method: str
    params: dict[str, Any]
    headers: tuple[tuple[str, str], ...]

    def body(self, request_id: int) -> bytes:
        message = {"jsonrpc": "2.0", "id": request_id, "method": self.method, "params": self.params}
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def request_for(method: str, tool: str | None = None, arguments: dict[str, Any] | None = None) -> Request:
    headers = (*BASE_HEADERS, ("mcp-method", method))
    if tool is None:
        return Request(method, {"_meta": CLIENT_META}, headers)
    params = {"name": tool, "arguments": arguments or {}, "_meta": CLIENT_META}
    return Request(method, params, (*headers, ("mcp-name", tool)))


def operation_request(operation: Operation) -> Request:
    _, tool, arguments = operation
    return request_for("tools/list") if tool is None else request_for("tools/call", tool, arguments)


def answer_problem(request: Request, status: int, body: bytes) -> str | None:
    """Why an answer is not a successful one, in one line; None when it is."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    try:
        message = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    result = message.get("result") if isinstance(message, dict) else None
    if not isinstance(result, dict):
        return f"no result: {str(message)[:200]}"
    if request.method == "tools/call" and result.get("isError") is not False:
        return f"tool error: {str(result.get('content'))[:200]}"
    if request.method == "tools/list" and not isinstance(result.get("tools"), list):
        return "tools/list without tools"
    return None


async def run_load(url: str, clients: int, duration: float, operations: list[Operation]) -> dict[str, Any]:
    """Figure 4's loop (bench/throughput.py `_load`) with these requests: each client says
    server/discover and tools/list, the clock starts once all have, and each then goes round
    `operations` (starting at its own index) until `duration` has passed. Same result shape."""
    import aiohttp

    prepared = [(name, operation_request((name, tool, args))) for name, tool, args in operations]
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in operations}
    errors: dict[str, int] = {name: 0 for name, _, _ in operations}
    samples: list[str] = []
    clock = LoadClock(clients, duration)
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=0)
    async with aiohttp.ClientSession(
        connector=connector,
        skip_auto_headers=_NO_AUTO_HEADERS,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=60),
    ) as session:

        async def send(request: Request, request_id: int) -> str | None:
            async with session.post(url, data=request.body(request_id), headers=request.headers) as response:
                return answer_problem(request, response.status, await response.read())

        async def one_client(index: int) -> None:
            request_id = 0
            for opening in (request_for("server/discover"), request_for("tools/list")):
                request_id += 1
                if problem := await send(opening, request_id):
                    raise RuntimeError(f"{opening.method}: {problem}")
            await clock.arrive()
            step = index
            while clock.running():
                name, request = prepared[step % len(prepared)]
                step += 1
                request_id += 1
                started = time.perf_counter()
                try:
                    problem = await send(request, request_id)
                except Exception as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                if problem is not None:
                    note_error(errors, samples, name, problem)
                    continue
                latencies[name].append(time.perf_counter() - started)

        async with anyio.create_task_group() as group:
            for index in range(clients):
                group.start_soon(one_client, index)
    return load_summary(latencies, errors, samples, clock)
