"""The floor: an MCP server on the same `mcp` SDK that does nothing but answer.

`tools/list` returns a fixed list of `--tools` tools (default 6, like search mode's meta tools), or the
tools of `--tools-file` (a JSON list of tool definitions, e.g. exactly the ones membrane-mcp lists, so a
listing of the same size is compared); every `tools/call` returns its arguments as compact JSON text plus
structured content, the way our results are shaped. Served exactly as `membrane-mcp serve` serves
(low-level `Server`, stdio or streamable HTTP under uvicorn with a /healthz route), so the difference to
ours is our own work.

    python -m bench.echo_server [--transport stdio|http] [--port N] [--tools N | --tools-file PATH] [--our-stdio]

`--our-stdio` serves stdio over membrane-mcp's own transport (membrane_mcp/server/stdio_wire.py, asyncio
pipes) instead of the SDK's `stdio_server` (a worker thread per read and per write): the floor of our
transport, reported beside the SDK's in figure 3.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import anyio

SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "What to echo back."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
    },
    "required": ["query"],
}


def build(tools: int, tools_file: Path | None = None) -> Any:
    from mcp import types
    from mcp.server import Server

    if tools_file is not None:
        listed = [types.Tool.model_validate(tool) for tool in json.loads(tools_file.read_text("utf-8"))]
    else:
        listed = [
            types.Tool(
                name=f"echo_{i}", description=f"Echo number {i}: returns its arguments.", input_schema=SCHEMA
            )
            for i in range(tools)
        ]

    async def on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        structured = {"echo": params.arguments or {}}
        text = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=structured
        )

    return Server("echo", version="0", on_list_tools=on_list_tools, on_call_tool=on_call_tool)


async def serve_stdio(tools: int, tools_file: Path | None = None, our_stdio: bool = False) -> None:
    from mcp.server.lowlevel.server import NotificationOptions
    from mcp.server.stdio import stdio_server

    server = build(tools, tools_file)
    if our_stdio:
        from membrane_mcp.server.stdio import StdinMessages, StdoutMessages
        from membrane_mcp.server.stdio_wire import stdio_lines

        async with stdio_lines() as (stdin, stdout):
            answers = StdoutMessages(stdout)
            options = server.create_initialization_options(NotificationOptions())
            await server.run(StdinMessages(stdin, answers), answers, options)
        return
    async with stdio_server() as (read_stream, write_stream):
        await server.run(
            read_stream, write_stream, server.create_initialization_options(NotificationOptions())
        )


async def serve_http(tools: int, port: int, tools_file: Path | None = None) -> None:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = build(tools, tools_file).streamable_http_app(
        streamable_http_path="/mcp", host="127.0.0.1", custom_starlette_routes=[Route("/healthz", healthz)]
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    await uvicorn.Server(config).serve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_server", description=__doc__)
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tools", type=int, default=6)
    parser.add_argument(
        "--tools-file", type=Path, default=None, help="JSON list of tool definitions to list instead"
    )
    parser.add_argument("--our-stdio", action="store_true", help="stdio over membrane-mcp's own transport")
    args = parser.parse_args(argv)
    if args.transport == "stdio":
        anyio.run(serve_stdio, args.tools, args.tools_file, args.our_stdio)
    else:
        anyio.run(serve_http, args.tools, args.port, args.tools_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
