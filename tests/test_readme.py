"""The README stays true: settings documented, commands that parse as written, CI runs its test command,
the venv is used one way, and no link leaves the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from membrane_mcp.cli import _env_name, build_parser
from membrane_mcp.settings import Settings
from membrane_mcp.tools.meta import META_TOOLS
from membrane_mcp.tools.policy import policy_from_settings
from membrane_mcp.tools.services import GatewayConfig

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def bash_lines() -> list[str]:
    """Command lines of the README's bash blocks (continuations joined, heredoc bodies skipped)."""
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        joined = block.replace("\\\n", " ")
        heredoc_end = None
        for line in joined.splitlines():
            if heredoc_end is not None:
                heredoc_end = None if line.strip() == heredoc_end else heredoc_end
                continue
            if match := re.search(r"<<'?(\w+)'?", line):
                heredoc_end = match.group(1)
            if line.strip():
                lines.append(line.strip())
    return lines


def membrane_mcp_commands() -> list[list[str]]:
    commands = []
    for line in bash_lines():
        words = shlex.split(line, comments=True)
        if "membrane-mcp" not in words or words[:2] == ["docker", "build"]:
            continue
        args = [word for word in words[words.index("membrane-mcp") + 1 :] if word != "&"]
        if words[:2] == ["docker", "run"]:  # the image's entrypoint is `membrane-mcp serve ...`
            args = ["serve", *args]
        commands.append(args)
    return commands


def test_every_setting_is_in_the_readme():
    missing = [_env_name(name, field) for name, field in Settings.model_fields.items()]
    missing = [env for env in missing if f"`{env}`" not in README]
    assert not missing, f"README lacks these settings: {missing}"


def test_ci_runs_the_readmes_install_and_test_commands():
    lines = bash_lines()
    assert "python -m pytest -q" in [line.split("#")[0].strip() for line in lines]
    assert ".venv/bin/python -m pytest -q" in CI  # the same command, with the venv activated
    assert any(
        line.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'") for line in lines
    )
    assert "pip install -q -e '.[dev]'" in CI


@pytest.mark.parametrize("args", membrane_mcp_commands(), ids=" ".join)
def test_every_membrane_mcp_command_in_the_readme_parses(args):
    build_parser().parse_args(args)  # exits (fails the test) on an unknown command, flag or value


def test_the_virtual_environment_is_activated_once_and_then_used_as_such():
    lines = bash_lines()
    activation = next(i for i, line in enumerate(lines) if line.startswith("source .venv/bin/activate"))
    assert activation == 1
    assert not [line for line in lines[activation + 1 :] if ".venv/bin/" in line]
    assert len(membrane_mcp_commands()) >= 10


def test_no_link_leaves_the_repository():
    assert "../" not in README
    for target in re.findall(r"\]\(([^)]+)\)", README):
        assert not re.match(r"\w+:", target), f"external link: {target}"
        assert (ROOT / target.split("#")[0]).exists(), f"broken link: {target}"


def test_readme_says_how_long_tests_take_and_how_to_use_a_real_account():
    quick_start = README[README.index("## Quick start") : README.index("## Use it from your agent")]
    assert re.search(r"tests: about \d+ minutes", quick_start)
    assert "## Use your real Membrane account" in README
    account = README[README.index("## Use your real Membrane account") :]
    assert "membrane-mcp doctor" in account and "MEMBRANE_WORKSPACE_SECRET" in account
    assert "docker run" in README


def test_license_is_mit_in_spdx_form_with_its_file():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def readme_tools_table() -> list[tuple[str, str]]:
    """(tool, arguments cell) of each row of the README's table of meta tools."""
    section = README[README.index("## Tools") : README.index("**What a host can auto-approve.**")]
    return re.findall(r"^\| `(\w+)` \| (.*?) \|", section, re.M)


def test_the_tools_table_lists_each_meta_tool_once_with_its_listed_arguments():
    rows = readme_tools_table()
    names = [name for name, _ in rows]
    assert sorted(names) == sorted(META_TOOLS.names), f"each meta tool once: {names}"
    cells = dict(rows)
    for tool in META_TOOLS:
        schema = tool.definition(policy_from_settings(), GatewayConfig()).input_schema
        required = set(schema.get("required", []))
        listed = {name if name in required else f"{name}?" for name in schema.get("properties", {})}
        documented = set(re.findall(r"`(\w+\??)`", cells[tool.name]))
        # A cell ending in an ellipsis names some optional arguments; any other names them all.
        assert documented <= listed and required <= documented, (tool.name, documented, listed)
        assert "…" in cells[tool.name] or documented == listed, (tool.name, documented, listed)


def test_the_read_tools_a_host_may_auto_approve_are_the_read_only_ones():
    approve = README[README.index("**What a host can auto-approve.**") :].split("(`readOnlyHint: true`)")[0]
    named = set(re.findall(r"`(\w+)`", approve))
    listed = [tool.definition(policy_from_settings(), GatewayConfig()) for tool in META_TOOLS]
    read_only = {tool.name for tool in listed if tool.annotations and tool.annotations.read_only_hint}
    assert named == read_only


def test_the_paths_open_without_a_token_are_the_ones_the_readme_names():
    from membrane_mcp.server.auth import OPEN_PATHS

    line = next(line for line in README.splitlines() if "every request except" in line)
    assert set(re.findall(r"`GET (/\w+)`", line)) == set(OPEN_PATHS)


def inline_membrane_mcp_commands() -> list[list[str]]:
    """`membrane-mcp ...` spans in the prose that are whole commands (no [options] or a|b), placeholders filled."""
    fill = {"PATH": "/tmp/sandbox.sqlite3", "N": "2", "HOST": "cursor", "TOOL": "list_connections"}
    commands = []
    for span in sorted(set(re.findall(r"`membrane-mcp ([^`]*)`", README))):
        if not any(mark in span for mark in ("[", "|", "...")):
            commands.append([fill.get(word, word) for word in shlex.split(span)])
    return commands


@pytest.mark.parametrize("args", inline_membrane_mcp_commands(), ids=" ".join)
def test_every_membrane_mcp_command_in_the_prose_parses(args):
    build_parser().parse_args(args)


def test_the_architecture_doc_names_every_meta_tool():
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = architecture[architecture.index("The meta tools (") :].split(")")[0]
    assert sorted(re.findall(r"`(\w+)`", listed)) == sorted(META_TOOLS.names)
