"""The sandbox apps layer: catalogs, seeding, actions, Vtiger queries, REST proxies, build_action."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from membrane_sandbox.apps import AppError, load_apps, synthetic_app
from membrane_sandbox.apps.base import ActionSpec, App, ProxyResponse
from membrane_sandbox.apps.catalog_file import load_catalog
from membrane_sandbox.apps.vtiger_query import QueryError, parse

ACCOUNT = "conn-test"
SEED = 7
ACTION_TYPES = {
    "list-data-records",
    "find-data-record-by-id",
    "create-data-record",
    "update-data-record",
    "delete-data-record",
    "search-data-record",
    "connector-operation",
}
VTIGER_KEYS = [
    "query-records",
    "retrieve-record",
    "create-record",
    "update-record",
    "delete-record",
    "describe-module",
    "list-modules",
    "get-current-user",
]
VTIGER_MODULES = {
    "Contacts",
    "Leads",
    "Potentials",
    "Accounts",
    "Quotes",
    "SalesOrder",
    "Invoice",
    "Products",
    "Services",
    "Documents",
    "Emails",
    "SMSNotifier",
    "Campaigns",
    "Vendors",
    "PurchaseOrder",
    "PriceBooks",
    "Calendar",
    "Events",
    "Tasks",
    "ModComments",
    "Groups",
    "Users",
    "Roles",
    "Profiles",
    "Currency",
    "Tax",
    "InventoryAdjustment",
    "Project",
    "ProjectTask",
    "ProjectMilestone",
    "Assets",
    "ServiceContracts",
    "HelpDesk",
    "Shipments",
}


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apps() -> dict[str, App]:
    return load_apps()


@pytest.fixture(scope="module")
def db(apps: dict[str, App]) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    for app in apps.values():
        app.init_schema(conn)
        app.seed(conn, ACCOUNT, SEED)
    yield conn
    conn.close()


def action(app: App, key: str) -> ActionSpec:
    return next(a for a in app.actions() if a.key == key)


def run(app: App, db: sqlite3.Connection, key: str, input: dict[str, Any] | None = None) -> Any:
    spec = action(app, key)
    jsonschema.Draft202012Validator(spec.input_schema).validate(input or {})
    out = app.run(db, ACCOUNT, spec, input or {})
    jsonschema.Draft202012Validator(spec.output_schema).validate(out)
    return out


def call(
    app: App,
    db: sqlite3.Connection,
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: Any = None,
    form: bool = False,
) -> tuple[int, Any, ProxyResponse]:
    headers: dict[str, str] = {}
    raw = b""
    if body is not None and form:
        from urllib.parse import urlencode

        raw = urlencode(body).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        raw = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    resp = app.proxy(db, ACCOUNT, method, path, list((query or {}).items()), headers, raw)
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["x-request-id"]
    return resp.status, json.loads(resp.body), resp


# ---- catalogs ------------------------------------------------------------------------------


def test_load_apps_keys_and_metadata(apps: dict[str, App]) -> None:
    assert list(apps) == ["vtiger", "1crm", "bigtincan"]
    assert [a.name for a in apps.values()] == ["Vtiger", "1CRM", "Bigtincan"]
    for app in apps.values():
        assert app.description and app.logo_uri.startswith("https://") and app.base_url.startswith("https://")
    assert apps["vtiger"].base_url.endswith("/restapi/v1/vtiger/default")
    assert load_apps()["vtiger"] is apps["vtiger"]  # cached


def test_each_data_file_is_read_once_per_process() -> None:
    from membrane_sandbox import apps as apps_pkg

    load_catalog.cache_clear()
    apps_pkg._apps.cache_clear()
    first = load_apps()
    assert load_catalog.cache_info().misses == 3
    assert load_apps()["1crm"].catalog is first["1crm"].catalog  # type: ignore[attr-defined]
    assert load_catalog.cache_info().misses == 3


def test_vtiger_has_exactly_the_eight_seed_actions(apps: dict[str, App]) -> None:
    vt = apps["vtiger"]
    assert [a.key for a in vt.actions()] == VTIGER_KEYS
    names = {a.key: a.name for a in vt.actions()}
    assert names["query-records"] == "Query Records" and names["get-current-user"] == "Get Current User"
    enum = action(vt, "create-record").input_schema["properties"]["elementType"]["enum"]
    assert set(enum) == VTIGER_MODULES and len(enum) == 34


def test_onecrm_and_bigtincan_per_object_keys(apps: dict[str, App]) -> None:
    onecrm = {a.key for a in apps["1crm"].actions()}
    for k in (
        "list-accounts",
        "get-account",
        "create-account",
        "update-account",
        "delete-account",
        "search-contacts",
        "list-opportunities",
        "get-case",
        "list-project-tasks",
        "create-time-entry",
        "list-target-lists",
        "list-email-templates",
        "list-custom-module-records",
        "get-system-settings",
        "update-system-settings",
        "get-user-settings",
        "list-picklists",
        "update-picklist",
        "list-layouts",
        "global-search",
        "import-records",
        "export-records",
        "mass-update-records",
        "list-related-records",
        "link-records",
        "unlink-records",
    ):
        assert k in onecrm, k
    assert "delete-system-settings" not in onecrm and "create-layout" not in onecrm
    bt = {a.key for a in apps["bigtincan"].actions()}
    for noun, plural in (
        ("story", "stories"),
        ("story-content", "story-contents"),
        ("space", "spaces"),
        ("group", "groups"),
        ("user", "users"),
    ):
        for k in (f"list-{plural}", f"get-{noun}", f"create-{noun}", f"update-{noun}", f"delete-{noun}"):
            assert k in bt, k
    assert {"search-stories", "search-content"} <= bt


def _walk(schema: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        for name, prop in (schema.get("properties") or {}).items():
            yield f"{path}.{name}", prop
            yield from _walk(prop, f"{path}.{name}")
        if isinstance(schema.get("items"), dict):
            yield from _walk(schema["items"], f"{path}[]")


@pytest.mark.parametrize("app_key", ["vtiger", "1crm", "bigtincan"])
def test_every_schema_is_valid_and_described(apps: dict[str, App], app_key: str) -> None:
    keys = [a.key for a in apps[app_key].actions()]
    assert len(keys) == len(set(keys))
    for a in apps[app_key].actions():
        assert a.type in ACTION_TYPES, a.key
        assert a.key == a.key.lower() and " " not in a.key
        assert len(a.description) > 30 and a.name
        json.dumps(a.impl)
        for schema in (a.input_schema, a.output_schema):
            jsonschema.Draft202012Validator.check_schema(schema)
            assert schema["type"] == "object" and "additionalProperties" in schema, a.key
            for where, prop in _walk(schema, a.key):
                assert prop.get("description"), where


def test_schemas_use_enums_formats_and_defaults(apps: dict[str, App]) -> None:
    create = action(apps["1crm"], "create-opportunity").input_schema
    assert "Closed Won" in create["properties"]["sales_stage"]["enum"]
    assert create["properties"]["date_closed"]["format"] == "date"
    assert set(create["required"]) >= {"name", "account_id", "sales_stage", "date_closed"}
    assert create["additionalProperties"] is False
    listing = action(apps["1crm"], "list-contacts").input_schema["properties"]
    assert listing["limit"]["default"] == 20 and listing["limit"]["maximum"] == 100
    assert action(apps["bigtincan"], "create-user").input_schema["properties"]["email"]["format"] == "email"
    out = action(apps["bigtincan"], "list-stories").output_schema
    assert set(out["properties"]) == {"records", "cursor"} and out["required"] == ["records"]


# ---- seeding -------------------------------------------------------------------------------


def _counts(db: sqlite3.Connection, account: str) -> dict[tuple[str, str], int]:
    rows = db.execute(
        "SELECT app, object, count(*) FROM app_records WHERE account = ? GROUP BY 1, 2", (account,)
    )
    return {(a, o): n for a, o, n in rows}


def test_seed_counts_and_links(db: sqlite3.Connection) -> None:
    counts = _counts(db, ACCOUNT)
    for key, least in (
        (("vtiger", "Contacts"), 200),
        (("vtiger", "Potentials"), 150),
        (("vtiger", "HelpDesk"), 150),
        (("1crm", "Contact"), 200),
        (("1crm", "Invoice"), 100),
        (("bigtincan", "story"), 300),
        (("bigtincan", "user"), 100),
        (("vtiger", "Campaigns"), 20),
    ):
        assert counts[key] >= least, key
    assert {o for a, o in counts if a == "vtiger"} == VTIGER_MODULES
    accounts = {
        r[0] for r in db.execute("SELECT id FROM app_records WHERE app='vtiger' AND object='Accounts'")
    }
    contacts = [
        json.loads(r[0])
        for r in db.execute("SELECT data FROM app_records WHERE app='vtiger' AND object='Contacts'")
    ]
    assert all(c["account_id"] in accounts for c in contacts)
    assert all(c["id"].startswith("12x") and c["createdtime"] and c["assigned_user_id"] for c in contacts)
    spaces = {
        int(r[0]) for r in db.execute("SELECT id FROM app_records WHERE app='bigtincan' AND object='space'")
    }
    stories = [
        json.loads(r[0])
        for r in db.execute("SELECT data FROM app_records WHERE app='bigtincan' AND object='story'")
    ]
    assert all(s["spaceId"] in spaces for s in stories)


def test_seed_is_deterministic_and_idempotent(apps: dict[str, App]) -> None:
    conn = sqlite3.connect(":memory:")
    for app in apps.values():
        app.init_schema(conn)
    for app in apps.values():
        app.seed(conn, "a", 1)
    for app in apps.values():
        app.seed(conn, "b", 1)
        app.seed(conn, "c", 2)
        app.seed(conn, "a", 1)  # again: no-op

    def data(account: str) -> list[str]:
        q = "SELECT app, object, id, data FROM app_records WHERE account = ? ORDER BY app, object, seq"
        return [json.dumps(r) for r in conn.execute(q, (account,))]

    assert data("a") == data("b")
    assert data("a") != data("c")
    assert _counts(conn, "a") == _counts(conn, "b")
    conn.close()


# ---- vtiger actions ------------------------------------------------------------------------


def test_vtiger_query_records(apps: dict[str, App], db: sqlite3.Connection) -> None:
    vt = apps["vtiger"]
    out = run(
        vt,
        db,
        "query-records",
        {
            "query": "SELECT firstname, lastname, email FROM Contacts "
            "WHERE lastname LIKE 'S%' ORDER BY lastname DESC LIMIT 5;"
        },
    )
    recs = out["records"]
    assert 0 < len(recs) <= 5 and "cursor" not in out
    assert all(
        set(r) == {"id", "firstname", "lastname", "email"} and r["lastname"].startswith("S") for r in recs
    )
    assert [r["lastname"] for r in recs] == sorted((r["lastname"] for r in recs), reverse=True)
    total = int(
        run(vt, db, "query-records", {"query": "SELECT count(*) FROM Contacts;"})["records"][0]["count"]
    )
    first = run(vt, db, "query-records", {"query": "SELECT * FROM Contacts;"})
    assert len(first["records"]) == 100 and first["cursor"] == "100"
    second = run(vt, db, "query-records", {"query": "SELECT * FROM Contacts;", "cursor": first["cursor"]})
    assert second["records"][0]["id"] != first["records"][0]["id"]
    seen, cursor = 0, None
    while True:
        page = run(
            vt,
            db,
            "query-records",
            {"query": "SELECT id FROM Contacts", **({"cursor": cursor} if cursor else {})},
        )
        seen += len(page["records"])
        cursor = page.get("cursor")
        if not cursor:
            break
    assert seen == total


def test_vtiger_crud_cycle(apps: dict[str, App], db: sqlite3.Connection) -> None:
    vt = apps["vtiger"]
    created = run(
        vt,
        db,
        "create-record",
        {
            "elementType": "Potentials",
            "element": {
                "potentialname": "Sandbox deal",
                "related_to": "11x1",
                "closingdate": "2025-12-31",
                "sales_stage": "Prospecting",
                "amount": 12500,
            },
        },
    )
    rid = created["id"]
    assert rid.startswith("13x") and created["amount"] == "12500.00" and created["assigned_user_id"] == "19x1"
    assert created["createdtime"] == created["modifiedtime"]
    got = run(vt, db, "retrieve-record", {"id": rid})
    assert got == created
    updated = run(vt, db, "update-record", {"id": rid, "element": {"sales_stage": "Closed Won"}})
    assert updated["sales_stage"] == "Closed Won" and updated["potentialname"] == "Sandbox deal"
    found = run(
        vt, db, "query-records", {"query": f"SELECT potentialname FROM Potentials WHERE id = '{rid}';"}
    )
    assert found["records"] == [{"id": rid, "potentialname": "Sandbox deal"}]
    assert run(vt, db, "delete-record", {"id": rid}) == {"status": "successful", "id": rid}
    with pytest.raises(AppError) as err:
        run(vt, db, "retrieve-record", {"id": rid})
    assert err.value.status == 404 and err.value.data["code"] == "RECORD_NOT_FOUND"


@pytest.mark.parametrize(
    ("key", "input", "code"),
    [
        ("retrieve-record", {"id": "99x1"}, "INVALID_ID_ATTRIBUTE"),
        (
            "create-record",
            {"elementType": "Contacts", "element": {"firstname": "No last name"}},
            "MANDATORY_FIELDS_MISSING",
        ),
        (
            "create-record",
            {"elementType": "Contacts", "element": {"lastname": "X", "nosuchfield": "1"}},
            "INVALID_FIELD_VALUE",
        ),
        (
            "create-record",
            {"elementType": "HelpDesk", "element": {"ticket_title": "T", "ticketstatus": "Bogus"}},
            "INVALID_FIELD_VALUE",
        ),
        (
            "create-record",
            {"elementType": "Contacts", "element": {"lastname": "X", "account_id": "11x999999"}},
            "INVALID_FIELD_VALUE",
        ),
        ("query-records", {"query": "SELECT * FROM Spaceships;"}, "ACCESS_DENIED"),
        ("query-records", {"query": "SELECT nosuch FROM Contacts;"}, "QUERY_SYNTAX_ERROR"),
        ("query-records", {"query": "SELEC * FROM Contacts;"}, "QUERY_SYNTAX_ERROR"),
    ],
)
def test_vtiger_errors(
    apps: dict[str, App], db: sqlite3.Connection, key: str, input: dict[str, Any], code: str
) -> None:
    vt = apps["vtiger"]
    with pytest.raises(AppError) as err:
        vt.run(db, ACCOUNT, action(vt, key), input)
    assert err.value.status == 400 and err.value.data["code"] == code and err.value.message


def test_vtiger_describe_list_modules_and_me(apps: dict[str, App], db: sqlite3.Connection) -> None:
    vt = apps["vtiger"]
    d = run(vt, db, "describe-module", {"elementType": "Potentials"})
    fields = {f["name"]: f for f in d["fields"]}
    assert d["idPrefix"] == "13" and d["label"] == "Deals"
    assert "Closed Won" in [p["value"] for p in fields["sales_stage"]["type"]["picklistValues"]]
    assert fields["related_to"]["type"]["refersTo"] == ["Accounts"] and fields["potentialname"]["mandatory"]
    assert d["blocks"] and all(f["block"]["blocklabel"] for f in d["fields"])
    mods = run(vt, db, "list-modules")["modules"]
    assert {m["name"] for m in mods} == VTIGER_MODULES
    assert [m for m in mods if m["isCustom"]] == [m for m in mods if m["name"] == "Shipments"]
    me = run(vt, db, "get-current-user")
    assert me["id"] == "19x1" and me["user_name"] == "admin" and me["is_admin"] == "on"


# ---- the query language --------------------------------------------------------------------

ROWS = [
    {"id": "1x1", "name": "Alpha", "amount": "100.00", "city": "Berlin", "note": ""},
    {"id": "1x2", "name": "beta", "amount": "250.50", "city": "Paris", "note": "x"},
    {"id": "1x3", "name": "Gamma", "amount": "75", "city": "Berlin", "note": "y"},
    {"id": "1x4", "name": "Delta", "amount": "1000", "city": "Rome", "note": ""},
]


def where(text: str) -> list[str]:
    q = parse(f"SELECT * FROM M WHERE {text};")
    assert q.where is not None
    return [r["id"] for r in ROWS if q.where(r)]


@pytest.mark.parametrize(
    ("cond", "ids"),
    [
        ("city = 'Berlin'", ["1x1", "1x3"]),
        ("city = 'berlin'", ["1x1", "1x3"]),
        ("city != 'Berlin'", ["1x2", "1x4"]),
        ("city <> 'Berlin'", ["1x2", "1x4"]),
        ("amount > 99", ["1x1", "1x2", "1x4"]),
        ("amount >= '250.5'", ["1x2", "1x4"]),
        ("amount < 100", ["1x3"]),
        ("amount <= 100", ["1x1", "1x3"]),
        ("name LIKE 'B%'", ["1x2"]),
        ("name LIKE '%a'", ["1x1", "1x2", "1x3", "1x4"]),
        ("name LIKE '_elta'", ["1x4"]),
        ("name NOT LIKE '%mm%'", ["1x1", "1x2", "1x4"]),
        ("city IN ('Rome', 'Paris')", ["1x2", "1x4"]),
        ("city NOT IN ('Rome', 'Paris')", ["1x1", "1x3"]),
        ("note IS NULL", ["1x1", "1x4"]),
        ("note IS NOT NULL", ["1x2", "1x3"]),
        ("city = 'Berlin' AND amount > 80", ["1x1"]),
        ("city = 'Rome' OR amount < 80", ["1x3", "1x4"]),
        ("(city = 'Rome' OR city = 'Paris') AND amount > 300", ["1x4"]),
        ("city = 'Rome' OR city = 'Paris' AND amount > 300", ["1x4"]),
        ("NOT city = 'Berlin'", ["1x2", "1x4"]),
        ('name = "Alpha"', ["1x1"]),
        ("name = 'O''Brien'", []),
    ],
)
def test_query_filters(cond: str, ids: list[str]) -> None:
    assert where(cond) == ids


def test_query_clauses() -> None:
    q = parse("select firstname, lastname from Contacts order by lastname desc, firstname limit 5, 10")
    assert q.module == "Contacts" and q.columns == ["firstname", "lastname"]
    assert q.order == [("lastname", True), ("firstname", False)] and (q.offset, q.limit) == (5, 10)
    assert parse("SELECT count(*) FROM Leads;").count is True
    assert parse("SELECT * FROM Leads LIMIT 3;").limit == 3
    assert parse("SELECT * FROM Leads").columns is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT FROM Contacts;",
        "SELECT * Contacts;",
        "SELECT * FROM Contacts WHERE;",
        "SELECT * FROM Contacts WHERE a = ;",
        "SELECT * FROM Contacts WHERE a LIKE;",
        "SELECT * FROM C WHERE (a = 1;",
        "SELECT * FROM C LIMIT x;",
        "SELECT * FROM C; DROP TABLE x;",
        "SELECT * FROM C WHERE a = 'unterminated;",
        "SELECT * FROM C ORDER lastname;",
    ],
)
def test_query_syntax_errors(text: str) -> None:
    with pytest.raises(QueryError):
        parse(text)


def test_query_order_and_limit_on_records(apps: dict[str, App], db: sqlite3.Connection) -> None:
    vt = apps["vtiger"]
    q = "SELECT amount FROM Potentials WHERE amount > 1000 ORDER BY amount DESC LIMIT 2, 3;"
    top = run(vt, db, "query-records", {"query": q})["records"]
    everything = run(
        vt,
        db,
        "query-records",
        {"query": "SELECT amount FROM Potentials WHERE amount > 1000 ORDER BY amount DESC LIMIT 5;"},
    )["records"]
    assert top == everything[2:5]
    assert [float(r["amount"]) for r in everything] == sorted(
        (float(r["amount"]) for r in everything), reverse=True
    )


# ---- proxies -------------------------------------------------------------------------------


def test_vtiger_proxy(apps: dict[str, App], db: sqlite3.Connection) -> None:
    vt = apps["vtiger"]
    status, body, _ = call(vt, db, "GET", "/me")
    assert status == 200 and body["success"] and body["result"]["id"] == "19x1"
    status, body, _ = call(vt, db, "GET", "/listtypes", {"fieldTypeList": "null"})
    assert (
        set(body["result"]["types"]) == VTIGER_MODULES and body["result"]["information"]["HelpDesk"]["label"]
    )
    status, body, _ = call(vt, db, "GET", "/describe", {"elementType": "HelpDesk"})
    assert body["result"]["name"] == "HelpDesk"
    status, body, _ = call(vt, db, "GET", "/query", {"query": "SELECT ticket_title FROM HelpDesk LIMIT 2;"})
    assert status == 200 and len(body["result"]) == 2
    rid = body["result"][0]["id"]
    status, body, _ = call(vt, db, "GET", "/retrieve", {"id": rid})
    assert body["result"]["id"] == rid and "ticketstatus" in body["result"]
    element = json.dumps({"lastname": "Proxyson", "email": "p@example.com", "bogus_field": "ignored"})
    status, body, _ = call(
        vt, db, "POST", "/create", body={"elementType": "Contacts", "element": element}, form=True
    )
    assert status == 200 and body["result"]["lastname"] == "Proxyson" and "bogus_field" not in body["result"]
    cid = body["result"]["id"]
    status, body, _ = call(vt, db, "POST", "/revise", body={"element": {"id": cid, "title": "CFO"}})
    assert body["result"]["title"] == "CFO" and body["result"]["lastname"] == "Proxyson"
    status, body, _ = call(vt, db, "POST", "/update", body={"element": {"id": cid, "title": "CEO"}})
    assert status == 400 and body["error"]["code"] == "MANDATORY_FIELDS_MISSING"
    status, body, _ = call(vt, db, "POST", "/delete", body={"id": cid}, form=True)
    assert body == {"success": True, "result": {"status": "successful"}}
    status, body, _ = call(vt, db, "GET", "/retrieve", {"id": cid})
    assert status == 400 and body == {
        "success": False,
        "error": {"code": "RECORD_NOT_FOUND", "message": body["error"]["message"]},
    }
    status, body, _ = call(vt, db, "GET", "/query", {"query": "SELECT * FROM Nope;"})
    assert status == 400 and body["error"]["code"] == "ACCESS_DENIED"
    status, body, _ = call(vt, db, "GET", "/no-such-endpoint")
    assert status == 404 and body["success"] is False
    status, body, _ = call(vt, db, "GET", "/restapi/v1/vtiger/default/me")
    assert status == 200
    status, body, _ = call(vt, db, "GET", "/create")
    assert status == 405


def test_onecrm_proxy(apps: dict[str, App], db: sqlite3.Connection) -> None:
    oc = apps["1crm"]
    status, body, _ = call(
        oc, db, "GET", "/api.php/data/Account", {"limit": "5", "offset": "10", "order": "name"}
    )
    assert (
        status == 200 and len(body["records"]) == 5 and body["total_results"] >= 100 and body["offset"] == 10
    )
    names = [r["name"] for r in body["records"]]
    assert names == sorted(names, key=str.casefold)
    status, body, _ = call(
        oc,
        db,
        "GET",
        "/api.php/data/Opportunity",
        {"filters[sales_stage]": "Closed Won", "fields": "name,amount"},
    )
    assert body["records"] and all(set(r) == {"id", "name", "amount"} for r in body["records"])
    status, body, _ = call(
        oc, db, "POST", "/api.php/data/Contact", body={"data": {"last_name": "Api", "email1": "api@ex.com"}}
    )
    assert status == 200
    cid = body["id"]
    status, body, _ = call(oc, db, "PATCH", f"/api.php/data/Contact/{cid}", body={"data": {"title": "CTO"}})
    assert body == {"result": True}
    status, body, _ = call(oc, db, "GET", f"/api.php/data/Contact/{cid}")
    assert body["record"]["title"] == "CTO" and body["record"]["date_entered"]
    status, body, _ = call(oc, db, "DELETE", f"/api.php/data/Contact/{cid}")
    assert body == {"result": True}
    status, body, _ = call(oc, db, "GET", f"/api.php/data/Contact/{cid}")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body, _ = call(oc, db, "GET", "/api.php/data/Spaceship")
    assert status == 404
    status, body, _ = call(oc, db, "GET", "/api.php/nothing/here")
    assert status == 404 and "error" in body
    status, body, _ = call(oc, db, "GET", "/api.php/search", {"query": "acme"})
    assert status == 200 and all(r["model"] for r in body["results"])
    status, body, _ = call(oc, db, "POST", "/api.php/data/Contact", body={"data": {"first_name": "NoLast"}})
    assert status == 400


def test_bigtincan_proxy(apps: dict[str, App], db: sqlite3.Connection) -> None:
    bt = apps["bigtincan"]
    status, body, _ = call(bt, db, "GET", "/v5/story", {"limit": "3", "offset": "0", "status": "published"})
    assert status == 200 and len(body["data"]) == 3 and body["meta"]["limit"] == 3
    assert all(s["status"] == "published" for s in body["data"])
    sid, space = body["data"][0]["id"], body["data"][0]["spaceId"]
    status, body, _ = call(bt, db, "GET", f"/v5/story/{sid}")
    assert body["data"]["id"] == sid
    status, body, _ = call(bt, db, "GET", f"/v5/story/{sid}/content")
    assert all(c["storyId"] == sid for c in body["data"])
    status, body, _ = call(bt, db, "POST", "/v5/story", body={"title": "New story", "spaceId": space})
    assert status == 201 and body["data"]["likesCount"] == 0 and body["data"]["authorId"]
    new = body["data"]["id"]
    status, body, _ = call(bt, db, "PATCH", f"/v5/story/{new}", body={"status": "published"})
    assert body["data"]["status"] == "published"
    status, body, _ = call(bt, db, "DELETE", f"/v5/story/{new}")
    assert status == 200 and body["data"]["deleted"] is True
    status, body, _ = call(bt, db, "GET", f"/v5/story/{new}")
    assert status == 404 and body["error"]["status"] == 404
    status, body, _ = call(bt, db, "GET", "/v5/search", {"q": "pricing"})
    assert status == 200 and body["meta"]["total"] >= 1
    status, body, _ = call(bt, db, "GET", "/v5/user", {"sort": "-lastName", "limit": "5"})
    assert [u["lastName"] for u in body["data"]] == sorted(
        (u["lastName"] for u in body["data"]), reverse=True
    )
    status, body, _ = call(bt, db, "GET", "/v5/spaceship")
    assert status == 404
    status, body, _ = call(bt, db, "GET", "/v4/story")
    assert status == 404
    status, body, _ = call(bt, db, "POST", "/v5/story", body={"title": "No space"})
    assert status == 400


# ---- other apps' actions -------------------------------------------------------------------


@pytest.mark.parametrize("app_key", ["1crm", "bigtincan"])
def test_every_list_and_get_action_runs_and_matches_its_schema(
    apps: dict[str, App], db: sqlite3.Connection, app_key: str
) -> None:
    app = apps[app_key]
    for a in app.actions():
        if a.impl.get("op") == "list":
            out = run(app, db, a.key, {"limit": 3})
            if out["records"] and a.impl["object"] not in ("SystemSettings", "UserSettings"):
                getter = next(g for g in app.actions() if g.impl == {"op": "get", "object": a.impl["object"]})
                run(app, db, getter.key, {"id": out["records"][0]["id"]})
    run(
        app,
        db,
        "get-system-settings" if app_key == "1crm" else "search-content",
        {} if app_key == "1crm" else {"query": "deck"},
    )


def test_onecrm_actions(apps: dict[str, App], db: sqlite3.Connection) -> None:
    oc = apps["1crm"]
    acc = run(oc, db, "create-account", {"name": "Zyxwv Test Co", "account_type": "Customer"})
    assert len(acc["id"]) == 36 and acc["assigned_user_id"]
    hits = run(oc, db, "search-accounts", {"query": "zyxwv"})["records"]
    assert [h["id"] for h in hits] == [acc["id"]]
    contact = run(oc, db, "create-contact", {"last_name": "Linked", "email1": "linked@zyxwv.com"})
    run(
        oc,
        db,
        "link-records",
        {"model": "Account", "id": acc["id"], "related_model": "Contact", "related_id": contact["id"]},
    )
    related = run(
        oc, db, "list-related-records", {"model": "Account", "id": acc["id"], "related_model": "Contact"}
    )
    assert [r["id"] for r in related["records"]] == [contact["id"]]
    run(
        oc,
        db,
        "unlink-records",
        {"model": "Account", "id": acc["id"], "related_model": "Contact", "related_id": contact["id"]},
    )
    assert (
        run(
            oc, db, "list-related-records", {"model": "Account", "id": acc["id"], "related_model": "Contact"}
        )["records"]
        == []
    )
    imported = run(
        oc,
        db,
        "import-records",
        {
            "model": "Lead",
            "records": [
                {"last_name": "Imp1", "email1": "imp1@zyxwv.com"},
                {"last_name": "Imp2", "email1": "imp1@zyxwv.com"},
                {"first_name": "missing last"},
            ],
            "skip_duplicates_by": "email1",
        },
    )
    assert imported["created"] == 1 and imported["skipped"] == 1 and imported["errors"][0]["row"] == 2
    upd = run(
        oc, db, "mass-update-records", {"model": "Lead", "ids": imported["ids"], "values": {"status": "Dead"}}
    )
    assert upd["updated"] == 1
    exp = run(
        oc, db, "export-records", {"model": "Lead", "filters": {"status": "Dead"}, "fields": ["last_name"]}
    )
    assert exp["csv"].startswith("last_name\r\n") and "Imp1" in exp["csv"]
    g = run(oc, db, "global-search", {"query": "zyxwv", "models": ["Account", "Contact"]})
    assert {r["model"] for r in g["results"]} == {"Account", "Contact"}
    s = run(oc, db, "update-system-settings", {"default_currency": "EUR"})
    assert s["default_currency"] == "EUR" and run(oc, db, "get-system-settings")["default_currency"] == "EUR"
    picklists = run(oc, db, "list-picklists", {"filters": {"module": "Opportunity", "field": "sales_stage"}})
    assert "Closed Won" in picklists["records"][0]["options"]
    with pytest.raises(AppError) as err:
        run(oc, db, "get-account", {"id": "00000000-0000-0000-0000-000000000000"})
    assert err.value.status == 404
    with pytest.raises(AppError):
        oc.run(
            db,
            ACCOUNT,
            action(oc, "create-opportunity"),
            {"name": "x", "account_id": acc["id"], "sales_stage": "Nope", "date_closed": "2025-01-01"},
        )


def test_list_paging_filters_and_sorting(apps: dict[str, App], db: sqlite3.Connection) -> None:
    bt = apps["bigtincan"]
    seen: list[int] = []
    cursor = None
    while True:
        page = run(bt, db, "list-spaces", {"limit": 7, **({"cursor": cursor} if cursor else {})})
        seen += [r["id"] for r in page["records"]]
        cursor = page.get("cursor")
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 25
    space = seen[0]
    stories = run(bt, db, "list-stories", {"filters": {"spaceId": space}, "sortBy": "title", "limit": 100})
    assert all(s["spaceId"] == space for s in stories["records"])
    titles = [s["title"] for s in stories["records"]]
    assert titles == sorted(titles, key=str.casefold)
    with pytest.raises(AppError):
        bt.run(db, ACCOUNT, action(bt, "list-stories"), {"cursor": "not-a-cursor"})


# ---- build_action --------------------------------------------------------------------------


def test_build_action_vtiger_campaigns_expected_revenue(apps: dict[str, App], db: sqlite3.Connection) -> None:
    vt = apps["vtiger"]
    spec = vt.build_action("list all vtiger campaigns with their expected revenue")
    assert isinstance(spec, ActionSpec)
    assert spec.key == "list-campaigns-expected-revenue" and spec.type == "list-data-records"
    assert spec.impl["object"] == "Campaigns" and "expectedrevenue" in spec.impl["fields"]
    jsonschema.Draft202012Validator.check_schema(spec.input_schema)
    assert "expectedrevenue" in spec.output_schema["properties"]["records"]["items"]["properties"]
    out = vt.run(db, ACCOUNT, spec, {})
    jsonschema.Draft202012Validator(spec.output_schema).validate(out)
    assert out["records"] and all("expectedrevenue" in r for r in out["records"])


@pytest.mark.parametrize(
    ("app_key", "intent", "object_key", "verb"),
    [
        ("vtiger", "show me all open deals", "Potentials", "list"),
        ("vtiger", "find tickets about login problems", "HelpDesk", "search"),
        ("vtiger", "create a new ticket", "HelpDesk", "create"),
        ("vtiger", "how many organizations are there", "Accounts", "count"),
        ("vtiger", "delete a lead", "Leads", "delete"),
        ("vtiger", "update a project task", "ProjectTask", "update"),
        ("vtiger", "retrieve a contact by id", "Contacts", "get"),
        ("1crm", "search contacts by email", "Contact", "search"),
        ("1crm", "list opportunities with amount and sales stage", "Opportunity", "list"),
        ("1crm", "list time entries", "Booking", "list"),
        ("bigtincan", "list stories in a space", "story", "list"),
        ("bigtincan", "get all channels", "space", "list"),
        ("bigtincan", "list files of a story", "story_content", "list"),
    ],
)
def test_build_action_matches_objects_and_verbs(
    apps: dict[str, App], db: sqlite3.Connection, app_key: str, intent: str, object_key: str, verb: str
) -> None:
    app = apps[app_key]
    spec = app.build_action(intent)
    assert isinstance(spec, ActionSpec), spec
    assert spec.impl["object"] == object_key and spec.impl["op"] == verb, spec.impl
    assert spec.key not in {a.key for a in app.actions()} and len(spec.key) <= 60
    jsonschema.Draft202012Validator.check_schema(spec.input_schema)
    jsonschema.Draft202012Validator.check_schema(spec.output_schema)
    if verb in ("list", "count"):
        out = app.run(db, ACCOUNT, spec, {})
        jsonschema.Draft202012Validator(spec.output_schema).validate(out)


def test_build_action_key_is_unique_against_catalog(apps: dict[str, App]) -> None:
    spec = apps["1crm"].build_action("list accounts")
    assert isinstance(spec, ActionSpec) and spec.key == "list-accounts-2"


@pytest.mark.parametrize(
    ("app_key", "intent", "key", "needle"),
    [
        ("vtiger", "list all spaceships", "unknown_object", "'spaceships'"),
        ("bigtincan", "list invoices", "unknown_object", "'invoices'"),
        ("vtiger", "merge duplicate contacts", "unsupported_operation", "merge"),
        ("1crm", "delete the system settings", "unsupported_operation", "delete"),
        ("vtiger", "   ", "empty_intent", "empty"),
    ],
)
def test_build_action_failures(
    apps: dict[str, App], app_key: str, intent: str, key: str, needle: str
) -> None:
    errors = apps[app_key].build_action(intent)
    assert isinstance(errors, list) and errors
    assert errors[0]["type"] == "configuration" and errors[0]["key"] == key and needle in errors[0]["message"]


# ---- synthetic apps ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 7, 50, 333])
def test_synthetic_app_has_exactly_n_actions(n: int) -> None:
    app = synthetic_app(3, n)
    assert app.key == "synth-003" and app.name == "Synthetic 3"
    keys = [a.key for a in app.actions()]
    assert len(keys) == n == len(set(keys))


def test_synthetic_apps_scale_and_run() -> None:
    many = [synthetic_app(i, 50) for i in range(100, 200)]
    assert len({a.key for a in many}) == 100
    app = many[0]
    for a in app.actions()[:5]:
        jsonschema.Draft202012Validator.check_schema(a.input_schema)
    conn = sqlite3.connect(":memory:")
    app.init_schema(conn)
    app.seed(conn, "s", 1)
    listed = app.run(conn, "s", app.actions()[0], {"limit": 5})
    assert len(listed["records"]) == 5 and listed["cursor"] == "5"
    created = app.run(conn, "s", app.actions()[2], {"name": "Made here", "status": "active"})
    got = app.run(conn, "s", app.actions()[1], {"id": created["id"]})
    assert got["name"] == "Made here"
    plural = app.actions()[0].key.removeprefix("list-")
    resp = app.proxy(conn, "s", "GET", f"/v1/{plural}/{created['id']}", [], {}, b"")
    assert resp.status == 200 and json.loads(resp.body)["data"]["name"] == "Made here"
    assert app.proxy(conn, "s", "GET", "/v1/nothing", [], {}, b"").status == 404
    built = app.build_action(f"list {plural} with amount")
    assert isinstance(built, ActionSpec) and "amount" in built.impl["fields"]


def test_vtiger_update_accepts_a_retrieved_record_back(apps: dict[str, App], db: sqlite3.Connection) -> None:
    vt = apps["vtiger"]
    rec = run(vt, db, "retrieve-record", {"id": "12x5"})
    out = run(vt, db, "update-record", {"id": "12x5", "element": {**rec, "title": "Head of Sandbox"}})
    assert out["title"] == "Head of Sandbox" and out["createdtime"] == rec["createdtime"]


def test_run_turns_malformed_input_into_400(apps: dict[str, App], db: sqlite3.Connection) -> None:
    oc = apps["1crm"]
    with pytest.raises(AppError) as err:
        oc.run(db, ACCOUNT, action(oc, "list-accounts"), {"limit": "many"})
    assert err.value.status == 400
