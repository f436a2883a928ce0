from __future__ import annotations

import argparse
import socket

import httpx

from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import add_arguments, config_from_args, start_in_thread

from .conftest import fake_apps


def test_cli_arguments_map_to_the_config(tmp_path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8090)
    args = parser.parse_args(
        ["--db", str(tmp_path / "x.db"), "--token", "t", "--workspace-key", "k", "--workspace-secret", "s",
         "--seed", "4", "--latency-ms", "5", "--fault-rate", "0.1", "--rate-limit-rate", "0.2", "--drop-rate",
         "0.3", "--build-seconds", "1.5", "--synthetic-connections", "2", "--synthetic-actions", "9"]
    )  # fmt: skip
    config = config_from_args(args)
    assert config == SandboxConfig(
        db_path=str(tmp_path / "x.db"), token="t", workspace_key="k", workspace_secret="s", seed=4,
        latency_ms=5, fault_rate=0.1, rate_limit_rate=0.2, drop_rate=0.3, build_seconds=1.5,
        synthetic_connections=2, synthetic_actions=9,
    )  # fmt: skip


def test_start_in_thread_and_stop() -> None:
    running = start_in_thread(SandboxConfig(), apps=fake_apps())
    assert running.url.startswith("http://127.0.0.1:") and running.token == "pat-sandbox"
    port = int(running.url.rsplit(":", 1)[1])
    assert (
        httpx.get(f"{running.url}/connections", headers={"Authorization": "Bearer pat-sandbox"}).status_code
        == 200
    )
    running.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
