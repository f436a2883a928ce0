"""CLI errors are one line that says what to do next (exit 2), unless --debug asks for the traceback."""

from __future__ import annotations

import json
import re
import shlex
import socket

import pytest
from pydantic import ValidationError


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("membrane-mcp: ")
    return lines[0]


def test_unknown_tool_is_one_line_naming_run_action_and_direct_mode(cli, clean_home):
    done = cli("call", "nope", "--sandbox")
    assert done.returncode == 2
    assert done.stdout == ""
    line = one_line(done.stderr)
    assert "'nope'" in line and "run_action" in line and "--tool-mode direct" in line


def test_an_action_tool_hidden_by_search_mode_gets_the_run_action_command_that_works(cli, clean_home):
    done = cli("call", "vtiger_query_records", "--sandbox", "--sandbox-db", ":memory:")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "search mode" in line and "--tool-mode direct" in line
    suggested = re.search(r"`(membrane-mcp call run_action .*?)`", line)
    assert suggested is not None, line
    # The suggestion runs as given (the user's own settings included), once the input is filled in.
    query = json.dumps({"query": "SELECT * FROM Contacts LIMIT 1;"})
    words = shlex.split(suggested.group(1).replace("{...}", query))
    assert words[:3] == ["membrane-mcp", "call", "run_action"]
    ran = cli(*words[1:])
    assert ran.returncode == 0, ran.stderr
    assert len(json.loads(ran.stdout)["output"]["records"]) == 1


def test_an_unknown_tool_suggests_search_actions_with_the_users_own_settings(cli, clean_home):
    done = cli("call", "nope", "--sandbox", "--sandbox-db", ":memory:")
    suggested = re.search(r"`(membrane-mcp call search_actions .*?)`", one_line(done.stderr))
    assert suggested is not None, done.stderr
    words = shlex.split(suggested.group(1).replace("query=...", "query=contacts"))
    ran = cli(*words[1:])
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["results"]


def test_call_help_example_says_action_tools_need_direct_mode(cli):
    done = cli("call", "--help")
    assert "vtiger_query_records" in done.stdout and "--tool-mode direct" in " ".join(done.stdout.split())


def test_port_in_use_is_one_line_with_another_port(cli, clean_home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", "--sandbox", "--transport", "http", "--port", str(port))
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert f"port {port}" in line and "in use" in line and "--port" in line


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--port", "abc"], {}, "--port (MEMBRANE_MCP_PORT) 'abc'"),
        ([], {"MEMBRANE_MCP_TOOL_MODE": "bogus"}, "--tool-mode (MEMBRANE_MCP_TOOL_MODE) 'bogus'"),
        (["--log-level", "loud"], {}, "--log-level (MEMBRANE_MCP_LOG_LEVEL) 'loud'"),
        (["--call-timeout", "-1"], {}, "--call-timeout (MEMBRANE_MCP_CALL_TIMEOUT)"),
    ],
)
def test_bad_setting_values_are_one_line_naming_flag_and_variable(
    cli, clean_home, monkeypatch, args, env, named
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    done = cli("serve", "--sandbox", *args)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert named in line and "membrane-mcp serve --help" in line


def test_debug_and_debug_log_level_show_the_traceback(cli, clean_home, monkeypatch):
    # The exception propagates out of main(), so Python prints its traceback.
    with pytest.raises(ValidationError):
        cli("serve", "--port", "abc", "--debug")
    monkeypatch.setenv("MEMBRANE_MCP_LOG_LEVEL", "DEBUG")
    with pytest.raises(ValidationError):
        cli("serve", "--port", "abc")


def test_bad_json_args_is_one_line(cli, clean_home):
    done = cli("call", "run_action", "--sandbox", "--json-args", "{x")
    assert done.returncode == 2
    assert "--json-args is not valid JSON" in one_line(done.stderr)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve", "--sandox"], "unrecognized arguments: --sandox (did you mean --sandbox?)"),
        (["tools", "--tool-mode", "bogus"], "invalid choice: 'bogus'"),
        (["config", "cursorr"], "invalid choice: 'cursorr'"),
        (["call"], "the following arguments are required: tool"),
    ],
)
def test_usage_errors_are_one_line_with_the_commands_help_not_its_whole_usage(cli, args, says):
    done = cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    line = one_line(done.stderr)
    assert says in line and line.endswith(f"see `membrane-mcp {args[0]} --help`"), line
