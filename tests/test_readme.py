"""The README stays true: settings documented, commands that parse as written, CI runs its test command,
the venv is used one way, and no link leaves the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from membrane_mcp.cli import _env_name, build_parser
from membrane_mcp.settings import Settings

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
