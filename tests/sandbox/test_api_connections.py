from __future__ import annotations

import httpx

from membrane_sandbox.serve import RunningSandbox

CONNECTION_FIELDS = {
    "id", "name", "userId", "tenantId", "isTest", "connected", "disconnected", "isDefunct", "state", "errors",
    "integrationId", "integrationKey", "integration", "connectorId", "createdAt", "updatedAt", "lastActiveAt",
    "canTest", "canRefreshCredentials",
}  # fmt: skip


def test_list_has_three_ready_connections_in_membrane_shape(api: httpx.Client) -> None:
    body = api.get("/connections").json()
    assert "cursor" not in body
    items = body["items"]
    assert [c["integrationKey"] for c in items] == ["vtiger", "1crm", "bigtincan"]
    for connection in items:
        assert CONNECTION_FIELDS <= connection.keys()
        assert len(connection["id"]) == 24 and int(connection["id"], 16) >= 0
        assert connection["state"] == "READY" and connection["connected"] is True
        assert connection["disconnected"] is False
        assert "clientAction" not in connection
        assert connection["integration"]["key"] == connection["integrationKey"]
        assert set(connection["integration"]) == {"id", "key", "name", "logoUri"}
        assert connection["integration"]["id"] == connection["integrationId"]
    assert items[0]["name"] == "Vtiger"


def test_ids_are_deterministic_from_the_seed(
    sandbox: RunningSandbox, start_sandbox, api: httpx.Client
) -> None:
    other = start_sandbox()  # same seed (0), different process state
    with httpx.Client(base_url=other.url, headers={"Authorization": "Bearer pat-sandbox"}) as client:
        assert [c["id"] for c in client.get("/connections").json()["items"]] == [
            c["id"] for c in api.get("/connections").json()["items"]
        ]
    reseeded = start_sandbox(seed=7)
    with httpx.Client(base_url=reseeded.url, headers={"Authorization": "Bearer pat-sandbox"}) as client:
        ids = {c["id"] for c in client.get("/connections").json()["items"]}
    assert not ids & {c["id"] for c in api.get("/connections").json()["items"]}


def test_filters(api: httpx.Client) -> None:
    items = api.get("/connections").json()["items"]
    vtiger = items[0]
    assert [
        c["id"] for c in api.get("/connections", params={"integrationKey": "vtiger"}).json()["items"]
    ] == [vtiger["id"]]
    by_integration = api.get("/connections", params={"integrationId": vtiger["integrationId"]}).json()[
        "items"
    ]
    assert [c["id"] for c in by_integration] == [vtiger["id"]]
    by_connector = api.get("/connections", params={"connectorId": vtiger["connectorId"]}).json()["items"]
    assert [c["id"] for c in by_connector] == [vtiger["id"]]
    assert api.get("/connections", params={"connectorId": "0" * 24}).json()["items"] == []
    assert len(api.get("/connections", params={"connected": "true"}).json()["items"]) == 3
    assert api.get("/connections", params={"connected": "false"}).json()["items"] == []
    assert [c["name"] for c in api.get("/connections", params={"search": "tinc"}).json()["items"]] == [
        "Bigtincan"
    ]


def test_paging_across_pages_and_cursor_zero(api: httpx.Client) -> None:
    first = api.get("/connections", params={"limit": 2, "cursor": "0"}).json()
    assert len(first["items"]) == 2 and first["cursor"]
    second = api.get("/connections", params={"limit": 2, "cursor": first["cursor"]}).json()
    assert len(second["items"]) == 1 and "cursor" not in second
    all_ids = [
        c["id"] for c in api.get("/connections", params={"cursor": "0", "limit": 1000}).json()["items"]
    ]
    assert [c["id"] for c in first["items"] + second["items"]] == all_ids


def test_paging_errors(api: httpx.Client) -> None:
    for limit in ("0", "1001", "x", "-1"):
        response = api.get("/connections", params={"limit": limit})
        assert response.status_code == 400, limit
        assert response.json()["type"] == "bad_request"
        assert "limit" in response.json()["data"]["fields"]
    response = api.get("/connections", params={"cursor": "garbage!"})
    assert response.status_code == 400
    assert "cursor" in response.json()["data"]["fields"]


def test_get_by_id_and_by_integration_key(api: httpx.Client) -> None:
    vtiger = api.get("/connections").json()["items"][0]
    assert api.get(f"/connections/{vtiger['id']}").json() == vtiger
    assert api.get("/connections/vtiger").json()["id"] == vtiger["id"]
    missing = api.get("/connections/" + "f" * 24)
    assert missing.status_code == 404
    assert missing.json() | {"message": ""} == {"type": "bad_request", "key": "not_found", "message": ""}


