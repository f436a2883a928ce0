"""``<METHOD> /connections/{conn}/proxy/<path>``: the app's own REST API, passed through verbatim."""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..apps.base import AppError
from .connections import find_connection
from .context import authenticate
from .errors import ApiError, bad_request, not_found

# Request headers Membrane's proxy never forwards (docs, /docs/how-membrane-works/connections/api-proxy).
DROPPED_REQUEST_HEADERS = frozenset(
    {
        "host",
        "authorization",
        "content-length",
        "connection",
        "x-request-id",
        "x-real-ip",
        "x-scheme",
        "x-original-forwarded-for",
        "x-different-name",
        "x-request-start",
        "x-using-nginx-controller",
        "x-amzn-trace-id",
        "forwarded-for-header",
        "proxy-protocol",
        "real_ip_header",
        "real_ip_recursive",
        "cdn-loop",
        "cf-ipcountry",
        "cf-ray",
        "cf-visitor",
        "cf-connecting-ip",
    }
)
# Hop-by-hop response headers; the ASGI server frames the body itself.
_HOP_BY_HOP = frozenset({"connection", "transfer-encoding", "keep-alive", "content-length"})
_ABSOLUTE = re.compile(r"^(https?):/+(.*)$", re.IGNORECASE)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def forwarded_headers(request: Request) -> dict[str, str]:
    return {
        name: value
        for name, value in request.headers.items()
        if name not in DROPPED_REQUEST_HEADERS and not name.startswith("x-forwarded-")
    }


def app_path(raw: str, base_url: str) -> str:
    """The path relative to the app's base URL, starting with "/".

    A full URL is accepted when it points under the app's base URL (the sandbox can't reach
    anything else); clients and proxies may have collapsed its "//" to "/".
    """
    match = _ABSOLUTE.match(raw)
    if match:
        url = f"{match.group(1).lower()}://{match.group(2)}"
        base = base_url.rstrip("/")
        if url != base and not url.startswith(base + "/") and not url.startswith(base + "?"):
            raise bad_request(
                f"The sandbox proxy only reaches {base}; got {url}",
                {"fields": {"path": f"must be relative or start with {base}"}},
            )
        raw = url[len(base) :]
    return "/" + raw.lstrip("/")


async def proxy(request: Request) -> Response:
    state, tenant = authenticate(request)
    connection = find_connection(state, tenant, request.path_params["connection"])
    app = state.apps.get(connection["integration_key"])
    if app is None:
        raise not_found(f"Integration {connection['integration_key']!r} is not available")
    if connection["state"] != "READY":
        raise ApiError(
            400,
            f"Connection {connection['id']} is not connected (state {connection['state']})",
            type="connection",
        )
    path = app_path(request.path_params.get("path", ""), app.base_url)
    body = await request.body()
    state.store.bump(f"proxy:{request.method}")
    query = request.query_params.multi_items()
    try:
        with state.store.tx() as db:
            result = app.proxy(
                db, connection["id"], request.method, path, query, forwarded_headers(request), body
            )
    except AppError as exc:
        # Apps answer with a ProxyResponse; an AppError still comes back as the app's own error, unwrapped.
        payload = json.dumps({"error": exc.message, **exc.data}).encode()
        return Response(payload, status_code=exc.status, media_type="application/json")
    headers = {k: v for k, v in result.headers.items() if k.lower() not in _HOP_BY_HOP}
    return Response(content=result.body, status_code=result.status, headers=headers)


routes = [
    Route("/connections/{connection}/proxy", proxy, methods=METHODS),
    Route("/connections/{connection}/proxy/{path:path}", proxy, methods=METHODS),
]
