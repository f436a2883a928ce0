"""The README stays true: every setting is documented, and CI runs the README's test command."""

from __future__ import annotations

from pathlib import Path

from membrane_mcp.cli import _env_name
from membrane_mcp.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme():
    missing = [_env_name(name, field) for name, field in Settings.model_fields.items()]
    missing = [env for env in missing if f"`{env}`" not in README]
    assert not missing, f"README lacks these settings: {missing}"


def test_ci_runs_the_readmes_test_command():
    test_line = next(
        line for line in README.splitlines() if "pytest" in line and line.startswith("python3 -m venv")
    )
    command = test_line.split("&&")[-1].strip()
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
