from __future__ import annotations

import httpx
import pytest

from .conftest import client_for, connection_ids


def _pattern(client: httpx.Client, n: int) -> list[int]:
    return [client.get("/connections").status_code for _ in range(n)]


def test_faults_are_reproducible_from_the_seed(start_sandbox) -> None:
    sandbox = start_sandbox(fault_rate=0.3, rate_limit_rate=0.1, rate_limit_burst=2, seed=3)
    with client_for(sandbox) as client:
        first = _pattern(client, 40)
        assert client.post("/_sandbox/faults", json={"seed": 3}).status_code == 200
        second = _pattern(client, 40)
    assert first == second
    assert {500, 429, 200} <= set(first)
    other = start_sandbox(fault_rate=0.3, rate_limit_rate=0.1, rate_limit_burst=2, seed=3)
    with client_for(other) as client:
        assert _pattern(client, 40) == first


def test_injected_errors_use_the_envelope_and_run_nothing(start_sandbox) -> None:
    sandbox = start_sandbox(retry_after_s=2)
    with client_for(sandbox) as client:
        ids = connection_ids(client)
        client.post("/_sandbox/faults", json={"fault_rate": 1})
        failed = client.post(
            "/actions/create-contact/run",
            params={"connectionId": ids["vtiger"]},
            json={"input": {"name": "x"}},
        )
        assert failed.status_code == 500 and failed.json()["type"] == "internal"
        client.post("/_sandbox/faults", json={"fault_rate": 0, "rate_limit_rate": 1, "rate_limit_burst": 1})
        limited = client.post(
            "/actions/create-contact/run",
            params={"connectionId": ids["vtiger"]},
            json={"input": {"name": "x"}},
        )
        assert limited.status_code == 429
        assert limited.json()["key"] == "rate_limit_exceeded" and limited.headers["retry-after"] == "2"
        # /_sandbox/* is never faulted
        stats = client.get("/_sandbox/stats")
        assert stats.status_code == 200 and stats.json()["actionRuns"]["total"] == 0
        client.post("/_sandbox/faults", json={"rate_limit_rate": 0})


def test_rate_limit_bursts(start_sandbox) -> None:
    sandbox = start_sandbox(rate_limit_rate=1, rate_limit_burst=5)
    with client_for(sandbox) as client:
        statuses = _pattern(client, 3)
        client.post("/_sandbox/faults", json={"rate_limit_rate": 0})
        # the burst of five started by the first request goes on, then ends
        assert _pattern(client, 3) == [429, 429, 200]
    assert statuses == [429, 429, 429]


def test_dropped_connection_after_the_write(start_sandbox) -> None:
    sandbox = start_sandbox(drop_rate=1)
    with client_for(sandbox) as client:
        ids = connection_ids_safe(client)
        with pytest.raises(httpx.TransportError):
            client.post(
                "/actions/create-contact/run",
                params={"connectionId": ids["vtiger"]},
                json={"input": {"name": "Dropped"}},
            )
        client.post("/_sandbox/faults", json={"drop_rate": 0})
        assert client.get("/_sandbox/stats").json()["actionRuns"]["success"] == 1  # the write happened
        names = [
            r["name"]
            for r in client.post(
                "/actions/list-contacts/run", params={"connectionId": ids["vtiger"]}, json={}
            ).json()["output"]["records"]
        ]
        assert "Dropped" in names
        assert client.get("/_sandbox/stats").json()["faults"]["dropped"] == 1


def connection_ids_safe(client: httpx.Client) -> dict[str, str]:
    client.post("/_sandbox/faults", json={"drop_rate": 0})
    ids = connection_ids(client)
    client.post("/_sandbox/faults", json={"drop_rate": 1})
    return ids


def test_fault_settings_endpoint(start_sandbox) -> None:
    sandbox = start_sandbox()
    with client_for(sandbox) as client:
        settings = client.get("/_sandbox/faults").json()
        assert settings["fault_rate"] == 0 and "drop_rate" in settings and "latency_ms" in settings
        bad = client.post("/_sandbox/faults", json={"fault_rate": 2, "nope": 1})
        assert bad.status_code == 400 and set(bad.json()["data"]["fields"]) == {"fault_rate", "nope"}
        assert client.post("/_sandbox/faults", json={"latency_ms": 50}).json()["latency_ms"] == 50


def test_latency(start_sandbox, monkeypatch) -> None:
    from types import SimpleNamespace

    from membrane_sandbox.api import faults

    waits: list[float] = []

    async def recorded_sleep(seconds: float) -> None:  # records the injected latency instead of waiting
        waits.append(seconds)

    monkeypatch.setattr(faults, "asyncio", SimpleNamespace(sleep=recorded_sleep))
    sandbox = start_sandbox(latency_ms=200)
    with client_for(sandbox) as client:
        client.get("/connections")
        assert waits == [0.2]
        client.get("/_sandbox/stats")
        assert waits == [0.2]  # /_sandbox/* is never delayed
