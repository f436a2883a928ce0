from __future__ import annotations

from membrane_mcp.membrane import Action, ActionRunResult, Connection, Page, ProxyResponse, SearchResult


def test_connection_camel_case_and_unknown_fields_kept() -> None:
    conn = Connection.model_validate(
        {
            "id": "c1",
            "name": "Vtiger",
            "state": "CLIENT_ACTION_REQUIRED",
            "isDefunct": True,
            "integrationKey": "vtiger",
            "integration": {"id": "i1", "key": "vtiger", "name": "Vtiger", "logoUri": "https://x/logo.png"},
            "clientAction": {
                "type": "connect",
                "uiUrl": "https://ui/connect",
                "agentInstructions": "open it",
            },
            "requestError": {"type": "connection", "message": "token expired"},
            "brandNewField": {"nested": 1},
        }
    )
    assert conn.is_defunct is True
    assert conn.integration and conn.integration.logo_uri == "https://x/logo.png"
    assert conn.client_action and conn.client_action.ui_url == "https://ui/connect"
    # integrationKey is no field of the SDK's ConnectionApiResponse: kept as an unknown field, never read.
    assert conn.model_extra == {"integrationKey": "vtiger", "brandNewField": {"nested": 1}}
    assert conn.error_message == "token expired"
    assert Connection(id="c2", is_defunct=False).model_dump(by_alias=True, exclude_none=True) == {
        "id": "c2",
        "isDefunct": False,
    }


def test_action_fields_and_error_message() -> None:
    action = Action.model_validate(
        {
            "id": "a1",
            "key": "query-records",
            "inputSchema": {"type": "object"},
            "state": "SETUP_FAILED",
            "errors": [{"type": "configuration", "message": "no such field"}],
            "agentSessionId": "s1",
            "revision": 3,
        }
    )
    assert action.input_schema == {"type": "object"}
    assert action.error_message == "no such field"
    assert Action.model_validate({"id": "a2", "error": {"message": "legacy"}}).error_message == "legacy"
    assert Action(id="a3").error_message is None


def test_small_models() -> None:
    assert ActionRunResult.model_validate({"output": [1], "actionRunId": "r"}).action_run_id == "r"
    assert SearchResult.model_validate({"elementType": "connector", "element": {"id": "x"}}).element == {
        "id": "x"
    }
    page = Page[Action].model_validate({"items": [{"id": "a"}], "cursor": ""})
    assert page.cursor is None and page.items[0].id == "a"
    assert Page[dict].model_validate({"items": [], "cursor": 2}).cursor == "2"
    resp = ProxyResponse(status=404, headers={"content-type": "application/json"}, body=b'{"a": 1}')
    assert resp.json() == {"a": 1} and not resp.ok and resp.content_type == "application/json"
