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
import os
import shlex
import sys
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from membrane_mcp import __version__
from membrane_mcp.cli_errors import first_of, port_in_use_problem, settings_error_line, unexpected_line
from membrane_mcp.settings import Settings, default_sandbox_db

if typing.TYPE_CHECKING:
    from membrane_mcp.tools.gateway import Gateway

ENV_ONLY_FIELDS = frozenset({"token", "workspace_secret", "auth_tokens"})
COMMANDS = ("serve", "sandbox", "tools", "call", "doctor", "config")


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


class OneLineErrorParser(argparse.ArgumentParser):
    """A usage error is one line with the next step, not the command's whole usage (50 lines with the settings)."""

    commands: Mapping[str, argparse.ArgumentParser] = {}
    """Each command's own parser, by name (set on the top-level parser only)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"membrane-mcp: {message}; see `{self.prog} --help`\n")


def build_parser(only: str | None = None) -> OneLineErrorParser:
    """Every command, with its arguments; with `only`, that command alone (the one argv runs: its parse,
    its --help and its errors are the same, and building the other five is most of the parser's cost)."""

    def wanted(command: str) -> bool:
        return only is None or only == command

    parser = OneLineErrorParser(
        prog="membrane-mcp", description="MCP server for Membrane-connected business apps."
    )
    parser.add_argument("--version", action="version", version=f"membrane-mcp {__version__}")
    common = OneLineErrorParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="on an error, show the traceback (as --log-level DEBUG does)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    if wanted("serve"):
        serve = commands.add_parser(
            "serve", parents=[common], help="serve MCP over stdio (default) or streamable HTTP"
        )
        add_settings_arguments(serve)
        serve.set_defaults(func=cmd_serve)

    if wanted("sandbox"):
        import membrane_sandbox

        sandbox = commands.add_parser(
            "sandbox",
            parents=[common],
            help="serve the local Membrane sandbox API on its own",
            conflict_handler="resolve",  # --db below: this command's default is not the sandbox's own
        )
        membrane_sandbox.add_arguments(sandbox)
        sandbox.add_argument(
            "--db",
            default=None,
            metavar="PATH",
            help="SQLite file (default: this checkout's, in the user data dir, the one `serve --sandbox` "
            "uses; ':memory:' for none)",
        )
        sandbox.add_argument(
            "--reset",
            action="store_true",
            help="delete the sandbox database (this checkout's, or --db's) and exit: the next run starts afresh",
        )
        sandbox.set_defaults(func=cmd_sandbox, run_sandbox=membrane_sandbox.run)

    if wanted("tools"):
        tools = commands.add_parser("tools", parents=[common], help="print the tools an agent would see")
        add_settings_arguments(tools)
        tools.add_argument("--json", action="store_true", help="print the tools/list result as JSON")
        tools.set_defaults(func=cmd_tools)

    if wanted("call"):
        call = commands.add_parser("call", parents=[common], help="run one tool and print its result")
        add_settings_arguments(call)
        call.add_argument(
            "tool",
            help="a tool name from `membrane-mcp tools`, e.g. search_actions or run_action; an action tool "
            "such as vtiger_query_records is listed only in direct mode (--tool-mode direct)",
        )
        call.add_argument(
            "--arg",
            action="append",
            default=[],
            metavar="K=V",
            help="an argument (V parsed as JSON if it can be)",
        )
        call.add_argument("--json-args", metavar="JSON", help="all arguments as one JSON object")
        call.set_defaults(func=cmd_call)

    if wanted("doctor"):
        doctor = commands.add_parser(
            "doctor",
            parents=[common],
            help="check credentials, Membrane, connections and tool counts; exit 1 on a problem",
        )
        add_settings_arguments(doctor)
        doctor.set_defaults(func=cmd_doctor)

    if wanted("config"):
        from membrane_mcp.hosts import HOSTS

        config = commands.add_parser(
            "config",
            parents=[common],
            help="print the entry that makes a host (Claude Desktop, Claude Code, ...) start this server",
        )
        # Not `host`: that is the HTTP bind address setting, and would leak into the printed arguments.
        config.add_argument("target", metavar="HOST", choices=HOSTS, help="one of: " + ", ".join(HOSTS))
        add_settings_arguments(config)
        config.set_defaults(func=cmd_config)
    parser.commands = commands.choices
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(_command_in(sys.argv[1:] if argv is None else argv))
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.exit(2, unknown_arguments_line(parser.commands[args.command], unknown) + "\n")
    try:
        return int(args.func(args) or 0)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        if first_of(exc, KeyboardInterrupt) is not None:
            return 130
        if wants_traceback(args):
            raise
        invalid = first_of(exc, ValidationError)
        if isinstance(invalid, ValidationError):
            return _fail(settings_error_line(invalid, args.command))
        return _fail(unexpected_line(exc), 1)


def unknown_arguments_line(command: argparse.ArgumentParser, unknown: list[str]) -> str:
    """Arguments the command does not take, in one line: the closest flag it has, and its --help."""
    import difflib
    import re

    flags = re.findall(r"--[\w-]+", command.format_usage())
    guesses = [
        close[0] for word in unknown if (close := difflib.get_close_matches(word.split("=")[0], flags, 1))
    ]
    hint = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
    prog = command.prog
    return f"membrane-mcp: unrecognized arguments: {' '.join(unknown)}{hint}; see `{prog} --help`"


def _command_in(argv: Sequence[str]) -> str | None:
    """The command `argv` runs (its first word: the top level has no options that take a value)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def wants_traceback(args: argparse.Namespace) -> bool:
    """--debug, or a DEBUG log level from the flag or the environment."""
    level = getattr(args, "log_level", None) or os.environ.get("MEMBRANE_MCP_LOG_LEVEL", "")
    return bool(getattr(args, "debug", False)) or str(level).upper() == "DEBUG"


def _fail(message: str, code: int = 2) -> int:
    print(f"membrane-mcp: {message}", file=sys.stderr)
    return code


def cmd_sandbox(args: argparse.Namespace) -> int:
    """`membrane-mcp sandbox`: the same database as `serve --sandbox` from this checkout, unless --db."""
    if args.db is None:
        args.db = str(default_sandbox_db())
    if args.reset:
        return reset_sandbox(args.db)
    return int(args.run_sandbox(args))


def reset_sandbox(db: str) -> int:
    if db == ":memory:":
        return _fail("--db :memory: keeps nothing to reset")
    removed = [
        path for path in (Path(db + suffix) for suffix in ("", "-wal", "-shm", "-journal")) if path.exists()
    ]
    for path in removed:
        path.unlink()
    if removed:
        print(f"membrane-mcp: removed the sandbox database {db}; the next run starts from the seeded data")
    else:
        print(f"membrane-mcp: no sandbox database at {db}; nothing to reset")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import anyio

    from membrane_mcp import observability
    from membrane_mcp.server.errors import ConfigurationError

    settings = settings_from(args)
    configure_logging(settings.log_level)
    problem = observability.startup_problem(settings)
    # Observability starts before the checks below import the mcp SDK, whose module-level tracer is then
    # the tracer provider's own instead of the API's proxy (a forwarding layer on every request's span).
    stop_observability = observability.start(settings) if problem is None else _nothing_to_stop
    problem = problem or startup_problem(settings)
    if problem is None and settings.transport == "http":
        problem = port_in_use_problem(settings.host, settings.port)
    if problem:
        stop_observability()
        return _fail(problem)
    if settings.sandbox:
        logging.getLogger("membrane_mcp").info(
            "sandbox database %s (`membrane-mcp sandbox --reset` starts it afresh; --sandbox-db to choose)",
            settings.sandbox_db,
        )
    try:
        if settings.transport == "http":
            from membrane_mcp.server.http import run_http
            from membrane_mcp.server.workers import WorkerExited

            try:
                anyio.run(run_http, settings)
            except WorkerExited as exc:
                return _fail(str(exc), 1)
        else:
            from membrane_mcp.server.stdio import run_stdio

            anyio.run(run_stdio, settings)
    except ConfigurationError as exc:
        return _fail(str(exc))
    finally:
        stop_observability()
    return 0


def _nothing_to_stop() -> None:
    pass


def startup_problem(settings: Settings) -> str | None:
    """Settings that must stop the server before it starts, with the reason in one line."""
    if not settings.sandbox and not settings.has_credentials:
        return (
            "no Membrane credentials: set MEMBRANE_TOKEN (or MEMBRANE_WORKSPACE_KEY, MEMBRANE_WORKSPACE_SECRET "
            "and MEMBRANE_TENANT_KEY), or add --sandbox to run on the local sandbox"
        )
    if settings.sandbox and settings.sandbox_db is not None and not settings.sandbox_db.parent.is_dir():
        return f"--sandbox-db: the folder {settings.sandbox_db.parent} does not exist"
    if settings.workers != 1:
        from membrane_mcp.server.workers import workers_problem

        if problem := workers_problem(settings):
            return problem
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
        try:
            loaded = json.loads(json_args)
        except ValueError as exc:
            raise ValueError(f"--json-args is not valid JSON ({exc}); quote it in single quotes") from exc
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

    from membrane_mcp.observability import observe_server
    from membrane_mcp.server.app import build_server
    from membrane_mcp.server.backend import open_gateway

    # Observed as `serve` observes its calls: a write run here gets its `--audit-log` record too.
    async with (
        open_gateway(settings) as gateway,
        Client(observe_server(build_server(gateway), gateway, settings)) as client,
    ):
        return await work(client, gateway)


def cmd_tools(args: argparse.Namespace) -> int:
    import anyio

    settings = settings_from(args)
    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
    if problem := startup_problem(settings):
        return _fail(problem)

    async def work(client: Any, gateway: Any) -> Any:
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
        # An unset hint means the MCP spec's default: not read-only, destructive, not idempotent.
        read_only = bool(hints and hints.read_only_hint)
        destructive = not read_only and not (hints and hints.destructive_hint is False)
        flags = "".join(
            flag
            for flag, on in (("R", read_only), ("D", destructive), ("I", hints and hints.idempotent_hint))
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
    from membrane_mcp.observability.audit import audit_log_problem

    if problem := startup_problem(settings) or audit_log_problem(settings.audit_log):
        return _fail(problem)
    try:
        arguments = parse_call_arguments(args.arg, args.json_args)
    except ValueError as exc:
        return _fail(str(exc))

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        shown = f"{progress:.0f}/{total:.0f}" if total else f"{progress:.0f}"
        print(f"[progress {shown}] {message or ''}", file=sys.stderr, flush=True)

    from mcp.shared.exceptions import MCPError

    from membrane_mcp.tools.errors import is_not_listed

    async def work(client: Any, gateway: Any) -> Any:
        result = None
        try:
            result = await client.call_tool(args.tool, arguments, progress_callback=progress)
        except MCPError as exc:
            if not str(exc).startswith("Unknown tool"):
                raise
        # An unknown tool, or an action hidden by search mode: the shell command that runs what was meant.
        if result is None or is_not_listed(args.tool, result):
            return UnknownTool(await unknown_tool_line(gateway, args.tool, shell_flags()))
        return result

    def shell_flags() -> str:
        return "".join(f" {shlex.quote(flag)}" for flag in setting_flags(args))

    try:
        result = anyio.run(_with_client, settings, work)
    except BaseException as exc:
        failure = first_of(exc, MCPError)
        if failure is None:
            raise
        return _fail(str(failure))
    if isinstance(result, UnknownTool):
        return _fail(result.line)
    payload = result.structured_content
    if payload is None:
        payload = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    print(json.dumps(payload, indent=2, ensure_ascii=False))
    return 1 if result.is_error else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    import anyio

    from membrane_mcp.doctor import diagnose

    settings = settings_from(args)
    configure_logging(settings.log_level if settings.log_level != "INFO" else "ERROR")
    if problem := safety_problem(settings):
        return _fail(problem)
    report = anyio.run(diagnose, settings)
    print(report.render())
    return 1 if report.problems else 0


@dataclass(frozen=True)
class UnknownTool:
    line: str


async def unknown_tool_line(gateway: Gateway, name: str, flags: str = "") -> str:
    """Why `name` is not a tool here, and how to run what the user meant (one line); `flags`: the settings
    the user gave, repeated in the commands suggested so that they run where the user was."""
    snapshot = await gateway.catalog.snapshot()
    view = gateway.catalog.view(snapshot, None)
    mode = view.mode
    entry = next((e for e in view.allowed if e.name == name), None)
    run_action = (
        "membrane-mcp call run_action"
        + flags.replace("%", "%%")
        + ' --json-args \'{"connection": "%s", "action": "%s", "input": {...}}\''
    )
    if entry is not None and mode == "search":
        allowed = len(view.allowed)
        same_app = [c for c in snapshot.connections if c.app_key == entry.app_key]
        how = run_action % (entry.app_key if len(same_app) == 1 else entry.connection_id, entry.action_key)
        if entry.kind != "read":
            how = how.replace("call run_action", "call run_write_action")
        over = f"over --direct-tool-limit {gateway.config.direct_tool_limit}"
        if allowed <= gateway.config.direct_tool_limit:
            over = f"their tools over --direct-max-bytes {gateway.config.direct_max_bytes}"
        return (
            f"{name} is hidden: the catalog is in search mode ({allowed} actions, {over}), "
            f"which lists meta tools only; run it with `{how}`, "
            f"or add --tool-mode direct"
        )
    hint = "`membrane-mcp tools` lists the tools"
    if mode == "search":
        hint += (
            "; action tools are hidden in search mode: find one with "
            f"`membrane-mcp call search_actions{flags} --arg query=...` and run it with `"
            + run_action
            % ("...", "...")
            + "`, "
            "or add --tool-mode direct"
        )
    return f"no tool named {name!r} ({hint})"


def setting_flags(args: argparse.Namespace) -> list[str]:
    """The setting flags given on the command line, as arguments that give them again."""
    flags: list[str] = []
    for name in Settings.model_fields:
        if not hasattr(args, name):
            continue
        value = getattr(args, name)
        if value is True:
            flags.append(_flag(name))
        elif value not in (False, None):
            flags += [_flag(name), str(value)]
    return flags


def cmd_config(args: argparse.Namespace) -> int:
    from membrane_mcp.hosts import WHERE_TO_PASTE, render, server_entry

    settings_from(args)  # reject bad values before printing anything
    serve_flags = setting_flags(args)
    entry = server_entry(
        serve_flags,
        sandbox=getattr(args, "sandbox", False),
        workspace_key=getattr(args, "workspace_key", None) is not None,
    )
    print(render(args.target, entry))
    print(WHERE_TO_PASTE[args.target], file=sys.stderr)
    return 0
