"""Serving over stdio: stdout carries protocol only."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import anyio
import mcp_types
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.server.banner import log_banner_when_loaded
from membrane_mcp.settings import Settings

logger = logging.getLogger(__name__)


async def run_stdio(settings: Settings) -> None:
    async with open_gateway(settings) as gateway:
        server = build_server(gateway)
        options = server.create_initialization_options(NotificationOptions(tools_changed=True))
        async with stdio_server() as (raw_read_stream, write_stream), anyio.create_task_group() as group:
            # A stray print() must not reach the wire: the SDK has claimed fd 1, point sys.stdout at stderr too.
            real_stdout, sys.stdout = sys.stdout, sys.stderr
            try:
                group.start_soon(log_banner_when_loaded, gateway, "stdio")
                read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
                group.start_soon(answer_unreadable_lines, raw_read_stream, read_writer, write_stream)
                await server.run(read_stream, write_stream, options)
                group.cancel_scope.cancel()
            finally:
                sys.stdout = real_stdout


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
