"""Direct-mode tool definitions: fewer bytes, nothing a model needs lost (issue 17 item 3, issue 14 item 7).

Driven through the MCP client against the sandbox's real apps and its synthetic apps. Bytes are an
outcome of what we list (compact JSON, as the SDK serialises a tools/list result), not a timing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from mcp import types

from membrane_mcp.tools.catalog import ToolEntry, connection_suffix, render_tools
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox
from tests.sandboxes import seeded_sandbox
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio

# Before (main at dddf665): synthetic 1,746 B per tool, 1CRM 440,338 B for 209 tools; at b1c7a2e 693 B and
# 184,509 B; at c1f457b 674.5 B and 173,372 B. Issue 17 asks for <= 500 B per synthetic tool, but what keeps
# every description, enum, format, default and required field cannot get there: a synthetic tool's name,
# description and inputSchema alone weigh 562 B on average (no title, no annotations; the tool's own
# description is 135 B of it), and still 520.5 B with every property description dropped, useful or not.
# The bounds below are what we reach (636.5 B, 161,136 B).
SYNTHETIC_MEAN_MAX = 640
ONECRM_TOTAL_MAX = 162_000

SPEC_HINT_DEFAULTS = {
    "readOnlyHint": False,
    "destructiveHint": True,
    "idempotentHint": False,
    "openWorldHint": True,
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with seeded_sandbox(SandboxConfig(build_seconds=0.3, synthetic_connections=2)) as running:
        yield running


def tool_bytes(tool: types.Tool) -> int:
    return len(
        json.dumps(tool.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
    )


async def listed(
    sandbox: RunningSandbox, **settings: Any
) -> tuple[dict[str, types.Tool], dict[str, ToolEntry], dict[str, Any]]:
    """The tools listed over MCP, the catalog entries behind them, and every action's input schema as
    Membrane's API hands it out (by action id)."""
    async with connect(settings_for(sandbox, tool_mode="direct", **settings)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        gateway = client.gateway  # type: ignore[attr-defined]
        snapshot = await gateway.catalog.snapshot()
        actions = {action.id: action.input_schema for action in await gateway.client.list_actions()}
    return tools, {entry.name: entry for entry in snapshot.entries}, actions


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()))


def _without_descriptions(node: Any) -> Any:
    """The schema minus every description and every keyword that only states the spec's default
    (`required: []`, `additionalProperties: true`); property names are kept, a property called
    `description` too."""
    if isinstance(node, list):
        return [_without_descriptions(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str):
            continue
        if key in ("enum", "const", "default", "examples"):
            out[key] = value  # data, not schemas
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _without_descriptions(sub) for name, sub in value.items()}
        else:
            out[key] = _without_descriptions(value)
    if out.get("required") == []:
        del out["required"]
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]
    return out


def _kept(original: Any, shown: Any, keyword: str, path: str = "") -> list[str]:
    """Every `keyword` of `original`, at the same place in `shown` with the same value."""
    problems: list[str] = []
    if isinstance(original, list):
        for index, item in enumerate(original):
            other = shown[index] if isinstance(shown, list) and index < len(shown) else None
            problems += _kept(item, other, keyword, f"{path}/{index}")
        return problems
    if not isinstance(original, dict):
        return problems
    if keyword in original:
        value = original[keyword]
        if not isinstance(shown, dict) or shown.get(keyword) != value:
            if not (
                keyword == "required" and value == [] and isinstance(shown, dict) and keyword not in shown
            ):
                problems.append(f"{path}: {keyword} {value!r} -> {shown!r:.80}")
    for key, value in original.items():
        if key in ("enum", "const", "default", "examples") or not isinstance(value, dict | list):
            continue
        other = shown.get(key) if isinstance(shown, dict) else None
        if key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                found = other.get(name) if isinstance(other, dict) else None
                problems += _kept(sub, found, keyword, f"{path}/properties/{name}")
        else:
            problems += _kept(value, other, keyword, f"{path}/{key}")
    return problems


# Words that only join names in a label ("Id of the Assets record to delete", "Field to sort by").
CONNECTIVES = {"a", "an", "the", "of", "to", "by", "for", "record", "field"}


def _names_only(label: str, name: str, action: str) -> bool:
    """A label made of its property's name words (at least one), connectives and the action's words
    (which the tool's name says): "Account (id of a Account record)" for account_id, "Id of the Assets
    record to delete." for `id` of Delete Asset. Plurals count as their singular."""

    def singular(words: set[str]) -> set[str]:
        return {re.sub(r"(?<=...[^s])s$", "", re.sub(r"(?<=..)ies$", "y", w)) for w in words}

    words = singular(_words(label) - {"new"})
    own = singular(_words(name))
    return bool(words & own) and words <= own | singular(_words(action)) | CONNECTIVES


