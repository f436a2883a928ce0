"""The sandbox with the real apps behind it (Vtiger, 1CRM, Bigtincan, synthetic)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import jsonschema
import pytest

from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread

from .conftest import client_for

try:
    from membrane_sandbox.apps import load_apps, synthetic_app  # noqa: F401
except ImportError as exc:  # the apps are written concurrently
    pytest.skip(f"real sandbox apps not available yet: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def real() -> Iterator[RunningSandbox]:
    running = start_in_thread(
        SandboxConfig(build_seconds=0.2, synthetic_connections=2, synthetic_actions=12, profile="classic")
    )
    yield running
    running.stop()


def test_three_connections_with_at_least_eight_actions(real: RunningSandbox) -> None:
    with client_for(real) as client:
        connections = client.get("/connections").json()["items"]
        assert [c["integrationKey"] for c in connections[:3]] == ["vtiger", "1crm", "bigtincan"]
        assert all(c["state"] == "READY" for c in connections)
        for connection in connections[:3]:
            actions = client.get("/actions", params={"connectionId": connection["id"]}).json()["items"]
            assert len(actions) >= 8, connection["name"]
            for action in actions:
                jsonschema.Draft202012Validator.check_schema(action["inputSchema"])


def test_synthetic_connections(real: RunningSandbox) -> None:
    with client_for(real) as client:
        connections = client.get("/connections").json()["items"]
        assert len(connections) == 5
        for connection in connections[3:]:
            actions = client.get("/actions", params={"connectionId": connection["id"]}).json()["items"]
            assert len(actions) == 12


def test_each_app_runs_an_action_without_required_input(real: RunningSandbox) -> None:
    # Vtiger's eight seed actions have no input-free list action; its list-modules reads without input.
    with client_for(real) as client:
        for connection in client.get("/connections").json()["items"][:3]:
            actions = client.get("/actions", params={"connectionId": connection["id"]}).json()["items"]
            runnable = [
                a for a in actions
                if a["type"] in ("list-data-records", "connector-operation")
                and a["key"].startswith("list-")
                and not a["inputSchema"].get("required")
            ]  # fmt: skip
            assert runnable, connection["name"]
            response = client.post(f"/actions/{runnable[0]['id']}/run", json={"input": {}})
            assert response.status_code == 200, (connection["name"], response.text)
            assert response.json()["actionRunId"]


def test_fresh_tenant_gets_seeded_records(real: RunningSandbox) -> None:
    from .conftest import mint

    with client_for(real, mint(real, "real-tenant")) as client:
        connections = client.get("/connections").json()["items"]
        assert len(connections) == 5
        assert isinstance(client, httpx.Client)
