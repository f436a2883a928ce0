"""Serving over stdio: stdout carries protocol only."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator
from io import TextIOWrapper
from typing import TYPE_CHECKING, Any, cast

import anyio
import mcp_types
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from membrane_mcp.observability import observe_server
from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.server.banner import log_banner_when_loaded, log_serving
from membrane_mcp.server.request_ids import has_invalid_id
from membrane_mcp.settings import Settings

if TYPE_CHECKING:
    from membrane_mcp.tools.gateway import Gateway

logger = logging.getLogger(__name__)

IDLE_LOAD_SECONDS = 2.0
SETTLE_SECONDS = 0.05


async def run_stdio(settings: Settings) -> None:
    async with open_gateway(settings) as gateway:
        server = observe_server(build_server(gateway), gateway, settings)
        options = server.create_initialization_options(NotificationOptions(tools_changed=True))
        rejected_writer, rejected = anyio.create_memory_object_stream[mcp_types.JSONRPCError](64)
        stdin = RequestsWithValidIds(_stdin_lines(), rejected_writer)
        async with (
            stdio_server(stdin=cast(Any, stdin)) as (raw_read_stream, write_stream),
            anyio.create_task_group() as group,
        ):
            # A stray print() must not reach the wire: the SDK has claimed fd 1, point sys.stdout at stderr too.
            real_stdout, sys.stdout = sys.stdout, sys.stderr
            try:
                log_serving(gateway, "stdio")
                answers = FirstSendSignal(write_stream)
                group.start_soon(_load_after_first_answer, answers.sent, gateway)
                group.start_soon(_answer_rejected, rejected, write_stream)
                read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
                group.start_soon(answer_unreadable_lines, raw_read_stream, read_writer, write_stream)
                await server.run(read_stream, cast(Any, answers), options)
                group.cancel_scope.cancel()
            finally:
                sys.stdout = real_stdout


async def _load_after_first_answer(first_answer: anyio.Event, gateway: Gateway) -> None:
    """Load the catalog (and log the banner) once the first answer, the handshake's, is on the wire.

    Loading it sooner (and, with --sandbox, starting the sandbox, which the first request does) competes
    with the handshake for the interpreter, and a client's first tools/list loads it anyway if it comes
    first. The SDK's writer writes the answer from worker threads after taking it: `SETTLE_SECONDS` lets
    it finish. Without any request for `IDLE_LOAD_SECONDS` (a person at a terminal), it loads anyway.
    """
    with anyio.move_on_after(IDLE_LOAD_SECONDS):
        await first_answer.wait()
        await anyio.sleep(SETTLE_SECONDS)
    await log_banner_when_loaded(gateway, "stdio", announce=False)


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


class _StdinText(TextIOWrapper):
    """stdin as UTF-8 text; closing it leaves sys.stdin's buffer alone."""

    def close(self) -> None:
        try:
            self.detach()
        except ValueError:
            pass


def _stdin_lines() -> Any:
    return anyio.wrap_file(_StdinText(sys.stdin.buffer, encoding="utf-8", errors="replace"))


class RequestsWithValidIds:
    """The lines of stdin, minus requests whose ``id`` is neither a string nor an integer.

    The SDK reads such a request as a notification and answers nothing, so the client would wait until
    its timeout; each is answered here with -32600 and a null id instead.
    """

    def __init__(self, lines: Any, rejected: Any) -> None:
        self.lines = lines
        self.rejected = rejected

    async def __aiter__(self) -> AsyncIterator[str]:
        async with self.rejected:
            async for line in self.lines:
                if '"id"' in line and _has_invalid_id(line):
                    logger.warning(
                        "request with an invalid id type on stdin: answered with JSON-RPC error -32600"
                    )
                    error = mcp_types.ErrorData(
                        code=mcp_types.INVALID_REQUEST,
                        message="Invalid request: 'id' must be a string or an integer",
                    )
                    await self.rejected.send(mcp_types.JSONRPCError(jsonrpc="2.0", id=None, error=error))
                    continue
                yield line


def _has_invalid_id(line: str) -> bool:
    try:
        return has_invalid_id(json.loads(line))
    except (ValueError, RecursionError):
        return False  # the SDK answers a parse error


async def _answer_rejected(rejected: Any, write_stream: Any) -> None:
    async with rejected:
        async for error in rejected:
            await write_stream.send(SessionMessage(error))


async def answer_unreadable_lines(source: Any, sink: Any, write_stream: Any) -> None:
    """Pass messages on; answer a line that is not a JSON-RPC message with a JSON-RPC error.

    The SDK only logs such a line, so a client waiting on that request id would hang until its timeout.
    """
    async with sink:
        async for item in source:
            if not isinstance(item, Exception):
                await sink.send(item)
                continue
            code, message, request_id = _describe_unreadable(item)
            logger.warning("unreadable message on stdin (%s): answered with JSON-RPC error %d", message, code)
            error = mcp_types.JSONRPCError(
                jsonrpc="2.0", id=request_id, error=mcp_types.ErrorData(code=code, message=message)
            )
            await write_stream.send(SessionMessage(error))


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
