"""Peak RSS of the server while a ~100 MB upstream answer is cut (issue 11, bounded memory).

``python -m bench.body_cap [--mib 100]``: a sandbox process gets 50 Vtiger leads with 2 MiB
descriptions (written straight to the sandbox, not through the server); then ``membrane-mcp serve
--transport http`` runs ``run_action query-records`` over all of them (one ~100 MB answer) and
``raw_request GET /query`` likewise. Reported: the server's peak RSS (VmHWM) before and after, and
what came back. Run once with the default --max-response-bytes and once with it above the body size.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio

from bench.common import http_server, log, sandbox_process

DESCRIPTION = 2 * 1024 * 1024
QUERY = "SELECT * FROM Leads WHERE lastname = 'Bulky' LIMIT 100;"


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


async def populate(url: str, token: str, records: int) -> None:
    from membrane_mcp.membrane.auth import StaticToken
    from membrane_mcp.membrane.client import MembraneClient, MembraneConfig

    async with MembraneClient(MembraneConfig(base_url=url), StaticToken(token)) as client:
        connection = next(c for c in await client.list_connections() if "vtiger" in (c.name or "").lower())
        create = next(a for a in await client.list_actions(connection.id) if a.key == "create-record")
        for index in range(records):
            element = {"lastname": "Bulky", "company": f"Acme {index}", "description": "x" * DESCRIPTION}
            await client.run_action(create.id, connection.id, {"elementType": "Leads", "element": element})


async def query(url: str) -> dict[str, Any]:
    from mcp import Client

    async with Client(url) as client:
        run = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "query-records", "input": {"query": QUERY}}
        )
        raw = await client.call_tool(
            "raw_request",
            {"connection": "vtiger", "method": "GET", "path": "/query", "query": {"query": QUERY}},
        )
    output = (run.structured_content or {}).get("output") or {}
    return {
        "run_is_error": run.is_error,
        "run_records": len(output.get("records", [])),
        "run_note": (output.get("_truncated") or {}).get("note"),
        "run_text_bytes": len(run.content[0].text.encode()),
        "raw_is_error": raw.is_error,
        "raw_text_bytes": len(raw.content[0].text.encode()),
    }


def measure(limit: int | None, records: int) -> dict[str, Any]:
    with sandbox_process() as sandbox:
        anyio.run(populate, sandbox.url, sandbox.token, records)
        extra = ["--apps", "vtiger", *(["--max-response-bytes", str(limit)] if limit else [])]
        with http_server(sandbox, *extra) as server:
            before = peak_rss_mb(server.process.pid)
            outcome = anyio.run(query, server.url)
            after = peak_rss_mb(server.process.pid)
    return {"max_response_bytes": limit or "default (8 MiB)", "peak_rss_before_mb": round(before, 1),
            "peak_rss_after_mb": round(after, 1), **outcome}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.body_cap", description=__doc__)
    parser.add_argument("--mib", type=int, default=100, help="size of the upstream answer, MiB")
    args = parser.parse_args()
    records = max(1, args.mib // 2)
    for limit in (None, (args.mib + 20) * 1024 * 1024):
        log(f"body cap: {records} records of 2 MiB, max_response_bytes={limit or 'default'}")
        print(json.dumps(measure(limit, records)), flush=True)


if __name__ == "__main__":
    main()
