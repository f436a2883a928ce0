from __future__ import annotations

import sqlite3

import anyio
import httpx
import pytest

from membrane_sandbox.serve import RunningSandbox
from tests.waiting import eventually

from .conftest import client_for, connection_ids

ACTION_FIELDS = {
    "id", "key", "name", "description", "type", "config", "inputSchema", "outputSchema", "integrationId",
    "integrationKey", "integration", "connectionId", "state", "errors", "revision", "createdAt", "updatedAt",
    "isDeactivated", "isCustomized", "userId", "tenantId",
}  # fmt: skip


def test_connection_level_instances(api: httpx.Client) -> None:
    ids = connection_ids(api)
    body = api.get("/actions", params={"connectionId": ids["vtiger"]}).json()
    assert "cursor" not in body
    items = body["items"]
    assert len(items) == 9
    for action in items:
        assert ACTION_FIELDS <= action.keys()
        assert action["connectionId"] == ids["vtiger"] and action["state"] == "READY"
        assert action["integrationKey"] == "vtiger" and len(action["id"]) == 24
        assert action["inputSchema"]["type"] == "object"
    other = api.get("/actions", params={"connectionId": ids["1crm"]}).json()["items"]
    assert {a["key"] for a in other} == {a["key"] for a in items}
    assert not {a["id"] for a in other} & {a["id"] for a in items}  # each instance has its own id
    via_path = api.get(f"/connections/{ids['vtiger']}/actions").json()["items"]
    assert [a["id"] for a in via_path] == [a["id"] for a in items]


def test_integration_level_actions(api: httpx.Client) -> None:
    items = api.get("/actions", params={"integrationKey": "bigtincan"}).json()["items"]
    assert len(items) == 9
    assert all("connectionId" not in a and a["integrationKey"] == "bigtincan" for a in items)
    # without a connection, intent is ignored (docs): catalog order stays
    ranked = api.get("/actions", params={"integrationKey": "bigtincan", "intent": "helpdesk tickets"}).json()
    assert [a["key"] for a in ranked["items"]] == [a["key"] for a in items]


def test_intent_ranking(api: httpx.Client) -> None:
    ids = connection_ids(api)

    def top(intent: str) -> str:
        items = api.get("/actions", params={"connectionId": ids["vtiger"], "intent": intent}).json()["items"]
        return items[0]["key"]

    assert top("find my deals") == "list-potentials"
    assert top("open a new opportunity") == "create-potential"
    assert top("support tickets") == "list-helpdesk"
    assert top("add a person") == "create-contact"
    limited = api.get(
        "/actions", params={"connectionId": ids["vtiger"], "intent": "contacts", "limit": 2}
    ).json()
    assert len(limited["items"]) == 2 and limited["cursor"]
    too_long = api.get("/actions", params={"connectionId": ids["vtiger"], "intent": "x" * 201})
    assert too_long.status_code == 400 and "intent" in too_long.json()["data"]["fields"]


def test_search_filter_and_paging(api: httpx.Client) -> None:
    ids = connection_ids(api)
    found = api.get("/actions", params={"connectionId": ids["vtiger"], "search": "contact"}).json()["items"]
    assert {a["key"] for a in found} == {
        "list-contacts", "get-contact", "create-contact", "delete-contact", "search-contacts"
    }  # fmt: skip
    keys: list[str] = []
    cursor = "0"
    while cursor:
        page = api.get(
            "/actions", params={"connectionId": ids["vtiger"], "limit": 4, "cursor": cursor}
        ).json()
        keys += [a["key"] for a in page["items"]]
        cursor = page.get("cursor")
    assert len(keys) == 9 and len(set(keys)) == 9


def test_get_by_selectors(api: httpx.Client) -> None:
    ids = connection_ids(api)
    instance = api.get("/actions", params={"connectionId": ids["vtiger"]}).json()["items"][0]
    assert api.get(f"/actions/{instance['id']}").json() == instance
    by_key = api.get(f"/actions/{instance['key']}", params={"connectionId": ids["vtiger"]}).json()
    assert by_key["id"] == instance["id"]
    integration_level = api.get(f"/actions/vtiger.{instance['key']}").json()
    assert "connectionId" not in integration_level and integration_level["key"] == instance["key"]
    assert instance["parentId"] == integration_level["id"]
    ambiguous = api.get(f"/actions/{instance['key']}")  # three integrations have this key
    assert ambiguous.status_code == 400
    assert api.get("/actions/" + "0" * 24).status_code == 404


