"""Issue 13, done-when 1: on every sandbox profile (each shape a real workspace may have), through the MCP
surface, tools are named after their apps, `connection: "vtiger"` resolves, every action of the seeded apps
is listed and runs, and connections that carry only the `disconnected` flag load."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from membrane_sandbox.config import PROFILES, SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio

APPS = ("1crm", "bigtincan", "vtiger")
# The seed document's popular Vtiger actions (/work/shared/seeds/vtiger.txt, "Popular actions").
VTIGER_SEED_ACTIONS = {
    "delete-record",
    "update-record",
    "retrieve-record",
    "create-record",
    "query-records",
    "describe-module",
    "list-modules",
    "get-current-user",
}
# A read of each app that needs no input: it runs on every profile (under lazy-connection-actions it is
# an integration-level action whose connection instance Membrane makes on the first run).
FIRST_RUNS = {
    "vtiger": ("list-modules", {}),
    "1crm": ("list-accounts", {}),
    "bigtincan": ("list-stories", {}),
}


@pytest.fixture(scope="module", params=sorted(PROFILES))
def profiled(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    """A freshly seeded sandbox per profile (seeding decides whether connection instances exist)."""
    with start_in_thread(SandboxConfig(profile=request.param, build_seconds=0.3)) as running:
        yield running


def integration_actions(
    running: RunningSandbox, keep: Callable[[dict[str, Any]], bool] = lambda action: True
) -> dict[str, set[str]]:
    """Every action of each seeded app (that `keep` keeps), straight from the sandbox (integration level)."""
    headers = {"Authorization": f"Bearer {running.token}"}
    with httpx.Client(base_url=running.url, headers=headers) as http:
        integrations = http.get("/integrations").json()["items"]
        return {
            item["key"]: {
                a["key"]
                for a in http.get("/actions", params={"integrationId": item["id"], "limit": 1000}).json()[
                    "items"
                ]
                if keep(a)
            }
            for item in integrations
        }


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


async def test_tools_are_named_after_their_apps_and_every_action_is_listed(profiled: RunningSandbox) -> None:
    expected = integration_actions(profiled)
    async with connect(settings_for(profiled, tool_mode="direct", direct_tool_limit=1000)) as client:
        connections = structured(await client.call_tool("list_connections", {}))["connections"]
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert sorted(c["app"] for c in connections) == list(APPS)
    assert all(c["state"] == "READY" for c in connections), connections
    assert VTIGER_SEED_ACTIONS <= expected["vtiger"]
    for app in APPS:
        listed = {name.removeprefix(f"{app}_") for name in names if name.startswith(f"{app}_")}
        wanted = {key.replace("-", "_") for key in expected[app]}
        assert listed == wanted, (app, wanted ^ listed)
    assert not any(name.startswith("app_") for name in names)


async def test_the_app_key_resolves_and_a_first_run_works(profiled: RunningSandbox) -> None:
    async with connect(settings_for(profiled)) as client:
        for app, (action, action_input) in FIRST_RUNS.items():
            result = await client.call_tool(
                "run_action", {"connection": app, "action": action, "input": action_input}
            )
            payload = structured(result)
            assert payload["output"] is not None and payload["actionRunId"], (app, payload)
        user = structured(
            await client.call_tool(
                "run_action", {"connection": "vtiger", "action": "get-current-user", "input": {}}
            )
        )
    assert user["output"]


async def test_every_vtiger_seed_action_runs(profiled: RunningSandbox) -> None:
    """Each popular action of the seed document reaches the app and answers (a write, then its undo)."""
    async with connect(settings_for(profiled)) as client:

        async def run(action: str, action_input: dict[str, Any]) -> Any:
            args = {"connection": "vtiger", "action": action, "input": action_input}
            tool = (
                "run_write_action" if action.split("-")[0] in ("create", "update", "delete") else "run_action"
            )
            return structured(await client.call_tool(tool, args))["output"]

        assert await run("list-modules", {})
        assert await run("get-current-user", {})
        assert await run("describe-module", {"elementType": "Contacts"})
        queried = await run("query-records", {"query": "SELECT * FROM Contacts LIMIT 1;"})
        existing = queried["records"][0]["id"]
        assert (await run("retrieve-record", {"id": existing}))["id"] == existing
        created = await run("create-record", {"elementType": "Contacts", "element": {"lastname": "Profiles"}})
        updated = await run("update-record", {"id": created["id"], "element": {"firstname": "Shape"}})
        assert updated["firstname"] == "Shape"
        assert await run("delete-record", {"id": created["id"]}) is not None


async def test_every_action_without_required_input_runs(profiled: RunningSandbox) -> None:
    """Every list/read action of every seeded app that needs no input runs through its own tool."""
    runnable = sorted(
        (app, key)
        for app, actions in integration_actions(
            profiled, lambda a: not (a.get("inputSchema") or {}).get("required")
        ).items()
        for key in actions
        if key.startswith(("list-", "get-"))
    )
    assert len(runnable) > 20
    async with connect(settings_for(profiled, tool_mode="direct", direct_tool_limit=1000)) as client:
        for app, key in runnable:
            result = await client.call_tool(f"{app}_{key.replace('-', '_')}", {})
            assert not result.is_error, (app, key, result.content)
