"""Figure 11: reads under upstream faults (issue 11 item 7).

A sandbox that answers 10 % of requests with a 500 (``fault_rate=0.1``, reproducible by its seed); the server
runs ``run_action`` on Vtiger's ``query-records`` (a read) 100 times (20 in ``--smoke``) through the MCP client.
Reads are retried like any read, so every call should succeed; writes are never retried (not measured here).

``python -m bench --only 11``.
"""

from __future__ import annotations

from typing import Any

import anyio

from bench.common import BenchConfig, Result, log

FIGURE = "11. Reads under faults"
FAULT_RATE = 0.1
QUERY = "SELECT * FROM Contacts LIMIT 5;"


async def _run_reads(url: str, token: str, reads: int) -> dict[str, Any]:
    from mcp import Client

    from membrane_mcp.server.app import build_server
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.settings import Settings

    settings = Settings(api_url=url, token=token, tool_mode="search")
    failed: list[str] = []
    async with open_gateway(settings) as gateway, Client(build_server(gateway)) as client:
        for _ in range(reads):
            result = await client.call_tool(
                "run_action", {"connection": "vtiger", "action": "query-records", "input": {"query": QUERY}}
            )
            if result.is_error:
                failed.append(result.content[0].text[:200] if result.content else "")
    return {"reads": reads, "failed": len(failed), "first_failures": failed[:3]}


def measure(reads: int) -> dict[str, Any]:
    from membrane_sandbox.config import SandboxConfig
    from membrane_sandbox.serve import start_in_thread

    with start_in_thread(SandboxConfig(build_seconds=0.3)) as sandbox:
        # Faults start after the catalog is loadable: the figure is about action runs, not start-up.
        outcome = anyio.run(_run_reads_with_faults, sandbox, reads)
    return outcome


async def _run_reads_with_faults(sandbox: Any, reads: int) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient() as http:
        headers = {"Authorization": f"Bearer {sandbox.token}"}
        response = await http.post(
            f"{sandbox.url}/_sandbox/faults", json={"fault_rate": FAULT_RATE}, headers=headers
        )
        response.raise_for_status()
        outcome = await _run_reads(sandbox.url, sandbox.token, reads)
        stats = (await http.get(f"{sandbox.url}/_sandbox/stats", headers=headers)).json()
    outcome["faults_injected"] = stats.get("faults", {})
    return outcome


def run(cfg: BenchConfig) -> list[Result]:
    reads = 20 if cfg.smoke else 100
    outcome = measure(reads)
    log(f"   {outcome['reads']} reads at fault_rate {FAULT_RATE}: {outcome['failed']} failed")
    ok = outcome["failed"] == 0
    return [
        Result(
            FIGURE,
            f"run_action reads of vtiger query-records failed, of {reads} at fault_rate {FAULT_RATE}",
            float(outcome["failed"]),
            "calls",
            target="0",
            verdict="pass" if ok else "MISS",
            gap="" if ok else f"{outcome['failed']} failed",
            details=outcome,
        )
    ]
