"""Sandbox profiles: the shapes of a real Membrane workspace (docs/membrane-api.md, the corrections),
and the main flows of a client that copes with them, on every profile."""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from membrane_sandbox.config import PROFILES, QUIRKS, SandboxConfig
from membrane_sandbox.serve import RunningSandbox, add_arguments, config_from_args

from .conftest import client_for

Start = Callable[..., RunningSandbox]


def workspace_token(sandbox: RunningSandbox) -> str:
    """A manager token: signed with the workspace secret, no tenant claim."""
    claims = {"iss": sandbox.config.workspace_key, "exp": int(time.time()) + 600}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, sandbox.config.workspace_secret, algorithm="HS256")


def app_key(client: httpx.Client, connection: dict[str, Any]) -> str:
    """What a robust client does: integration.key, else the integration by id."""
    if "integration" in connection:
        return str(connection["integration"]["key"])
    return str(client.get(f"/integrations/{connection['integrationId']}").json()["key"])


def is_ready(connection: dict[str, Any]) -> bool:
    if "state" in connection:
        return bool(connection["state"] == "READY")
    return connection["disconnected"] is False


def actions_of(client: httpx.Client, connection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Connection-level actions plus the integration-level ones, by key (connection level wins)."""
    by_key = {
        a["key"]: a
        for a in client.get("/actions", params={"integrationId": connection["integrationId"]}).json()["items"]
    }
    by_key |= {
        a["key"]: a for a in client.get("/actions", params={"connectionId": connection["id"]}).json()["items"]
    }
    return by_key


def test_profiles_and_their_flag() -> None:
    assert set(PROFILES) == {"classic", "shapes", "strict", *QUIRKS}
    assert set(PROFILES["strict"]) == set(QUIRKS) and PROFILES["classic"] == ()
    assert set(PROFILES["shapes"]) == set(QUIRKS) - {"tenant-cannot-create-actions"}
    assert SandboxConfig().profile == "shapes"
    with pytest.raises(ValueError, match="unknown sandbox profile 'lax'"):
        SandboxConfig(profile="lax")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert (
        config_from_args(parser.parse_args(["--db", ":memory:", "--profile", "strict"])).profile == "strict"
    )
    assert SandboxConfig(profile="no-retry-after").has("no-retry-after")
    assert not SandboxConfig(profile="no-retry-after").has("no-integration-key")


def test_strict_connections_have_only_what_the_sdk_types_promise(start_sandbox: Start) -> None:
    with client_for(start_sandbox(profile="strict")) as client:
        connections = client.get("/connections").json()["items"]
        assert len(connections) == 3
        for connection in connections:
            assert "integrationKey" not in connection and "state" not in connection
            assert "connected" not in connection and connection["disconnected"] is False
        assert ["integration" in c for c in connections] == [True, False, True]
        assert [app_key(client, c) for c in connections] == ["vtiger", "1crm", "bigtincan"]
        assert client.get("/integrations/no-such").status_code == 404


def test_strict_lists_actions_at_integration_level_until_the_first_run(start_sandbox: Start) -> None:
    with client_for(start_sandbox(profile="strict")) as client:
        vtiger = client.get("/connections").json()["items"][0]
        assert client.get("/actions", params={"connectionId": vtiger["id"]}).json()["items"] == []
        listed = actions_of(client, vtiger)
        assert "list-contacts" in listed and listed["list-contacts"]["layer"] == "integration"
        run = client.post(
            f"/actions/{listed['list-contacts']['id']}/run",
            params={"connectionId": vtiger["id"]},
            json={"input": {"limit": 1}},
        )
        assert run.status_code == 200 and len(run.json()["output"]["records"]) == 1
        instances = client.get("/actions", params={"connectionId": vtiger["id"]}).json()["items"]
        assert [(a["key"], a["layer"]) for a in instances] == [("list-contacts", "connection")]


def test_strict_refuses_tenant_tokens_creating_actions(start_sandbox: Start) -> None:
    sandbox = start_sandbox(profile="strict")
    with client_for(sandbox) as tenant, client_for(sandbox, workspace_token(sandbox)) as workspace:
        connection_id = tenant.get("/connections").json()["items"][0]["id"]
        body = {"intent": "list open deals", "connectionId": connection_id}
        refused = tenant.post("/actions", json=body)
        assert refused.status_code == 403 and refused.json()["key"] == "access_denied"
        assert "workspace" in refused.json()["message"]
        created = workspace.post("/actions", json=body)
        assert created.status_code == 200 and created.json()["state"] == "BUILDING"


@pytest.mark.parametrize(("profile", "header"), [("classic", "1"), ("strict", None)])
def test_retry_after_on_429_only_outside_strict(
    start_sandbox: Start, profile: str, header: str | None
) -> None:
    with client_for(start_sandbox(profile=profile, rate_limit_rate=1.0, rate_limit_burst=1)) as client:
        limited = client.get("/connections")
    assert limited.status_code == 429 and limited.json()["key"] == "rate_limit_exceeded"
    assert limited.headers.get("retry-after") == header


@pytest.mark.parametrize("profile", list(PROFILES))
def test_main_flows_on_every_profile(start_sandbox: Start, profile: str) -> None:
    """Find each app's connection, list its actions, run one, read the run log, connect a new one."""
    with client_for(start_sandbox(profile=profile)) as client:
        connections = client.get("/connections").json()["items"]
        assert sorted(app_key(client, c) for c in connections) == ["1crm", "bigtincan", "vtiger"]
        assert all(is_ready(c) for c in connections)
        vtiger = next(c for c in connections if app_key(client, c) == "vtiger")
        listed = actions_of(client, vtiger)
        assert {"list-contacts", "get-contact", "create-contact"} <= set(listed)
        created = client.post(
            f"/actions/{listed['create-contact']['id']}/run",
            params={"connectionId": vtiger["id"]},
            json={"input": {"name": "Ada"}},
        )
        assert created.status_code == 200, created.text
        log = client.get(f"/action-run-logs/{created.json()['actionRunId']}").json()
        assert log["status"] == "success" and log["action"]["connectionId"] == vtiger["id"]

        requested = client.post(
            "/connection-requests", json={"integrationId": vtiger["integrationId"]}
        ).json()
        assert httpx.get(requested["url"]).status_code == 200
        done = client.get(f"/connection-requests/{requested['requestId']}").json()
        new = client.get(f"/connections/{done['resultConnectionId']}").json()
        assert is_ready(new) and app_key(client, new) == "vtiger"


def test_connection_request_creates_a_connection_once_the_user_is_done(tenant_api: httpx.Client) -> None:
    before = {c["id"] for c in tenant_api.get("/connections").json()["items"]}
    requested = tenant_api.post("/connection-requests", json={"connectorKey": "1crm", "name": "Sales 1CRM"})
    assert requested.status_code == 200
    body = requested.json()
    assert body["status"] == "pending" and body["url"].startswith("http") and "resultConnectionId" not in body
    assert tenant_api.get(f"/connection-requests/{body['requestId']}").json()["status"] == "pending"
    assert {c["id"] for c in tenant_api.get("/connections").json()["items"]} == before

    assert httpx.get(body["url"]).status_code == 200
    done = tenant_api.get(f"/connection-requests/{body['requestId']}").json()
    assert done["status"] == "success"
    connection = tenant_api.get(f"/connections/{done['resultConnectionId']}").json()
    assert connection["state"] == "READY" and connection["name"] == "Sales 1CRM"
    assert httpx.get(body["url"]).status_code == 404  # used
    assert httpx.get(body["url"].replace("code=", "code=x")).status_code == 404


def test_connection_request_errors(tenant_api: httpx.Client) -> None:
    assert tenant_api.post("/connection-requests", json={}).status_code == 400
    assert tenant_api.post("/connection-requests", json={"connectorKey": 5}).status_code == 400
    assert tenant_api.post("/connection-requests", json={"connectorKey": "nope"}).status_code == 404
    assert tenant_api.post("/connection-requests", json={"connectionId": "nope"}).status_code == 404
    assert tenant_api.get("/connection-requests/nope").status_code == 404


def test_reconnect_keeps_one_connection(tenant_api: httpx.Client) -> None:
    vtiger = next(
        c for c in tenant_api.get("/connections").json()["items"] if c["integrationKey"] == "vtiger"
    )
    reconnecting = tenant_api.post(f"/connections/{vtiger['id']}/reconnect").json()
    assert reconnecting["id"] == vtiger["id"] and reconnecting["state"] == "CLIENT_ACTION_REQUIRED"
    refused = tenant_api.post(
        "/actions/list-contacts/run", params={"connectionId": vtiger["id"]}, json={"input": {}}
    )
    assert refused.status_code == 400 and refused.json()["type"] == "connection"
    assert httpx.get(reconnecting["clientAction"]["uiUrl"]).status_code == 200
    assert tenant_api.get(f"/connections/{vtiger['id']}").json()["state"] == "READY"

    # The same through a connection request naming the connection.
    tenant_api.post(f"/connections/{vtiger['id']}/reconnect")
    requested = tenant_api.post("/connection-requests", json={"connectionId": vtiger["id"]}).json()
    assert requested["connectionId"] == vtiger["id"]
    httpx.get(requested["url"])
    done = tenant_api.get(f"/connection-requests/{requested['requestId']}").json()
    assert done["resultConnectionId"] == vtiger["id"]
    items = tenant_api.get("/connections", params={"integrationKey": "vtiger"}).json()["items"]
    assert [(c["id"], c["state"]) for c in items] == [(vtiger["id"], "READY")]


def test_run_log_details(tenant_api: httpx.Client) -> None:
    vtiger = next(
        c for c in tenant_api.get("/connections").json()["items"] if c["integrationKey"] == "vtiger"
    )
    ok = tenant_api.post(
        "/actions/list-contacts/run", params={"connectionId": vtiger["id"]}, json={"input": {"limit": 1}}
    )
    failed = tenant_api.post(
        "/actions/get-contact/run", params={"connectionId": vtiger["id"]}, json={"input": {"id": "nope"}}
    )
    assert failed.status_code == 404
    log = tenant_api.get(f"/action-run-logs/{ok.json()['actionRunId']}").json()
    assert log["action"]["connectionId"] == vtiger["id"] and log["action"]["input"] == {"limit": 1}
    assert log["completedAt"] >= log["createdAt"] and log["duration"] >= 0 and "details" not in log
    detailed = tenant_api.get(
        f"/action-run-logs/{ok.json()['actionRunId']}", params={"details": "true"}
    ).json()
    assert detailed["details"]["request"]["body"] == {"limit": 1}
    assert detailed["details"]["response"] == {"status": 200, "body": ok.json()["output"]}
    error_log = tenant_api.get(f"/action-run-logs/{failed.json()['actionRunId']}/details").json()
    assert error_log["status"] == "error" and error_log["details"]["response"]["status"] == 404
    assert "output" not in error_log and error_log["error"]["type"] == "action_run"
    # What the SDK's ActionRunLogRecordApiResponse requires.
    for name in ("userId", "name", "integrationActionId", "integrationId", "connectionId", "createdAt"):
        assert isinstance(log[name], str) and log[name]
    assert log["connectionActionId"] == log["actionId"] != log["integrationActionId"]
