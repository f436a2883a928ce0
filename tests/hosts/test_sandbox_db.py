"""The sandbox database: one per checkout by default, kept across runs, reset by `sandbox --reset`."""

from __future__ import annotations

import json
from pathlib import Path

from membrane_mcp.settings import Settings, default_sandbox_db, installation_dir
from tests.hosts.conftest import run_cli

CREATE = json.dumps({"connection": "vtiger", "description": "list the open tickets of an account"})


def vtiger_actions(cli, *flags: str) -> int:
    done = cli("call", "list_connections", "--sandbox", *flags)
    assert done.returncode == 0, done.stderr
    connections = json.loads(done.stdout)["connections"]
    return next(c["actions"] for c in connections if c["app"] == "vtiger")


def create_action(cli, *flags: str) -> None:
    done = cli(
        "call", "create_action", "--sandbox", "--sandbox-build-seconds", "0", "--json-args", CREATE, *flags
    )
    assert done.returncode == 0, done.stderr


def test_a_fresh_clone_first_run_shows_vtiger_with_its_eight_actions(cli, clean_home):
    assert (
        vtiger_actions(
            cli,
        )
        == 8
    )


def test_writes_persist_in_this_checkout_until_reset(cli, clean_home):
    create_action(
        cli,
    )
    assert (
        vtiger_actions(
            cli,
        )
        == 9
    )
    database = default_sandbox_db()
    assert database.is_relative_to(clean_home) and database.exists()
    reset = cli("sandbox", "--reset")
    assert reset.returncode == 0 and str(database) in reset.stdout
    assert not database.exists()
    assert (
        vtiger_actions(
            cli,
        )
        == 8
    )


def test_memory_database_keeps_nothing(cli, clean_home):
    create_action(cli, "--sandbox-db", ":memory:")
    assert vtiger_actions(cli, "--sandbox-db", ":memory:") == 8
    assert (
        vtiger_actions(
            cli,
        )
        == 8
    )


def test_each_checkout_has_its_own_database(cli, clean_home, tmp_path):
    first, second = tmp_path / "a" / "membrane-mcp", tmp_path / "b" / "membrane-mcp"
    assert default_sandbox_db(first) != default_sandbox_db(second)
    assert default_sandbox_db(first) == default_sandbox_db(first)  # stable across runs
    assert Settings(sandbox=True).sandbox_db == default_sandbox_db(installation_dir())
    assert Settings().sandbox_db is None  # nothing is created without --sandbox


def test_start_up_shows_the_database_path(cli, clean_home):
    done = run_cli("serve", "--sandbox", "--log-level", "INFO", stdin="")
    assert str(default_sandbox_db()) in done.stderr
    assert "sandbox --reset" in done.stderr


def test_resetting_a_missing_database_changes_nothing(cli, clean_home):
    done = cli("sandbox", "--reset", "--db", str(Path(clean_home) / "other.sqlite3"))
    assert done.returncode == 0 and "nothing to reset" in done.stdout


def test_sandbox_help_names_this_checkouts_database_as_the_default(cli):
    done = cli("sandbox", "--help")
    assert "this checkout's" in " ".join(done.stdout.split()) and "sandbox.sqlite3" not in done.stdout
