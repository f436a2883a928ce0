"""Serving over stdio: stdout carries protocol only."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import AsyncExitStack
from typing import Any, cast

import anyio
import mcp_types
from mcp.server.lowlevel.server import NotificationOptions
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from membrane_mcp.observability import call_observer, observe_server_calls
from membrane_mcp.server.app import build_server
from membrane_mcp.server.pending_gateway import PendingGateway
from membrane_mcp.server.request_ids import has_invalid_id
from membrane_mcp.server.stdio_wire import LineReader, LineWriter, stdio_lines
from membrane_mcp.settings import Settings

logger = logging.getLogger(__name__)

IDLE_LOAD_SECONDS = 2.0
SETTLE_SECONDS = 0.05


async def run_stdio(settings: Settings) -> None:
    """Serve one client on stdin/stdout; the gateway opens once the first answer is out (or sooner, when a
    request needs it): see server/pending_gateway.py."""
    pending = PendingGateway()
    observer = pending.call_observer(lambda: call_observer(pending.catalog, settings))
    server = observe_server_calls(build_server(pending), observer)
    options = server.create_initialization_options(NotificationOptions(tools_changed=True))
    async with stdio_lines() as (stdin, stdout), anyio.create_task_group() as group:
        # A stray print() must not reach the wire: fd 1 is claimed, point sys.stdout at stderr too.
        real_stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            wire = StdoutMessages(stdout)
            answers = FirstSendSignal(wire)
            group.start_soon(_want_after_first_answer, answers.sent, pending)
            group.start_soon(_open_when_wanted, settings, pending, group.cancel_scope)
            await server.run(StdinMessages(stdin, wire), cast(Any, answers), options)
            group.cancel_scope.cancel()
        finally:
            sys.stdout = real_stdout
    pending.raise_if_failed()


async def _want_after_first_answer(first_answer: anyio.Event, pending: PendingGateway) -> None:
    """Open the gateway and load the catalog (logging the banner) once the first answer, the handshake's,
    is on the wire.

    Sooner (importing the tools layer and, with --sandbox, starting the sandbox, which the first request
    does), it competes with the handshake for the interpreter; a client's first request other than
    `initialize` opens it at once. The answer is written by the time its send returns, but the client
    still has to read it: `SETTLE_SECONDS` leaves it the cores (loading at once, with the transport's
    import in a worker thread and the sandbox starting, took start-up from 1.02x to 1.17x the echo
    server's in figure 1). Without any request for `IDLE_LOAD_SECONDS` (a person at a terminal), it
    loads anyway.
    """
    with anyio.move_on_after(IDLE_LOAD_SECONDS):
        await first_answer.wait()
        await anyio.sleep(SETTLE_SECONDS)
    pending.wanted.set()


async def _open_when_wanted(
    settings: Settings, pending: PendingGateway, server_scope: anyio.CancelScope
) -> None:
    """Open the gateway when it is wanted, load the catalog, and keep the gateway open until the server
    stops; if it cannot be opened, stop the server (`run_stdio` then raises why)."""
    await pending.wanted.wait()
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.server.banner import log_banner_when_loaded, log_serving

    gateway_open = AsyncExitStack()
    try:
        gateway = await gateway_open.enter_async_context(open_gateway(settings))
    except Exception as exc:
        pending.failed(exc)
        server_scope.cancel()
        return
    try:
        pending.open(gateway)
        log_serving(gateway, "stdio")
        await log_banner_when_loaded(gateway, "stdio", announce=False)
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):  # the server has stopped: close the gateway all the same
            await gateway_open.aclose()


class FirstSendSignal:
    """The server's write stream, setting `sent` once its first message has been handed to the writer."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sent = anyio.Event()

    async def send(self, item: SessionMessage) -> None:
        await self.inner.send(item)
        self.sent.set()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> FirstSendSignal:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class StdoutMessages:
    """The server's write stream: each message as one line of JSON on stdout."""

    def __init__(self, lines: LineWriter) -> None:
        self._lines = lines
        self._closed = False

    async def send(self, item: SessionMessage) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        text = item.message.model_dump_json(by_alias=True, exclude_unset=True)
        await self._lines.write(text.encode() + b"\n")

    async def aclose(self) -> None:
        self._closed = True

    async def __aenter__(self) -> StdoutMessages:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class StdinMessages:
    """The server's read stream: the JSON-RPC messages on stdin's lines.

    A line that is not a JSON-RPC message, and a request whose id is neither a string nor an integer, is
    answered here with a JSON-RPC error and skipped: the SDK alone logs the first and reads the second as
    a notification, answering nothing, so the client would wait until its timeout.
    """

    def __init__(self, lines: LineReader, answers: StdoutMessages) -> None:
        self._lines = lines
        self._answers = answers
        self._closed = False

    async def receive(self) -> SessionMessage:
        while True:
            if self._closed:
                raise anyio.ClosedResourceError
            line = await self._lines.readline()
            if not line:
                raise anyio.EndOfStream
            read = read_line(line.decode("utf-8", errors="replace"))
            if isinstance(read, SessionMessage):
                return read
            await self._answers.send(SessionMessage(read))

    async def aclose(self) -> None:
        self._closed = True

    def __aiter__(self) -> StdinMessages:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> StdinMessages:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


INVALID_ID = mcp_types.ErrorData(
    code=mcp_types.INVALID_REQUEST, message="Invalid request: 'id' must be a string or an integer"
)


def read_line(text: str) -> SessionMessage | mcp_types.JSONRPCError:
    """The message on a line of stdin, read as the SDK reads it, or the error that answers the line."""
    try:
        # Strictly first: a float or boolean id then fails the request shape, so a well-formed request
        # (nearly every line) needs no second parse to check its id.
        message = mcp_types.jsonrpc_message_adapter.validate_json(text, by_name=False, strict=True)
    except Exception:
        message = None
    if message is not None and not (isinstance(message, mcp_types.JSONRPCNotification) and '"id"' in text):
        return SessionMessage(message)
    if '"id"' in text and _has_invalid_id(text):
        logger.warning("request with an invalid id type on stdin: answered with JSON-RPC error -32600")
        return mcp_types.JSONRPCError(jsonrpc="2.0", id=None, error=INVALID_ID)
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(text, by_name=False))
    except Exception as exc:  # as the SDK's reader: whatever fails to read is an unreadable line
        code, message_text, request_id = _describe_unreadable(exc)
        logger.warning(
            "unreadable message on stdin (%s): answered with JSON-RPC error %d", message_text, code
        )
        error = mcp_types.ErrorData(code=code, message=message_text)
        return mcp_types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


def _has_invalid_id(line: str) -> bool:
    try:
        return has_invalid_id(json.loads(line))
    except (ValueError, RecursionError):
        return False  # unreadable: answered as such


def _describe_unreadable(exc: Exception) -> tuple[int, str, str | int | None]:
    problems = exc.errors() if isinstance(exc, ValidationError) else []
    raw = next((p.get("input") for p in problems if p.get("type") == "json_invalid"), None)
    candidate: Any = None
    if isinstance(raw, str | bytes):
        try:
            # Python's parser is laxer than the SDK's (lone surrogates, ...): enough to recover the id.
            candidate = json.loads(raw)
        except (ValueError, RecursionError):
            return mcp_types.PARSE_ERROR, "Parse error: not valid JSON", None
    else:
        candidate = next((p.get("input") for p in problems if isinstance(p.get("input"), dict)), None)
    request_id = candidate.get("id") if isinstance(candidate, dict) else None
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        request_id = None
    return mcp_types.INVALID_REQUEST, "Invalid request: not a valid JSON-RPC 2.0 message", request_id
