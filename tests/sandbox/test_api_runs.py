from __future__ import annotations

import httpx

from .conftest import connection_ids


def _runs(api: httpx.Client) -> dict[str, int]:
    return api.get("/_sandbox/stats").json()["actionRuns"]


def test_run_and_read_the_log(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    response = tenant_api.post(
        "/actions/list-contacts/run", params={"connectionId": ids["vtiger"]}, json={"input": {"limit": 2}}
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["output"]["records"]] == ["c0", "c1"]
    log = tenant_api.get(f"/action-run-logs/{body['actionRunId']}").json()
    assert log["status"] == "success" and log["input"] == {"limit": 2} and log["output"] == body["output"]
    assert log["action"]["key"] == "list-contacts" and log["action"]["id"] == log["actionId"]
    assert log["action"]["connectionId"] == ids["vtiger"] and log["action"]["input"] == {"limit": 2}
    assert log["connection"]["id"] == log["connectionId"] == ids["vtiger"] and "error" not in log
    assert log["integration"]["key"] == "vtiger" and log["createdAt"]


def test_selectors_for_run(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    instance = tenant_api.get("/actions", params={"connectionId": ids["1crm"]}).json()["items"][0]
    by_id = tenant_api.post(f"/actions/{instance['id']}/run", json={"input": {}})
    by_integration_key = tenant_api.post(
        "/actions/list-contacts/run", params={"integrationKey": "1crm"}, json={}
    )
    dotted = tenant_api.post("/actions/1crm.list-contacts/run", json={"input": {}})
    assert by_id.json()["output"] == by_integration_key.json()["output"] == dotted.json()["output"]


def test_extra_properties_are_ignored(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    created = tenant_api.post(
        "/actions/create-contact/run",
        params={"connectionId": ids["vtiger"]},
        json={"input": {"name": "Ada", "shoeSize": 41}},
    )
    assert created.status_code == 200
    assert created.json()["output"]["name"] == "Ada" and "shoeSize" not in created.json()["output"]


def test_bad_input_names_each_field_and_runs_nothing(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    before = _runs(tenant_api)
    cases = [
        ({"email": "a@b.c"}, {"name"}),  # missing required
        ({"name": 5}, {"name"}),  # wrong type
        ({"name": "x", "status": "retired"}, {"status"}),  # bad enum
        ({"name": "", "status": 1, "email": []}, {"name", "status", "email"}),  # everything at once
    ]
    for input, fields in cases:
        response = tenant_api.post(
            "/actions/create-contact/run", params={"connectionId": ids["vtiger"]}, json={"input": input}
        )
        assert response.status_code == 400, input
        body = response.json()
        assert body["type"] == "bad_request" and set(body["data"]["fields"]) == fields
        for field in fields:
            assert field in body["message"]
    not_an_object = tenant_api.post(
        "/actions/list-contacts/run", params={"connectionId": ids["vtiger"]}, json={"input": [1]}
    )
    assert not_an_object.status_code == 400
    assert _runs(tenant_api) == before
    records = tenant_api.post("/actions/list-contacts/run", params={"connectionId": ids["vtiger"]}, json={})
    assert len(records.json()["output"]["records"]) == 5  # nothing was written


def test_app_error_envelope_and_rollback(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    before = _runs(tenant_api)
    failed = tenant_api.post("/actions/fail/run", params={"connectionId": ids["vtiger"]}, json={"input": {}})
    assert failed.status_code == 400
    body = failed.json()
    assert body["type"] == "action_run" and body["message"] == "This action always fails"
    assert body["data"]["reason"] == "on purpose"
    assert body["actionRunId"] == body["data"]["actionRunId"]
    log = tenant_api.get(f"/action-run-logs/{body['actionRunId']}").json()
    assert log["status"] == "error" and log["error"]["message"] == "This action always fails"
    assert "output" not in log
    after = _runs(tenant_api)
    assert after["error"] == before["error"] + 1
    not_found = tenant_api.post(
        "/actions/get-contact/run", params={"connectionId": ids["vtiger"]}, json={"input": {"id": "nope"}}
    )
    assert not_found.status_code == 404 and not_found.json()["type"] == "action_run"


def test_connection_scoped_run_takes_the_raw_input(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    response = tenant_api.post(
        f"/connections/{ids['bigtincan']}/actions/list-contacts/run", json={"limit": 1}
    )
    assert response.status_code == 200 and len(response.json()["output"]["records"]) == 1
    assert tenant_api.post(f"/connections/{ids['bigtincan']}/actions/nope/run", json={}).status_code == 404


def test_legacy_action_instance_run(tenant_api: httpx.Client) -> None:
    response = tenant_api.post(
        "/action-instance/run",
        params={"autoCreate": "true", "integrationKey": "vtiger", "parentKey": "list-contacts"},
        json={"limit": 3},
    )
    assert response.status_code == 200 and len(response.json()["output"]["records"]) == 3
    missing = tenant_api.post("/action-instance/run", params={"integrationKey": "vtiger"}, json={})
    assert missing.status_code == 400
    unknown = tenant_api.post(
        "/action-instance/run", params={"integrationKey": "nope", "parentKey": "x"}, json={}
    )
    assert unknown.status_code == 404


def test_act_with_key(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    response = tenant_api.post(
        "/act", json={"key": "list-contacts", "connectionId": ids["vtiger"], "input": {}}
    )
    assert response.status_code == 200 and response.json()["actionRunId"]
    assert tenant_api.post("/act", json={"key": "a", "id": "b"}).status_code == 400


def test_unknown_run_log(tenant_api: httpx.Client) -> None:
    assert tenant_api.get("/action-run-logs/" + "0" * 24).status_code == 404
