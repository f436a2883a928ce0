"""Search quality of search_actions on a public task set, through the MCP surface, against the sandbox.

Run: .venv/bin/pytest tests/search -q -s   (-s prints the report even when the targets hold)
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from membrane_mcp.tools.search import ID_SHAPE_TOKEN, SearchIndex, parse_query, stem, tokenize
from tests.server.conftest import connect, settings_for

TASKS_FILE = Path(__file__).with_name("tasks.json")
APPS = ("vtiger", "1crm", "bigtincan")
TOP3_TARGET = 0.90


def load_tasks() -> list[dict[str, Any]]:
    return json.loads(TASKS_FILE.read_text())


def test_task_set_is_well_formed() -> None:
    tasks = load_tasks()
    assert len(tasks) >= 90
    counts: dict[str, int] = defaultdict(int)
    for task in tasks:
        assert set(task) == {"query", "app", "expected", "split"}, task
        assert task["app"] in APPS and task["split"] in ("dev", "holdout") and task["expected"], task
        counts[task["app"]] += 1
    assert all(counts[app] >= 25 for app in APPS), counts
    holdout = sum(task["split"] == "holdout" for task in tasks) / len(tasks)
    assert 0.25 <= holdout <= 0.40, holdout
    assert len({task["query"] for task in tasks}) == len(tasks)


def test_expected_keys_exist_in_the_sandbox_catalogs() -> None:
    catalogs = Path(__file__).parents[2] / "membrane_mcp" / "sandbox" / "catalogs"
    keys = {
        app: {a["key"] for a in json.loads((catalogs / f"{app}.json").read_text())["actions"]} for app in APPS
    }
    missing = [(t["app"], k) for t in load_tasks() for k in t["expected"] if k not in keys[t["app"]]]
    assert not missing


def _rate(rows: list[tuple[bool, bool]]) -> tuple[float, float]:
    return sum(r[0] for r in rows) / len(rows), sum(r[1] for r in rows) / len(rows)


def _report(outcomes: list[dict[str, Any]]) -> str:
    lines = ["search_actions quality (top-1 / top-3):"]
    for split in ("dev", "holdout"):
        rows = [(o["top1"], o["top3"]) for o in outcomes if o["split"] == split]
        top1, top3 = _rate(rows)
        lines.append(f"  {split:8} all       {top1:.3f} / {top3:.3f}  (n={len(rows)})")
        for app in APPS:
            app_rows = [(o["top1"], o["top3"]) for o in outcomes if o["split"] == split and o["app"] == app]
            a1, a3 = _rate(app_rows)
            lines.append(f"  {split:8} {app:9} {a1:.3f} / {a3:.3f}  (n={len(app_rows)})")
    misses = [o for o in outcomes if not o["top1"]]
    if misses:
        lines.append("not first:")
        for o in misses:
            mark = "top3" if o["top3"] else "MISS"
            lines.append(
                f"  [{o['split']}] {mark} {o['query']!r} want {o['app']}:{o['expected']} got {o['got']}"
            )
    return "\n".join(lines)


@pytest.mark.anyio
async def test_search_actions_meets_the_accuracy_targets(sandbox) -> None:
    outcomes: list[dict[str, Any]] = []
    async with connect(settings_for(sandbox)) as client:
        for task in load_tasks():
            result = await client.call_tool("search_actions", {"query": task["query"], "limit": 3})
            assert not result.is_error, result.content
            hits = (result.structured_content or {})["results"]
            got = [f"{hit['app']}:{hit['key']}" for hit in hits]
            right = [hit["app"] == task["app"] and hit["key"] in task["expected"] for hit in hits]
            outcomes.append({**task, "got": got, "top1": any(right[:1]), "top3": any(right[:3])})
    report = _report(outcomes)
    print("\n" + report)
    for split in ("dev", "holdout"):
        _, top3 = _rate([(o["top1"], o["top3"]) for o in outcomes if o["split"] == split])
        assert top3 >= TOP3_TARGET, report


# -- unit tests of the ranking pieces -------------------------------------------------------------


def test_stemming_folds_plurals_and_verb_forms() -> None:
    assert stem("opportunities") == stem("opportunity")
    assert stem("contacts") == stem("contact")
    assert stem("addresses") == stem("address")
    assert stem("creates") == stem("created") == stem("creating") == stem("create")
    assert stem("status") == stem("statuses")
    assert stem("12x34") == "12x34"


def test_tokenize_splits_camel_case_and_marks_id_shapes() -> None:
    tokens = tokenize("HelpDesk record 12x34")
    assert {"helpdesk", "help", "desk"} <= set(tokens)
    assert ID_SHAPE_TOKEN in tokens
    assert tokenize("the of and") == []


def _entry(app: str, key: str, description: str, schema: dict[str, Any] | None = None) -> Any:
    from membrane_mcp.tools.catalog import ToolEntry

    name = key.replace("-", " ").title()
    return ToolEntry(
        name=f"{app}_{key}",
        app_key=app,
        app_name=app.title(),
        connection_id=f"c-{app}",
        connection_name=app,
        action_id=f"{app}-{key}",
        action_key=key,
        action_name=name,
        description=description,
        kind="read",
        input_schema=schema or {"type": "object", "properties": {}},
        validation_schema={},
        wrapped_key=None,
        output_schema=None,
        annotations={},
    )


MODULES = {
    "type": "object",
    "properties": {
        "elementType": {
            "type": "string",
            "enum": ["Potentials", "HelpDesk"],
            "description": "Potentials (Deals), HelpDesk (Tickets).",
        }
    },
}
SMALL_CATALOG = [
    _entry("crma", "list-opportunities", "Lists CRMA Opportunities records."),
    _entry("crma", "create-case", "Creates a CRMA Case."),
    _entry("crma", "list-contacts", "Lists CRMA Contacts records."),
    _entry(
        "crmb",
        "query-records",
        "Queries records of one CRMB module.",
        {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "e.g. SELECT * FROM Potentials;"}},
        },
    ),
    _entry("crmb", "create-record", "Creates a record in the given CRMB module.", MODULES),
    _entry("crmb", "retrieve-record", "Retrieves one CRMB record by its id (e.g. 12x34)."),
]


def test_synonyms_find_an_object_under_another_name() -> None:
    index = SearchIndex(SMALL_CATALOG)
    assert index.search("list deals", 1)[0].entry.action_key == "list-opportunities"
    assert index.search("create a support ticket", 1)[0].entry.action_key == "create-case"
    assert index.search("find people", 1)[0].entry.action_key == "list-contacts"


def test_an_app_named_in_the_query_steers_to_that_app() -> None:
    index = SearchIndex(SMALL_CATALOG)
    assert index.search("list deals", 1)[0].entry.app_key == "crma"
    top = index.search("list deals in crmb", 1)[0].entry
    assert (top.app_key, top.action_key) == ("crmb", "query-records")
    assert index.search("open a ticket in crmb", 1)[0].entry.action_key == "create-record"


def test_an_id_shape_only_one_app_uses_steers_to_it() -> None:
    index = SearchIndex(SMALL_CATALOG)
    assert index.search("show record 7x120", 1)[0].entry.action_key == "retrieve-record"
    concepts, apps = parse_query("show deal 7x120", {ID_SHAPE_TOKEN: "crmb"})
    assert apps == {"crmb"}
    assert any(("get", 1.0) in concept.variants for concept in concepts)


def test_empty_or_stop_word_queries_find_nothing() -> None:
    index = SearchIndex(SMALL_CATALOG)
    assert index.search("", 5) == []
    assert index.search("   ", 5) == []
    assert index.search("the of and", 5) == []


def test_the_same_action_through_a_second_connection_comes_after_distinct_hits() -> None:
    from dataclasses import replace

    twin = replace(SMALL_CATALOG[0], name="crma2_list-opportunities", connection_id="c-crma-2")
    index = SearchIndex([*SMALL_CATALOG, twin])
    hits = index.search("opportunities", 10)
    keys = [(hit.entry.app_key, hit.entry.action_key) for hit in hits]
    assert keys.index(("crma", "list-opportunities")) == 0
    assert keys[-1] == ("crma", "list-opportunities")
    assert len(hits) == len(set(keys)) + 1