def lost_descriptions(
    original: Any, shown: Any, name: str = "", path: str = "", action: str = ""
) -> list[str]:
    """Descriptions of `original` that `shown` dropped or cut although they said more than a name/enum
    (`action`: the action's name, for the top-level properties)."""
    problems: list[str] = []
    if isinstance(original, list) and isinstance(shown, list):
        for index, (a, b) in enumerate(zip(original, shown, strict=True)):
            problems += lost_descriptions(a, b, name, f"{path}/{index}")
        return problems
    if not isinstance(original, dict) or not isinstance(shown, dict):
        return problems
    before, after = original.get("description"), shown.get("description")
    if isinstance(before, str) and before != after:
        label = re.sub(r"^Only records whose (.+) equals this value\.$", r"\1", before)
        names_only = _names_only(label, name, action)
        enum_cut = isinstance(after, str) and before.startswith(after) and "enum" in original
        if not (after is None and names_only) and after != label and not enum_cut:
            problems.append(f"{path}: {before!r} -> {after!r}")
    for key, value in original.items():
        if key == "properties" and isinstance(value, dict):
            for prop, sub in value.items():
                problems += lost_descriptions(
                    sub, shown["properties"][prop], prop, f"{path}/{prop}", action if not path else ""
                )
        elif isinstance(value, dict | list) and key not in (
            "enum",
            "default",
            "examples",
            "const",
            "required",
        ):
            problems += lost_descriptions(value, shown[key], name, f"{path}/{key}")
    return problems


async def test_no_listed_tool_loses_what_the_actions_schema_says(sandbox):
    tools, entries, actions = await listed(sandbox)
    names = [name for name in tools if name in entries]
    assert len(names) > 300  # the real apps and both synthetic apps
    for name in names:
        tool, entry = tools[name], entries[name]
        original = actions[entry.action_id]  # the input schema as Membrane's API hands it out
        assert entry.schema_changes == (), name  # none needs sanitising: listed and original line up
        # Every enum, format, default and required field, where the action's schema has it.
        for keyword in ("enum", "format", "default", "required"):
            assert _kept(original, tool.input_schema, keyword) == [], (name, keyword)
        # And every other keyword (types, constraints, nesting) except those equal to the spec's default.
        assert _without_descriptions(tool.input_schema) == _without_descriptions(original), name
        # Every description, unless it only repeated the property's name or the enum beside it.
        assert lost_descriptions(original, tool.input_schema, action=entry.action_name) == [], name
        assert tool.input_schema["type"] == "object"
        suffix = connection_suffix(entry.app_name, entry.connection_name)
        assert tool.description in (entry.description, entry.description.removesuffix(suffix)), name


async def test_title_only_when_it_reads_differently_from_the_name(sandbox):
    tools, entries, _ = await listed(sandbox)
    untitled = titled = 0
    for name, entry in entries.items():
        title = entry.annotations["title"]
        if _words(title) == _words(name):  # "1CRM: Get Account" and 1crm_get_account read the same
            assert tools[name].title is None, name
            untitled += 1
        else:  # "Synthetic 0: Get Asset" names the app as synth_000_get_asset cannot
            assert tools[name].title == title, name
            titled += 1
    assert untitled > 200 and titled == 100  # the real apps' tools, the synthetic ones


async def test_title_once_and_only_hints_that_differ_from_the_spec_defaults(sandbox):
    tools, entries, _ = await listed(sandbox, apps=["1crm"])
    kinds = set()
    for name, entry in entries.items():
        hints = tools[name].annotations
        sent = hints.model_dump(by_alias=True, exclude_none=True) if hints else {}
        assert "title" not in sent, name
        expected = {k: v for k, v in entry.annotations.items() if k in SPEC_HINT_DEFAULTS}
        if entry.kind == "read":
            # The spec gives destructiveHint and idempotentHint meaning only when readOnlyHint is false.
            assert sent == {"readOnlyHint": True}, name
            expected = {k: v for k, v in expected.items() if k in ("readOnlyHint", "openWorldHint")}
        seen = {**SPEC_HINT_DEFAULTS, **sent}  # unset means the spec's default
        assert {k: seen[k] for k in expected} == expected, name
        assert all(SPEC_HINT_DEFAULTS[k] != v for k, v in sent.items()), name
        kinds.add(entry.kind)
    assert {"read", "create", "update", "delete"} <= kinds


async def test_connection_named_only_when_an_app_has_several(sandbox):
    tools, entries, _ = await listed(sandbox, apps=["1crm"])
    assert entries and all("connection '" not in tools[name].description for name in entries)

    one = entries["1crm_get_account"]
    other = replace(one, name="1crm_x_get_account", connection_id="conn-2", connection_name="Second")
    other = replace(other, description=other.description.replace("'1CRM'", "'Second'"))
    rendered = {tool.name: tool for tool in render_tools([one, other])}
    assert rendered[one.name].description == one.description.replace("'Second'", "'1CRM'")
    assert rendered[one.name].description.endswith("[1CRM connection '1CRM']")
    assert rendered[other.name].description.endswith("[1CRM connection 'Second']")


async def test_byte_targets_on_the_sandbox_and_synthetic_catalogs(sandbox):
    tools, entries, _ = await listed(sandbox)
    synthetic = [tool_bytes(tools[name]) for name in entries if name.startswith("synth")]
    onecrm = [tool_bytes(tools[name]) for name in entries if entries[name].app_key == "1crm"]
    assert len(onecrm) == 209 and len(synthetic) == 100
    assert sum(synthetic) / len(synthetic) <= SYNTHETIC_MEAN_MAX
    assert sum(onecrm) < ONECRM_TOTAL_MAX


async def test_auto_mode_weighs_the_tool_list(sandbox):
    roomy = settings_for(sandbox, tool_mode="auto", apps=["vtiger"], direct_tool_limit=1000)
    async with connect(roomy) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert "vtiger_query_records" in names

    tight = settings_for(
        sandbox, tool_mode="auto", apps=["vtiger"], direct_tool_limit=1000, direct_max_bytes=2000
    )
    async with connect(tight) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert "vtiger_query_records" not in names and "search_actions" in names
