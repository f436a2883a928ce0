"""Per-request helpers shared by the route modules."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request

from .auth import bearer_token, tenant_from_token
from .errors import bad_request
from .state import SandboxState


def sandbox(request: Request) -> SandboxState:
    return request.app.state.sandbox


def authenticate(request: Request) -> tuple[SandboxState, sqlite3.Row]:
    """The sandbox state and the caller's tenant row (provisioned on first use)."""
    state = sandbox(request)
    tenant_key = tenant_from_token(bearer_token(request), state.config)
    return state, state.tenant(tenant_key)


async def json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise bad_request("A JSON request body is required")
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from exc


async def json_object(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


def query_bool(query: QueryParams, name: str) -> bool | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise bad_request(f"{name} must be true or false", {"fields": {name: "must be true or false"}})


def wait_timeout(query: QueryParams) -> float | None:
    """``?wait=true&timeout=<1-60, default 30>`` → seconds to wait, or None without ``wait``."""
    if not query_bool(query, "wait"):
        return None
    raw = query.get("timeout")
    if raw is None or raw == "":
        return 30.0
    try:
        timeout = float(raw)
    except ValueError:
        timeout = 0.0
    if not 1 <= timeout <= 60:
        raise bad_request(
            "timeout must be a number of seconds from 1 to 60",
            {"fields": {"timeout": "must be from 1 to 60"}},
        )
    return timeout
