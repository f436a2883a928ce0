"""Fault injection (latency and its spikes, 5xx, 429 bursts, dropped connections) as ASGI middleware.

Every Membrane request draws the same three numbers from ``random.Random(seed)``, so a run with
the same seed and the same request order gets the same faults. ``/_sandbox/*`` is never faulted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, internal, rate_limited
from .state import SandboxState

log = logging.getLogger(__name__)


class FaultMiddleware:
    def __init__(self, app: ASGIApp, state: SandboxState):
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        state, config = self.state, self.state.config
        state.store.bump("requests")
        rate_draw, fault_draw, drop_draw = state.rng.random(), state.rng.random(), state.rng.random()
        delay = config.latency_ms
        # Drawn only when spikes are on, so the fault sequence of a seed without spikes is unchanged.
        if config.spike_rate > 0 and state.rng.random() < config.spike_rate:
            state.store.bump("faults:spikes")
            delay += state.rng.uniform(config.spike_ms / 10, config.spike_ms)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        # 5xx and 429 come before the request is handled: nothing runs, nothing is written.
        retry_after = None if config.has("no-retry-after") else config.retry_after_s
        if state.burst_remaining > 0:
            state.burst_remaining -= 1
            await _send_error(send, rate_limited(retry_after))
            return
        if rate_draw < config.rate_limit_rate:
            state.burst_remaining = max(0, config.rate_limit_burst - 1)
            await _send_error(send, rate_limited(retry_after))
            return
        if fault_draw < config.fault_rate:
            state.store.bump("faults:5xx")
            await _send_error(send, internal("Injected sandbox fault"))
            return
        if drop_draw < config.drop_rate:
            state.store.bump("faults:dropped")
            await self._handle_then_drop(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _handle_then_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the request in full (so a write may have happened), then cut the connection
        mid-body: the response start and half the body go out, then the app returns without
        completing the response, which makes uvicorn close the transport."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        if start is None:
            return
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        # Announce at least one byte more than we send, so the client can't mistake it for a whole body.
        headers.append((b"content-length", str(max(len(body), 1)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        log.info("dropped the connection of %s %s on purpose", scope["method"], scope["path"])


async def _send_error(send: Send, error: ApiError) -> None:
    import json

    body = json.dumps(error.body()).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def update_faults(state: SandboxState, changes: dict[str, Any]) -> dict[str, str]:
    """Apply runtime fault settings; returns problems per field (empty when all were applied)."""
    config = state.config
    problems: dict[str, str] = {}
    numeric = {name: getattr(config, name) for name in config.FAULT_FIELDS}
    for name, value in changes.items():
        if name == "seed":
            if isinstance(value, bool) or not isinstance(value, int):
                problems[name] = "must be an integer"
            continue
        if name not in numeric:
            problems[name] = "is not a fault setting"
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems[name] = "must be a non-negative number"
        elif name.endswith("_rate") and value > 1:
            problems[name] = "must be from 0 to 1"
    if problems:
        return problems
    for name, value in changes.items():
        if name == "seed":
            # Reseeding restarts the fault sequence: the way tests check reproducibility.
            state.rng.seed(value)
            state.burst_remaining = 0
        elif name == "rate_limit_burst":
            setattr(config, name, int(value))
        else:
            setattr(config, name, float(value))
    return {}
