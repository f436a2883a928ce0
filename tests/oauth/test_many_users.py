"""More users over OAuth than --max-tenants: each user's writes land in their own tenant only, and the
server never holds more tenant backends than the bound.

Users run as many at a time as there are slots. With more at once, a new user waits for a slot; the
SDK client gives `server/discover` 10 s and then falls back to the handshake era, whose session ends
when its tenant is closed for another user (hosts re-initialize after the 404; the SDK client does not).

A small run is the default; `-m heavy` runs 20 users through 5 tenant slots.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from tests.oauth.authserver import LoopbackAuthorizationServer
from tests.oauth.conftest import Deployment, deployed, oauth_client
from tests.processes import free_port


def deploy(tmp_path: Path, users: int, max_tenants: int) -> Iterator[Deployment]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = LoopbackAuthorizationServer(audience=url)
    for index in range(users):
        auth.add_client(f"user{index}", f"secret{index}")
    auth.start()
    args = ["--sandbox", "--sandbox-db", str(tmp_path / "sandbox.sqlite3"), "--tool-mode", "direct"]
    args += ["--apps", "vtiger", "--max-tenants", str(max_tenants), "--tenant-rate", "0"]
    with deployed(auth, port, args) as running:
        yield running


async def run_users(
    deployment: Deployment, users: int, writes: int, at_once: int
) -> dict[int, tuple[int, int]]:
    """Every user writes `writes` leads (`at_once` users at a time); once all have written, each counts
    the leads named for itself and for its neighbour."""
    limiter = anyio.CapacityLimiter(at_once)
    run = uuid.uuid4().hex[:6]
    marker = [f"U{index}x{run}" for index in range(users)]
    seen: dict[int, tuple[int, int]] = {}
    open_counts: list[int] = []

    async def leads(client: Client, lastname: str) -> int:
        result = await client.call_tool(
            "vtiger_query_records", {"query": f"SELECT * FROM Leads WHERE lastname = '{lastname}';"}
        )
        assert not result.is_error, result.content
        return len(result.structured_content["records"])

    async def note_open_tenants() -> None:
        async with httpx.AsyncClient() as http:
            open_counts.append((await http.get(f"{deployment.url}/healthz")).json()["tenants"]["open"])

    async def write(index: int) -> None:
        async with limiter, oauth_client(deployment, f"user{index}", f"secret{index}") as client:
            for _ in range(writes):
                created = await client.call_tool(
                    "vtiger_create_record",
                    {"elementType": "Leads", "element": {"lastname": marker[index], "company": "Load"}},
                )
                assert not created.is_error, created.content
            await note_open_tenants()

    async def count(index: int) -> None:
        async with limiter, oauth_client(deployment, f"user{index}", f"secret{index}") as client:
            seen[index] = (
                await leads(client, marker[index]),
                await leads(client, marker[(index + 1) % users]),
            )
            await note_open_tenants()

    for phase in (write, count):
        async with anyio.create_task_group() as group:
            for index in range(users):
                group.start_soon(phase, index)
    assert max(open_counts) <= deployment_max(deployment)
    return seen


def deployment_max(deployment: Deployment) -> int:
    return int(httpx.get(f"{deployment.url}/healthz").json()["tenants"]["max"])


def test_six_users_share_three_tenant_slots_without_leaking(tmp_path: Path) -> None:
    for deployment in deploy(tmp_path, users=6, max_tenants=3):
        seen = anyio.run(run_users, deployment, 6, 2, 3)
        assert seen == {index: (2, 0) for index in range(6)}


@pytest.mark.heavy
def test_twenty_users_over_oauth_with_five_tenant_slots(tmp_path: Path) -> None:
    for deployment in deploy(tmp_path, users=20, max_tenants=5):
        seen = anyio.run(run_users, deployment, 20, 5, 5)
        assert seen == {index: (5, 0) for index in range(20)}
