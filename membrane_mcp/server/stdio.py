"""Serving over stdio: stdout carries protocol only."""

from __future__ import annotations

import logging
import sys

import anyio
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.stdio import stdio_server

from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.server.banner import log_banner_when_loaded
from membrane_mcp.settings import Settings

logger = logging.getLogger(__name__)


async def run_stdio(settings: Settings) -> None:
    async with open_gateway(settings) as gateway:
        server = build_server(gateway)
        options = server.create_initialization_options(NotificationOptions(tools_changed=True))
        async with stdio_server() as (read_stream, write_stream), anyio.create_task_group() as group:
            # A stray print() must not reach the wire: the SDK has claimed fd 1, point sys.stdout at stderr too.
            real_stdout, sys.stdout = sys.stdout, sys.stderr
            try:
                group.start_soon(log_banner_when_loaded, gateway, "stdio")
                await server.run(read_stream, write_stream, options)
                group.cancel_scope.cancel()
            finally:
                sys.stdout = real_stdout
