"""The `membrane-mcp` command: serve, sandbox, tools, call, config.

Every setting is a flag here and an environment variable (see settings.py); flags
win. Secrets (tokens, the workspace secret) are environment-only, so they never show
in a process list or a shell history. Output meant for people goes to stdout only in
the commands that print results (tools, call, config); `serve` keeps stdout for the
protocol and logs to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from membrane_mcp import __version__
from membrane_mcp.settings import Settings

ENV_ONLY_FIELDS = frozenset({"token", "workspace_secret", "auth_tokens"})


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _is_bool(annotation: Any) -> bool:
    return annotation is bool


def _choices(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return [str(choice) for choice in typing.get_args(annotation)]
    return None


def _is_secret(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    return annotation is SecretStr or SecretStr in args


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (each also an environment variable)")
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if name in ENV_ONLY_FIELDS or _is_secret(annotation):
            continue
        env = _env_name(name, field)
        help_text = (field.description or "") + f" [env {env}]"
        if _is_bool(annotation):
            group.add_argument(
                _flag(name), dest=name, action="store_true", default=argparse.SUPPRESS, help=help_text
            )
            continue
        choices = _choices(annotation)
        metavar = "A,B" if typing.get_origin(_strip_annotated(annotation)) is list else None
        group.add_argument(
            _flag(name),
            dest=name,
            default=argparse.SUPPRESS,
            choices=choices,
            metavar=metavar,
            help=help_text,
        )


def _strip_annotated(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _env_name(name: str, field: Any) -> str:
    alias = field.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        upper = [c for c in choices if isinstance(c, str) and c.isupper()]
        if upper:
            return upper[0]
    return f"MEMBRANE_MCP_{name.upper()}"


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {name: getattr(args, name) for name in Settings.model_fields if hasattr(args, name)}
    return Settings(**overrides)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The SDK's and httpx's per-request lines would drown the banner at INFO.
    for noisy in ("httpx", "httpcore", "mcp", "uvicorn.access", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="membrane-mcp", description="MCP server for Membrane-connected business apps."
    )
    parser.add_argument("--version", action="version", version=f"membrane-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve MCP over stdio (default) or streamable HTTP")
    add_settings_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    sandbox = commands.add_parser("sandbox", help="serve the local Membrane sandbox API on its own")
    import membrane_sandbox

    membrane_sandbox.add_arguments(sandbox)
    sandbox.set_defaults(func=membrane_sandbox.run)

    tools = commands.add_parser("tools", help="print the tools an agent would see")
    add_settings_arguments(tools)
    tools.add_argument("--json", action="store_true", help="print the tools/list result as JSON")
    tools.set_defaults(func=cmd_tools)

    call = commands.add_parser("call", help="run one tool and print its result")
    add_settings_arguments(call)
    call.add_argument("tool", help="tool name, e.g. search_actions or vtiger_query_records")
    call.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="K=V",
        help="an argument (V parsed as JSON if it can be)",
    )
    call.add_argument("--json-args", metavar="JSON", help="all arguments as one JSON object")
    call.set_defaults(func=cmd_call)

    config = commands.add_parser("config", help="print host configuration snippets")
    config.add_argument("host", choices=["claude-desktop"], help="which host")
    add_settings_arguments(config)
    config.set_defaults(func=cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"membrane-mcp: invalid setting: {problems}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int = 2) -> int:
    print(f"membrane-mcp: {message}", file=sys.stderr)
    return code


def cmd_serve(args: argparse.Namespace) -> int:
    import anyio

    from membrane_mcp.server.backend import ConfigurationError

    settings = settings_from(args)
    configure_logging(settings.log_level)
    problem = startup_problem(settings)
    if problem:
        return _fail(problem)
    try:
        if settings.transport == "http":
            from membrane_mcp.server.http import run_http

            anyio.run(run_http, settings)
        else:
            from membrane_mcp.server.stdio import run_stdio

            anyio.run(run_stdio, settings)
    except ConfigurationError as exc:
        return _fail(str(exc))
    return 0


def startup_problem(settings: Settings) -> str | None:
    """Settings that must stop the server before it starts, with the reason in one line."""
    if not settings.sandbox and not settings.has_credentials:
        return (
            "no Membrane credentials: set MEMBRANE_TOKEN (or MEMBRANE_WORKSPACE_KEY, MEMBRANE_WORKSPACE_SECRET "
            "and MEMBRANE_TENANT_KEY), or add --sandbox to run on the local sandbox"
        )
    if settings.sandbox and settings.sandbox_db is not None and not settings.sandbox_db.parent.is_dir():
        return f"--sandbox-db: the folder {settings.sandbox_db.parent} does not exist"
    return safety_problem(settings)


def safety_problem(settings: Settings) -> str | None:
    from membrane_mcp.tools.policy import policy_from_settings

    try:
        policy_from_settings(raw_methods=settings.raw_methods, raw_allow_host=settings.raw_allow_host)
    except ValueError as exc:
        return str(exc)
    if settings.transport == "http":
        from membrane_mcp.server.http import http_startup_problem

        return http_startup_problem(settings)
    return None


def parse_call_arguments(pairs: Sequence[str], json_args: str | None) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if json_args:
        loaded = json.loads(json_args)
        if not isinstance(loaded, dict):
            raise ValueError("--json-args must be a JSON object")
        arguments.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--arg takes K=V, got {pair!r}")
        try:
            arguments[key] = json.loads(raw)
        except ValueError:
            arguments[key] = raw
    return arguments


async def _with_client(settings: Settings, work: Any) -> Any:
    from mcp import Client

    from membrane_mcp.server.app import build_server
    from membrane_mcp.server.backend import open_gateway

    async with open_gateway(settings) as gateway, Client(build_server(gateway)) as client:
        return await work(client)


def cmd_tools(args: argparse.Namespace) -> int:
    import anyio

    settings = settings_from(args)
    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
    if problem := startup_problem(settings):
        return _fail(problem)

    async def work(client: Any) -> Any:
        return await client.list_tools()

    result = anyio.run(_with_client, settings, work)
    if args.json:
        print(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2))
        return 0
    print(format_tool_table(result.tools))
    return 0


def format_tool_table(tools: Sequence[Any]) -> str:
    rows = [("TOOL", "HINTS", "TITLE")]
    for tool in tools:
        hints = tool.annotations
        flags = "".join(
            flag
            for flag, on in (
                ("R", hints and hints.read_only_hint),
                ("D", hints and hints.destructive_hint),
                ("I", hints and hints.idempotent_hint),
            )
            if on
        )
        rows.append((tool.name, flags or "-", tool.title or (hints.title if hints else "") or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}" for r in rows]
    lines.append(f"\n{len(tools)} tools. Hints: R read-only, D destructive, I idempotent.")
    return "\n".join(lines)


def cmd_call(args: argparse.Namespace) -> int:
    import anyio

    settings = settings_from(args)
    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
    if problem := startup_problem(settings):
        return _fail(problem)
    try:
        arguments = parse_call_arguments(args.arg, args.json_args)
    except ValueError as exc:
        return _fail(str(exc))

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        shown = f"{progress:.0f}/{total:.0f}" if total else f"{progress:.0f}"
        print(f"[progress {shown}] {message or ''}", file=sys.stderr, flush=True)

    async def work(client: Any) -> Any:
        return await client.call_tool(args.tool, arguments, progress_callback=progress)

    from mcp.shared.exceptions import MCPError

    try:
        result = anyio.run(_with_client, settings, work)
    except MCPError as exc:
        return _fail(str(exc))
    payload = result.structured_content
    if payload is None:
        payload = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    print(json.dumps(payload, indent=2, ensure_ascii=False))
    return 1 if result.is_error else 0


def cmd_config(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    server_args = ["-m", "membrane_mcp", "serve"]
    for name in Settings.model_fields:
        if hasattr(args, name):
            value = getattr(args, name)
            if value is True:
                server_args.append(_flag(name))
            elif value not in (False, None):
                server_args += [_flag(name), str(value)]
    env: dict[str, str] = {}
    if not settings.sandbox:
        env["MEMBRANE_TOKEN"] = "<your Membrane token>"
        if settings.api_url != Settings.model_fields["api_url"].default:
            env["MEMBRANE_API_URL"] = settings.api_url
    entry = {"command": str(Path(sys.executable).resolve()), "args": server_args}
    if env:
        entry["env"] = env  # type: ignore[assignment]
    print(json.dumps({"mcpServers": {"membrane": entry}}, indent=2))
    print(
        "Add this to claude_desktop_config.json (Settings > Developer > Edit Config). "
        f"Command line: {shlex.join([entry['command'], *server_args])}",  # type: ignore[list-item]
        file=sys.stderr,
    )
    return 0
