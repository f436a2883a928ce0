from __future__ import annotations

import httpx

from .conftest import client_for, connection_ids


def test_writes_persist_across_a_restart(start_sandbox, tmp_path) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    first = start_sandbox(db_path=db)
    with client_for(first) as client:
        ids = connection_ids(client)
        created = client.post(
            "/actions/create-contact/run",
            params={"connectionId": ids["1crm"]},
            json={"input": {"name": "Persistent"}},
        ).json()
        new = client.post("/connections", json={"connectorKey": "vtiger", "name": "Later"}).json()
        httpx.get(new["clientAction"]["uiUrl"])
        deleted = client.get("/actions", params={"connectionId": ids["vtiger"]}).json()["items"][0]
        client.delete(f"/actions/{deleted['id']}")
    first.stop()

    second = start_sandbox(db_path=db)
    with client_for(second) as client:
        assert connection_ids(client)["1crm"] == ids["1crm"]
        names = [c["name"] for c in client.get("/connections").json()["items"]]
        assert names == ["Vtiger", "1CRM", "Bigtincan", "Later"]
        assert client.get(f"/connections/{new['id']}").json()["state"] == "READY"
        records = client.post(
            "/actions/list-contacts/run", params={"connectionId": ids["1crm"]}, json={}
        ).json()["output"]["records"]
        assert "Persistent" in [r["name"] for r in records]
        log = client.get(f"/action-run-logs/{created['actionRunId']}").json()
        assert log["status"] == "success"
        keys = {
            a["key"] for a in client.get("/actions", params={"connectionId": ids["vtiger"]}).json()["items"]
        }
        assert deleted["key"] not in keys
        # new ids continue the sequence instead of colliding with the old ones
        again = client.post("/connections", json={"connectorKey": "vtiger"}).json()
        assert again["id"] != new["id"]
        stats = client.get("/_sandbox/stats").json()
        assert stats["actionRuns"]["success"] == 2 and stats["requestsServed"] > 5


def test_a_database_from_before_run_details_gains_their_columns(tmp_path) -> None:
    import sqlite3

    from membrane_sandbox.api.db import Store

    path = str(tmp_path / "old.sqlite3")
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE sandbox_action_runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, "
            "tenant_key TEXT NOT NULL, action_id TEXT NOT NULL, connection_id TEXT NOT NULL, "
            "integration_key TEXT NOT NULL, action TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT, "
            "status TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
    store = Store(path, seed=0)
    columns = {row["name"] for row in store.db.execute("PRAGMA table_info(sandbox_action_runs)")}
    store.close()
    assert {"completed_at", "duration_ms", "details"} <= columns
