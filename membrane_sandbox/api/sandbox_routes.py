"""Sandbox-only endpoints under ``/_sandbox/``: stats, runtime fault settings, the connect pages."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .context import authenticate, json_object, sandbox
from .errors import bad_request
from .faults import update_faults


async def stats(request: Request) -> Response:
    state, _ = authenticate(request)
    with state.store.lock:
        db = state.store.db
        runs = {
            r["status"]: r["n"]
            for r in db.execute("SELECT status, COUNT(*) AS n FROM sandbox_action_runs GROUP BY status")
        }
        builds = {
            r["state"]: r["n"]
            for r in db.execute(
                "SELECT state, COUNT(*) AS n FROM sandbox_actions "
                "WHERE agent_session_id IS NOT NULL GROUP BY state"
            )
        }
        tenants = db.execute("SELECT COUNT(*) FROM sandbox_tenants").fetchone()[0]
        connections = db.execute(
            "SELECT COUNT(*) FROM sandbox_connections WHERE archived_at IS NULL"
        ).fetchone()[0]
    counters = state.store.counters("")
    return JSONResponse(
        {
            "openLongPolls": state.open_long_polls,
            "actionRuns": {
                "success": runs.get("success", 0),
                "error": runs.get("error", 0),
                "total": sum(runs.values()),
            },
            "proxyRequests": state.store.counters("proxy:"),
            "requestsServed": counters.get("requests", 0),
            "faults": {
                "injected5xx": counters.get("faults:5xx", 0),
                "dropped": counters.get("faults:dropped", 0),
                "spikes": counters.get("faults:spikes", 0),
            },
            "builds": {
                "building": builds.get("BUILDING", 0),
                "ready": builds.get("READY", 0),
                "failed": sum(n for s, n in builds.items() if s not in ("BUILDING", "READY")),
            },
            "tenants": tenants,
            "connections": connections,
        }
    )


async def get_faults(request: Request) -> Response:
    state, _ = authenticate(request)
    return JSONResponse(state.config.faults())


async def set_faults(request: Request) -> Response:
    state, _ = authenticate(request)
    problems = update_faults(state, await json_object(request))
    if problems:
        raise bad_request("Invalid fault settings: " + ", ".join(problems), {"fields": problems})
    return JSONResponse(state.config.faults())


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; margin: 3em"><h1>{title}</h1><p>{message}</p></body></html>
"""


async def connect_page(request: Request) -> Response:
    """What a connection's ``clientAction.uiUrl`` opens: no bearer, the code in the URL is the secret."""
    state = sandbox(request)
    connection_id = request.path_params["connection"]
    if state.complete_connect(connection_id, request.query_params.get("code", "")):
        return HTMLResponse(
            _PAGE.format(
                title="Connected",
                message=f"Connection {html.escape(connection_id)} is connected. You can close this page.",
            )
        )
    return HTMLResponse(
        _PAGE.format(
            title="Link not valid",
            message="This connect link is unknown, expired or already used.",
        ),
        status_code=404,
    )


async def connection_request_page(request: Request) -> Response:
    """What a connection request's ``url`` opens: the user "signs in", the request succeeds."""
    state = sandbox(request)
    request_id = request.path_params["request"]
    if state.complete_request(request_id, request.query_params.get("code", "")):
        return HTMLResponse(
            _PAGE.format(
                title="Connected",
                message=f"Connection request {html.escape(request_id)} is complete. You can close this page.",
            )
        )
    return HTMLResponse(
        _PAGE.format(title="Link not valid", message="This link is unknown, expired or already used."),
        status_code=404,
    )


routes = [
    Route("/_sandbox/stats", stats, methods=["GET"]),
    Route("/_sandbox/faults", get_faults, methods=["GET"]),
    Route("/_sandbox/faults", set_faults, methods=["POST"]),
    Route("/_sandbox/connect/{connection}", connect_page, methods=["GET"]),
    Route("/_sandbox/connection-requests/{request}", connection_request_page, methods=["GET"]),
]
