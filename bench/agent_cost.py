"""Figure 10: agent cost. Bytes the tool surface returns, and calls made, for a fixed script of CRM tasks.

The script is what a careful agent does for 12 everyday tasks across Vtiger, 1CRM and Bigtincan on the
sandbox: search for an action, then run it (search mode), or call the action's tool directly (direct mode).
It is driven through the `mcp` SDK client against an in-process server, so every byte counted is a byte a
host would hand to the model: the text block of each tool result (the compact JSON the model reads), and
in direct mode the tools/list it pays on every turn (reported apart).

The script uses the tool surface the server offers: a count uses `count_only` and a list of names uses
`fields` when the run tool accepts them, a write goes to `run_write_action` when that tool is listed, and
`describe_action` is called when a task needs a schema the search result didn't give. A step never
depends on those features to succeed, so the same script runs on any version of the server.

``python -m bench.agent_cost [--json]`` prints the table; ``python -m bench --only 10`` makes it a figure
(``--smoke``: search mode only),
compared with the numbers recorded in ``agent_cost_before.json`` (the server before issue 14).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from bench.common import BenchConfig, Result, log

FIGURE = "10. Agent cost"
BEFORE = Path(__file__).resolve().with_name("agent_cost_before.json")
TARGET_RATIO = 0.5  # at least 50 % fewer bytes than before, no task with more calls


@dataclass
class TaskCost:
    calls: int = 0
    bytes: int = 0
    errors: int = 0


@dataclass
class Driver:
    """One MCP session, counting what each task costs."""

    client: Any
    mode: str  # "search" | "direct"
    tools: dict[str, Any] = field(default_factory=dict)
    cost: TaskCost = field(default_factory=TaskCost)

    def run_properties(self) -> set[str]:
        tool = self.tools.get("run_action")
        return set((tool.input_schema or {}).get("properties", {})) if tool is not None else set()

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        result = await self.client.call_tool(name, arguments)
        text = "".join(getattr(block, "text", "") for block in result.content)
        self.cost.calls += 1
        self.cost.bytes += len(text.encode("utf-8"))
        if result.is_error:
            self.cost.errors += 1
            return None
        if result.structured_content is not None:
            return result.structured_content
        try:
            return json.loads(text)
        except ValueError:
            return text

    async def search(self, query: str, limit: int = 5, app: str | None = None) -> Any:
        if self.mode == "direct":
            return None  # the tool list already shows every action
        args: dict[str, Any] = {"query": query, "limit": limit}
        if app:
            args["app"] = app
        return await self.call("search_actions", args)

    async def run(
        self,
        app: str,
        key: str,
        action_input: dict[str, Any],
        *,
        write: bool = False,
        fields: list[str] | None = None,
        count_only: bool = False,
    ) -> Any:
        """Run an action; with `fields`/`count_only` when the surface offers them."""
        shaping: dict[str, Any] = {}
        offered = self.run_properties()
        if fields and "fields" in offered:
            shaping["fields"] = fields
        if count_only and "count_only" in offered:
            shaping["count_only"] = True
        if self.mode == "direct":
            name = f"{app}_{key.replace('-', '_')}"
            direct_props = set((self.tools[name].input_schema or {}).get("properties", {}))
            direct_args = dict(action_input)
            for option, value in shaping.items():
                if option in direct_props and option not in action_input:
                    direct_args[option] = value
            payload = await self.call(name, direct_args)
            return payload
        tool = "run_write_action" if write and "run_write_action" in self.tools else "run_action"
        payload = await self.call(tool, {"connection": app, "action": key, "input": action_input, **shaping})
        return payload.get("output") if isinstance(payload, dict) else payload


def _records(output: Any) -> list[dict[str, Any]]:
    if isinstance(output, dict):
        for key in ("records", "items", "data", "result"):
            value = output.get(key)
            if isinstance(value, list):
                return [r for r in value if isinstance(r, dict)]
        if isinstance(output.get("output"), dict):
            return _records(output["output"])
    return []


def _first_id(output: Any) -> Any:
    records = _records(output)
    if records:
        return records[0].get("id")
    if isinstance(output, dict) and isinstance(output.get("ids"), list) and output["ids"]:
        return output["ids"][0]
    return None


# The tasks. Each is what an agent that knows the answer's shape would do, no exploration beyond one search.


async def vtiger_count_contacts(d: Driver) -> None:
    await d.search("how many contacts are in vtiger")
    await d.run("vtiger", "query-records", {"query": "SELECT count(*) FROM Contacts;"})


async def vtiger_contact_names(d: Driver) -> None:
    await d.search("list contact names in vtiger")
    await d.run("vtiger", "query-records", {"query": "SELECT firstname, lastname FROM Contacts LIMIT 5;"})


async def vtiger_create_contact(d: Driver) -> None:
    await d.search("create a contact in vtiger")
    await d.run(
        "vtiger",
        "create-record",
        {"elementType": "Contacts", "element": {"lastname": "Agent-Cost", "firstname": "Bench"}},
        write=True,
    )


async def vtiger_update_contact(d: Driver) -> None:
    await d.search("update a contact's phone in vtiger")
    found = await d.run("vtiger", "query-records", {"query": "SELECT id FROM Contacts LIMIT 1;"})
    record_id = _first_id(found)
    if record_id:
        await d.run(
            "vtiger", "update-record", {"id": record_id, "element": {"phone": "+1 555 0100"}}, write=True
        )


async def onecrm_cases_of_account(d: Driver) -> None:
    await d.search("list cases of an account", limit=8)
    accounts = await d.run("1crm", "list-accounts", {"limit": 1}, fields=["id", "name"])
    account = _first_id(accounts)
    if account:
        await d.run(
            "1crm", "list-cases", {"filters": {"account_id": account}}, fields=["id", "name", "status"]
        )


async def onecrm_count_cases_per_account(d: Driver) -> None:
    await d.search("how many cases does each account have")
    accounts = await d.run("1crm", "list-accounts", {"limit": 3}, fields=["id", "name"])
    for record in _records(accounts)[:3]:
        await d.run(
            "1crm", "list-cases", {"filters": {"account_id": record["id"]}, "limit": 100}, count_only=True
        )


async def onecrm_p1_cases(d: Driver) -> None:
    await d.search("open cases with priority P1 in 1crm")
    await d.run("1crm", "list-cases", {"filters": {"priority": "P1"}}, fields=["id", "name", "status"])


async def onecrm_create_contact(d: Driver) -> None:
    await d.search("create a contact in 1crm")
    await d.run("1crm", "create-contact", {"first_name": "Bench", "last_name": "Agent-Cost"}, write=True)


async def onecrm_update_account_phone(d: Driver) -> None:
    await d.search("update an account's phone in 1crm")
    accounts = await d.run("1crm", "list-accounts", {"limit": 1}, fields=["id"])
    account = _first_id(accounts)
    if account:
        await d.run("1crm", "update-account", {"id": account, "phone_office": "+1 555 0101"}, write=True)


async def bigtincan_count_space_stories(d: Driver) -> None:
    await d.search("count the stories in a bigtincan space")
    await d.run("bigtincan", "list-stories", {"filters": {"spaceId": 701}, "limit": 100}, count_only=True)


async def bigtincan_list_spaces(d: Driver) -> None:
    await d.search("list spaces in bigtincan")
    await d.run("bigtincan", "list-spaces", {}, fields=["id", "name", "type"])


async def bigtincan_channels(d: Driver) -> None:
    # Bigtincan has no "channel": the search should say so and point at spaces.
    await d.search("list channels in bigtincan")
    await d.run("bigtincan", "list-spaces", {}, fields=["id", "name"])


TASKS: tuple[tuple[str, Callable[[Driver], Awaitable[None]]], ...] = (
    ("vtiger: count contacts", vtiger_count_contacts),
    ("vtiger: contact names", vtiger_contact_names),
    ("vtiger: create contact", vtiger_create_contact),
    ("vtiger: update contact", vtiger_update_contact),
    ("1crm: cases of an account", onecrm_cases_of_account),
    ("1crm: cases per account (3)", onecrm_count_cases_per_account),
    ("1crm: P1 cases", onecrm_p1_cases),
    ("1crm: create contact", onecrm_create_contact),
    ("1crm: update account phone", onecrm_update_account_phone),
    ("bigtincan: count stories of a space", bigtincan_count_space_stories),
    ("bigtincan: list spaces", bigtincan_list_spaces),
    ("bigtincan: channels (no such object)", bigtincan_channels),
)


def _list_bytes(result: Any) -> int:
    dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return len(json.dumps(dumped, separators=(",", ":")))


async def measure_mode(url: str, token: str, mode: str) -> dict[str, Any]:
    from mcp import Client

    from membrane_mcp.server.app import build_server
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.settings import Settings

    settings = Settings(api_url=url, token=token, tool_mode=mode)
    async with open_gateway(settings) as gateway, Client(build_server(gateway)) as client:
        listed = await client.list_tools()
        driver = Driver(client, mode, {tool.name: tool for tool in listed.tools})
        tasks: dict[str, dict[str, int]] = {}
        for name, task in TASKS:
            driver.cost = TaskCost()
            await task(driver)
            tasks[name] = {
                "calls": driver.cost.calls,
                "bytes": driver.cost.bytes,
                "errors": driver.cost.errors,
            }
    return {
        "tools_list_bytes": _list_bytes(listed),
        "tools": len(listed.tools),
        "calls": sum(t["calls"] for t in tasks.values()),
        "bytes": sum(t["bytes"] for t in tasks.values()),
        "errors": sum(t["errors"] for t in tasks.values()),
        "tasks": tasks,
    }


def measure(modes: tuple[str, ...] = ("search", "direct")) -> dict[str, Any]:
    """Each mode on a fresh sandbox (the writes of one don't show in the other)."""
    from membrane_sandbox.config import SandboxConfig
    from membrane_sandbox.serve import start_in_thread

    out: dict[str, Any] = {}
    for mode in modes:
        with start_in_thread(SandboxConfig(build_seconds=0.3)) as sandbox:
            out[mode] = anyio.run(measure_mode, sandbox.url, sandbox.token, mode)
    return out


def _before() -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads(BEFORE.read_text())
    except (OSError, ValueError):
        return None
    return loaded


def results(now: dict[str, Any], before: dict[str, Any] | None) -> list[Result]:
    out = []
    for mode, cur in now.items():
        old = (before or {}).get(mode)
        details = {**cur, "before": old}
        if old:
            ratio = cur["bytes"] / old["bytes"]
            more_calls = [
                name
                for name, task in cur["tasks"].items()
                if name in old["tasks"] and task["calls"] > old["tasks"][name]["calls"]
            ]
            ok = ratio <= TARGET_RATIO and not more_calls and cur["errors"] == 0
            gap = (
                ""
                if ok
                else f"{ratio:.2f}x before; more calls: {more_calls or 'none'}; errors {cur['errors']}"
            )
            out.append(
                Result(FIGURE, f"{mode} mode: bytes returned for {len(TASKS)} tasks ({cur['calls']} calls; "
                       f"before {old['bytes']} B, {old['calls']} calls)", cur["bytes"], "B",
                       f"<= {TARGET_RATIO:.0%} of before, no task more calls", "pass" if ok else "MISS", gap,
                       details)
            )  # fmt: skip
        else:
            out.append(Result(FIGURE, f"{mode} mode: bytes returned for {len(TASKS)} tasks", cur["bytes"], "B",
                              details=details))  # fmt: skip
        out.append(
            Result(FIGURE, f"{mode} mode: tools/list bytes (paid every turn)", cur["tools_list_bytes"], "B")
        )
    return out


def run(cfg: BenchConfig) -> list[Result]:
    # --smoke: search mode only (direct mode lists every action of the sandbox, 254 tools).
    now = measure(cfg.pick(("search", "direct"), ("search",)))
    for mode, cur in now.items():
        log(f"agent cost: {mode} {cur['bytes']} B / {cur['calls']} calls")
    return results(now, _before())


def table(now: dict[str, Any]) -> str:
    lines = [f"{'task':40} {'search calls':>12} {'search B':>9} {'direct calls':>12} {'direct B':>9}"]
    for name, _task in TASKS:
        s, d = now["search"]["tasks"][name], now["direct"]["tasks"][name]
        lines.append(f"{name:40} {s['calls']:>12} {s['bytes']:>9} {d['calls']:>12} {d['bytes']:>9}")
    s, d = now["search"], now["direct"]
    lines.append(f"{'total':40} {s['calls']:>12} {s['bytes']:>9} {d['calls']:>12} {d['bytes']:>9}")
    lines.append(f"tools/list bytes: search {s['tools_list_bytes']}, direct {d['tools_list_bytes']}")
    lines.append(f"errors: search {s['errors']}, direct {d['errors']}")
    return "\n".join(lines)


if __name__ == "__main__":
    measured = measure()
    print(json.dumps(measured, indent=2) if "--json" in sys.argv else table(measured))
