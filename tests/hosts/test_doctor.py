"""`membrane-mcp doctor`: passes on the sandbox, fails with the reason on a wrong token or a connection
that needs the user, warns about host tool limits, and never prints a secret."""

from __future__ import annotations

import httpx
import jwt
import pytest

from membrane_mcp.doctor import Report, describe_token, diagnose
from membrane_mcp.settings import Settings
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread
from tests.hosts.conftest import run_cli
from tests.processes import server_env

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


def test_doctor_passes_on_the_sandbox(cli, clean_home):
    done = cli("doctor", "--sandbox")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Vtiger (vtiger" in done.stdout and "READY, 8 action(s)" in done.stdout
    assert "tool mode search" in done.stdout and "No problems" in done.stdout
    assert "FAIL" not in done.stdout


def test_doctor_warns_about_host_tool_limits_in_direct_mode(cli, clean_home):
    done = cli("doctor", "--sandbox", "--tool-mode", "direct")
    assert done.returncode == 0
    assert "over Cursor's limit" in done.stdout and "over VS Code's limit" in done.stdout


def test_doctor_fails_on_a_wrong_token_with_the_reason_and_without_the_token(sandbox: RunningSandbox):
    wrong = "pat-wrong-0123456789"
    done = run_cli("doctor", env=server_env(sandbox, MEMBRANE_TOKEN=wrong))
    assert done.returncode == 1
    assert "refused the credentials" in done.stdout and "MEMBRANE_TOKEN" in done.stdout
    assert wrong not in done.stdout + done.stderr


def test_doctor_fails_without_credentials(cli, clean_home):
    done = cli("doctor")
    assert done.returncode == 1 and "credentials: none" in done.stdout


def claims_token(**claims: object) -> str:
    return jwt.encode(claims, "a-workspace-secret-of-thirty-two-bytes!", algorithm="HS256")


@pytest.mark.parametrize(
    ("exp", "level", "says"),
    [(NOW - 60, "FAIL", "EXPIRED"), (NOW + 300, "warn", "in 5 min"), (NOW + 7200, "ok", "in 2.0 h")],
)
def test_token_expiry_and_tenant_are_read_from_the_jwt(exp, level, says):
    token = claims_token(workspaceKey="wk-1", tenantKey="acme", exp=exp)
    report = Report()
    describe_token(token, report, now=NOW)
    [(got, text)] = report.findings
    assert got == level and says in text and "tenant acme" in text and "workspace wk-1" in text
    assert token not in text


async def test_a_connection_that_needs_the_user_fails_with_its_url():
    with start_in_thread(SandboxConfig()) as fresh:
        settings = Settings(api_url=fresh.url, token=fresh.token)
        # A connection waiting for the user (connect_app itself leaves none behind: it uses connection requests).
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {fresh.token}"}) as http:
            created = (await http.post(f"{fresh.url}/connections", json={"connectorKey": "vtiger"})).json()
        url = created["clientAction"]["uiUrl"]
        report = await diagnose(settings)
    failing = [text for level, text in report.findings if level == "FAIL"]
    assert (
        len(failing) == 1
        and ("CLIENT_ACTION_REQUIRED" in failing[0] or "DISCONNECTED" in failing[0])
        and url in failing[0]
    )
    assert report.problems == 1
