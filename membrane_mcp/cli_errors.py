"""What went wrong, in one line with the next step: the CLI's error messages.

A traceback is for us, not for the user: the CLI prints these lines (exit status 2 for a usage
problem, 1 for anything else) unless ``--debug`` or ``--log-level DEBUG`` asks for the traceback.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from membrane_mcp.settings import Settings


def leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, as task groups wrap them; else ``exc`` itself."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from leaves(inner)
    else:
        yield exc


def first_of(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((leaf for leaf in leaves(exc) if isinstance(leaf, kind)), None)


def _setting_names(loc: tuple[Any, ...]) -> tuple[str, str] | None:
    """(flag, environment variable) of the setting a validation error is about."""
    from membrane_mcp.cli import _env_name, _flag

    key = str(loc[0]) if loc else ""
    for name, field in Settings.model_fields.items():
        if key == name or key == _env_name(name, field) or key.lower() == name:
            return _flag(name), _env_name(name, field)
    return None


def settings_error_line(exc: ValidationError, command: str) -> str:
    """``invalid value for --port (MEMBRANE_MCP_PORT): 'abc' is not ...; see membrane-mcp serve --help``."""
    problems = []
    for error in exc.errors():
        names = _setting_names(tuple(error["loc"]))
        where = f"{names[0]} ({names[1]})" if names else ".".join(map(str, error["loc"]))
        secret = names is not None and names[1] in ("MEMBRANE_TOKEN", "MEMBRANE_WORKSPACE_SECRET")
        shown = "" if secret else f" {error.get('input')!r}"
        message = error["msg"].removeprefix("Value error, ").rstrip(".")
        problems.append(f"{where}{shown}: {message}")
    return f"invalid value for {'; '.join(problems)}; see `membrane-mcp {command} --help`"


def port_in_use_problem(host: str, port: int) -> str | None:
    """Why serving HTTP on host:port cannot start, if the port is taken; checked before anything starts."""
    if port == 0:
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another `membrane-mcp serve`?): stop that "
                    f"process, or pick a free port with --port {port + 1}"
                )
            if exc.errno == errno.EACCES:
                return f"not allowed to listen on port {port}: pick a port above 1023 with --port 8000"
            return f"cannot listen on {host}:{port} ({exc.strerror}): check --host and --port"
    return None


def unexpected_line(exc: BaseException) -> str:
    leaf = next(leaves(exc))
    return f"{type(leaf).__name__}: {leaf} (run again with --debug for the traceback)"
