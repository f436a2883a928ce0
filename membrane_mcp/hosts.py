"""Host configuration snippets: how Claude Desktop, Claude Code, Cursor and VS Code start us.

Every entry starts the interpreter of the environment that is running now, by its own path
(``sys.executable`` made absolute, never resolved: a virtual environment's ``python`` is a
symlink to the base interpreter, which does not have membrane-mcp installed), with
``-m membrane_mcp serve``. So the entry works from any working directory and with the bare
environment hosts give their servers.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field

HOSTS = ("claude-desktop", "claude-code", "cursor", "vscode")
SERVER_NAME = "membrane"
TOKEN_PLACEHOLDER = "<your Membrane token>"
SECRET_PLACEHOLDER = "<your Membrane workspace secret>"

WHERE_TO_PASTE = {
    "claude-desktop": "Paste into claude_desktop_config.json (Claude Desktop: Settings > Developer > Edit Config), "
    "then restart Claude Desktop.",
    "claude-code": "Run this line in a shell (add --scope user to have it in every project).",
    "cursor": "Paste into ~/.cursor/mcp.json (every project) or .cursor/mcp.json (this project).",
    "vscode": "Paste into .vscode/mcp.json in your workspace (or MCP: Open User Configuration); "
    "VS Code asks for the token once and stores it encrypted.",
}


@dataclass(frozen=True)
class ServerEntry:
    """One stdio server as hosts spell it: command, arguments, environment."""

    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


def interpreter() -> str:
    """The running interpreter's absolute path, symlinks kept (see the module docstring)."""
    return os.path.abspath(sys.executable)


def server_entry(serve_flags: list[str], *, sandbox: bool, workspace_key: bool = False) -> ServerEntry:
    """The entry for ``membrane-mcp serve <serve_flags>``; credentials as placeholders unless on the sandbox."""
    env: dict[str, str] = {}
    if not sandbox:
        if workspace_key:
            env["MEMBRANE_WORKSPACE_SECRET"] = SECRET_PLACEHOLDER
        else:
            env["MEMBRANE_TOKEN"] = TOKEN_PLACEHOLDER
    return ServerEntry(interpreter(), ["-m", "membrane_mcp", "serve", *serve_flags], env)


def render(host: str, entry: ServerEntry) -> str:
    """The snippet for one host, ready to paste (JSON) or run (Claude Code's command line)."""
    if host == "claude-code":
        return claude_code_line(entry)
    if host == "vscode":
        return json.dumps(vscode_config(entry), indent=2)
    stdio: dict[str, object] = {"command": entry.command, "args": entry.args}
    if entry.env:
        stdio["env"] = entry.env
    return json.dumps({"mcpServers": {SERVER_NAME: stdio}}, indent=2)


def claude_code_line(entry: ServerEntry) -> str:
    """``claude mcp add``: options, the name, then ``--`` and the command with its arguments.

    Secrets are read from the shell that runs the line (``"$MEMBRANE_TOKEN"``), so the token never
    has to be typed into it.
    """
    parts = ["claude", "mcp", "add", "--transport", "stdio"]
    for name in entry.env:
        parts += ["--env", f'{name}="${name}"']
    parts += [SERVER_NAME, "--", shlex.quote(entry.command), *map(shlex.quote, entry.args)]
    return " ".join(parts)


def vscode_config(entry: ServerEntry) -> dict[str, object]:
    """VS Code's ``mcp.json``: a ``servers`` map; secrets come from password ``inputs``."""
    inputs = []
    env: dict[str, str] = {}
    for name in entry.env:
        input_id = name.lower().replace("_", "-")
        inputs.append(
            {
                "type": "promptString",
                "id": input_id,
                "description": name.replace("_", " ").title(),
                "password": True,
            }
        )
        env[name] = "${input:" + input_id + "}"
    server: dict[str, object] = {"type": "stdio", "command": entry.command, "args": entry.args}
    if env:
        server["env"] = env
    config: dict[str, object] = {"servers": {SERVER_NAME: server}}
    if inputs:
        config = {"inputs": inputs, **config}
    return config