def test_build_lifecycle_ready(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    created = tenant_api.post(
        "/actions", json={"intent": "count all contacts", "connectionId": ids["vtiger"]}
    )
    assert created.status_code == 200
    action = created.json()
    assert (
        action["state"] == "BUILDING" and action["agentSessionId"] and action["connectionId"] == ids["vtiger"]
    )
    done = tenant_api.get(f"/actions/{action['id']}", params={"wait": "true", "timeout": 5}).json()
    assert done["state"] == "READY" and done["key"] == "count-contacts" and done["errors"] == []
    assert done["inputSchema"] == {"type": "object", "properties": {}, "required": []}
    listed = tenant_api.get(
        "/actions", params={"connectionId": ids["vtiger"], "intent": "count contacts"}
    ).json()
    assert listed["items"][0]["id"] == action["id"]
    run = tenant_api.post(f"/actions/{action['id']}/run", json={"input": {}})
    assert run.status_code == 200 and run.json()["output"] == {"count": 5}
    by_key = tenant_api.post("/actions/count-contacts/run", params={"connectionId": ids["vtiger"]}, json={})
    assert by_key.json()["output"] == {"count": 5}
    # a second build of the same thing gets a distinct key
    again = tenant_api.post(
        "/actions", json={"intent": "count contacts", "connectionId": ids["vtiger"]}
    ).json()
    again = tenant_api.get(f"/actions/{again['id']}", params={"wait": "true", "timeout": 5}).json()
    assert again["key"] == "count-contacts-2"


def test_build_lifecycle_configuration_error(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    action = tenant_api.post(
        "/actions", json={"intent": "launch a spaceship", "connectionId": ids["1crm"], "name": "Launch"}
    ).json()
    assert action["name"] == "Launch"
    done = tenant_api.get(f"/actions/{action['id']}", params={"wait": "true", "timeout": 5}).json()
    assert done["state"] == "CONFIGURATION_ERROR"
    assert done["errors"][0]["message"] == "There is no spaceship object"
    refused = tenant_api.post(f"/actions/{action['id']}/run", json={})
    assert refused.status_code == 400


def test_wait_times_out_while_building(start_sandbox) -> None:
    sandbox = start_sandbox(build_seconds=30)
    with client_for(sandbox) as client:
        ids = connection_ids(client)
        action = client.post(
            "/actions", json={"intent": "count contacts", "connectionId": ids["vtiger"]}
        ).json()
        waited = client.get(f"/actions/{action['id']}", params={"wait": "true", "timeout": 1})
        # The build takes 30 s: BUILDING now means the wait ended at its own timeout.
        assert waited.status_code == 200 and waited.json()["state"] == "BUILDING"
        assert client.get("/_sandbox/stats").json()["builds"]["building"] == 1


@pytest.mark.anyio
async def test_open_long_polls_are_counted_and_released(start_sandbox) -> None:
    sandbox = start_sandbox(build_seconds=30)
    with client_for(sandbox) as client:
        ids = connection_ids(client)
        action = client.post(
            "/actions", json={"intent": "count contacts", "connectionId": ids["vtiger"]}
        ).json()

        def open_long_polls() -> int:
            return client.get("/_sandbox/stats").json()["openLongPolls"]

        async def poll() -> None:
            async with httpx.AsyncClient(base_url=sandbox.url, headers=client.headers, timeout=30) as poller:
                await poller.get(f"/actions/{action['id']}", params={"wait": "true", "timeout": 20})

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(poll)
            counted = await eventually(lambda: open_long_polls() == 3)
            group.cancel_scope.cancel()  # the clients give up and disconnect...
        released = await eventually(lambda: open_long_polls() == 0)  # ...and the server stops waiting
    assert counted and released


def test_create_validation(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    bad = tenant_api.post("/actions", json={"connectionId": ids["vtiger"], "name": 3})
    assert bad.status_code == 400
    assert set(bad.json()["data"]["fields"]) == {"intent", "name"}
    missing = tenant_api.post("/actions", json={"intent": "x"})
    assert missing.status_code == 400 and "connectionId" in missing.json()["data"]["fields"]
    denied = tenant_api.post("/actions", json={"intent": "x", "integrationKey": "vtiger"})
    assert denied.status_code == 403 and denied.json()["key"] == "access_denied"
    unknown = tenant_api.post("/actions", json={"intent": "x", "connectionId": "0" * 24})
    assert unknown.status_code == 404
    taken = tenant_api.post(
        "/actions", json={"intent": "x", "connectionId": ids["vtiger"], "key": "list-contacts"}
    )
    assert taken.status_code == 400 and taken.json()["key"] == "already_exists"


def test_delete_archives_the_instance(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    action = tenant_api.get("/actions", params={"connectionId": ids["bigtincan"]}).json()["items"][0]
    deleted = tenant_api.delete(f"/actions/{action['id']}")
    assert deleted.status_code == 200 and deleted.json()["archivedAt"]
    keys = {
        a["key"]
        for a in tenant_api.get("/actions", params={"connectionId": ids["bigtincan"]}).json()["items"]
    }
    assert action["key"] not in keys and len(keys) == 8
    assert tenant_api.post(f"/actions/{action['id']}/run", json={"input": {}}).status_code == 404
    integration_level = tenant_api.get("/actions/bigtincan.list-contacts").json()
    assert tenant_api.delete(f"/actions/{integration_level['id']}").status_code == 403


def test_build_survives_a_restart(start_sandbox, tmp_path) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    first = start_sandbox(db_path=db, build_seconds=30)
    with client_for(first) as client:
        ids = connection_ids(client)
        action = client.post(
            "/actions", json={"intent": "count contacts", "connectionId": ids["vtiger"]}
        ).json()
    first.stop()
    with sqlite3.connect(db) as stopped:  # the build falls due while the sandbox is down
        stopped.execute("UPDATE sandbox_actions SET ready_at = 0 WHERE id = ?", (action["id"],))
    stopped.close()
    second = start_sandbox(db_path=db, build_seconds=30)
    with client_for(second) as client:
        assert client.get(f"/actions/{action['id']}").json()["state"] == "READY"
        assert client.post(f"/actions/{action['id']}/run", json={}).json()["output"] == {"count": 5}


def test_long_poll_wakes_when_the_build_finishes(sandbox: RunningSandbox, tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    action = tenant_api.post(
        "/actions", json={"intent": "count contacts", "connectionId": ids["vtiger"]}
    ).json()
    # A 60 s wait that did not wake with the build would trip the client's 30 s read timeout.
    done = tenant_api.get(f"/actions/{action['id']}", params={"wait": "true", "timeout": 60}).json()
    assert done["state"] == "READY"