def test_wait_returns_at_once_when_not_building(api: httpx.Client) -> None:
    vtiger = api.get("/connections").json()["items"][0]
    # A 60 s wait that did not return at once would trip the client's 30 s read timeout.
    response = api.get(f"/connections/{vtiger['id']}", params={"wait": "true", "timeout": 60})
    assert response.status_code == 200 and response.json()["id"] == vtiger["id"]
    assert api.get(f"/connections/{vtiger['id']}", params={"wait": "true", "timeout": 61}).status_code == 400
    assert api.get(f"/connections/{vtiger['id']}", params={"wait": "true", "timeout": 0}).status_code == 400


def test_search_connectors(api: httpx.Client) -> None:
    body = api.get("/search", params={"q": "vtiger", "elementType": "connector", "limit": 5}).json()
    assert body["items"][0]["elementType"] == "connector"
    element = body["items"][0]["element"]
    assert element["key"] == "vtiger" and element["name"] == "Vtiger" and len(element["id"]) == 24
    assert element["logoUri"]
    assert (
        api.get("/search", params={"q": "no-such-thing-xyz", "elementType": "connector"}).json()["items"]
        == []
    )
    assert (
        api.get("/search", params={"q": "crm", "elementType": "connector", "limit": 101}).status_code == 400
    )
    assert api.get("/search", params={"q": "", "elementType": "connector"}).status_code == 400
    # the id found by search is what POST /connections takes as connectorId
    assert (
        api.get("/connections", params={"connectorId": element["id"]}).json()["items"][0]["name"] == "Vtiger"
    )


def test_connect_flow_end_to_end(tenant_api: httpx.Client) -> None:
    connector_id = tenant_api.get("/search", params={"q": "1crm", "elementType": "connector"}).json()[
        "items"
    ][0]["element"]["id"]
    created = tenant_api.post("/connections", json={"connectorId": connector_id, "name": "Second 1CRM"})
    assert created.status_code == 200
    connection = created.json()
    assert connection["state"] == "CLIENT_ACTION_REQUIRED" and connection["connected"] is False
    assert connection["name"] == "Second 1CRM" and connection["integrationKey"] == "1crm"
    action = connection["clientAction"]
    assert action["type"] == "connect" and action["description"] and action["agentInstructions"]
    assert "/_sandbox/connect/" + connection["id"] in action["uiUrl"] and "code=" in action["uiUrl"]
    # Not connected yet: running its actions is refused, and the integration key is now ambiguous.
    refused = tenant_api.post(
        "/actions/list-contacts/run", params={"connectionId": connection["id"]}, json={}
    )
    assert refused.status_code == 400 and refused.json()["type"] == "connection"
    assert tenant_api.get("/connections/1crm").status_code == 400
    # A wrong code does nothing; the real link (no bearer) connects.
    assert httpx.get(action["uiUrl"].split("?")[0] + "?code=wrong").status_code == 404
    page = httpx.get(action["uiUrl"])
    assert (
        page.status_code == 200
        and "Connected" in page.text
        and page.headers["content-type"].startswith("text/html")
    )
    ready = tenant_api.get(f"/connections/{connection['id']}", params={"wait": "true", "timeout": 2}).json()
    assert ready["state"] == "READY" and ready["connected"] is True and "clientAction" not in ready
    run = tenant_api.post("/actions/list-contacts/run", params={"connectionId": connection["id"]}, json={})
    assert run.status_code == 200 and len(run.json()["output"]["records"]) == 5  # seeded on connect
    assert httpx.get(action["uiUrl"]).status_code == 200  # opening the link again is harmless


def test_create_by_key_and_errors(tenant_api: httpx.Client) -> None:
    assert tenant_api.post("/connections", json={"connectorKey": "vtiger"}).json()["name"] == "Vtiger"
    assert tenant_api.post("/connections", json={"integrationKey": "bigtincan"}).status_code == 200
    unknown = tenant_api.post("/connections", json={"connectorKey": "salesforce"})
    assert unknown.status_code == 404 and unknown.json()["key"] == "not_found"
    assert tenant_api.post("/connections", json={"connectorId": "0" * 24}).status_code == 404
    assert tenant_api.post("/connections", json={}).status_code == 400
    assert tenant_api.post("/connections", json={"connectorKey": 5}).status_code == 400
    assert tenant_api.post("/connections", content=b"{not json").status_code == 400


def test_delete_archives(tenant_api: httpx.Client) -> None:
    created = tenant_api.post("/connections", json={"connectorKey": "vtiger", "name": "Temp"}).json()
    deleted = tenant_api.delete(f"/connections/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["archivedAt"]
    assert created["id"] not in {c["id"] for c in tenant_api.get("/connections").json()["items"]}
    archived = tenant_api.get("/connections", params={"includeArchived": "true"}).json()["items"]
    assert created["id"] in {c["id"] for c in archived}
    assert tenant_api.post(f"/connections/{created['id']}/proxy/contacts").status_code == 404


def test_unknown_route_uses_the_envelope(api: httpx.Client) -> None:
    response = api.get("/no-such-endpoint")
    assert response.status_code == 404 and response.json()["key"] == "not_found"
