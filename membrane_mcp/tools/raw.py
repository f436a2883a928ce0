"""raw_request: a request to the app's own API through Membrane's proxy, with guardrails.

The path is relative to the connection's API base (Membrane prepends it). Refused:
absolute URLs and schemes (unless ``--raw-allow-host`` names the URL's host; Membrane's
proxy accepts full URLs), ``..`` segments (also percent-encoded), backslashes and
control characters, credentials and routing headers (Membrane adds the app's auth
itself), methods outside the policy, and bodies over 1 MiB. Every refusal happens
before anything is sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from membrane_mcp.membrane.models import ProxyResponse
from membrane_mcp.tools.errors import ToolError
from membrane_mcp.tools.policy import Policy

MAX_BODY_BYTES = 1024 * 1024

FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "forwarded",
        "x-real-ip",
        "connection",
        "content-length",
        "transfer-encoding",
        "te",
        "upgrade",
        "x-membrane-token",
    }
)
FORBIDDEN_HEADER_PREFIXES = ("proxy-", "x-forwarded-")

USEFUL_RESPONSE_HEADERS = (
    "content-type",
    "location",
    "retry-after",
    "x-request-id",
    "link",
    "etag",
    "last-modified",
)

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.-]+)\}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes | None


def prepare_raw_request(args: dict[str, Any], policy: Policy) -> RawRequest:
    method = str(args["method"]).upper()
    allowed = policy.allowed_raw_methods()
    if method not in allowed:
        mode = " in read-only mode" if policy.read_only else ""
        raise ToolError(f"raw_request refuses {method}{mode}; allowed methods: {', '.join(sorted(allowed))}.")
    path = check_path(fill_path_params(str(args["path"]), args.get("path_params") or {}), policy)
    headers = check_headers(args.get("headers") or {})
    body = encode_body(args.get("body"), headers)
    if body is not None and method in ("GET", "HEAD"):
        raise ToolError(f"A {method} request carries no body; put parameters in 'query'.")
    query = [(str(k), _query_value(v)) for k, v in (args.get("query") or {}).items()]
    return RawRequest(method=method, path=path, query=query, headers=headers, body=body)


def fill_path_params(path: str, params: dict[str, Any]) -> str:
    missing = [name for name in _PLACEHOLDER.findall(path) if name not in params]
    if missing:
        raise ToolError(f"path_params lacks a value for: {', '.join(missing)}.")
    return _PLACEHOLDER.sub(lambda m: quote(str(params[m.group(1)]), safe=""), path)


def check_path(path: str, policy: Policy | None = None) -> str:
    if _CONTROL.search(path) or "\\" in path:
        raise ToolError("The path contains control characters or backslashes; refused.")
    if path.startswith("//") or "://" in path or _SCHEME.match(path):
        return _check_absolute(path, policy)
    _check_segments(path)
    return path if path.startswith("/") else "/" + path


def _check_segments(path: str) -> None:
    bare = path.split("?", 1)[0].split("#", 1)[0]
    segments = unquote(unquote(bare)).split("/")
    if any(segment in ("..", ".") for segment in segments):
        raise ToolError("The path may not contain '.' or '..' segments; refused.")


def _check_absolute(url: str, policy: Policy | None) -> str:
    relative_only = (
        "raw_request takes a path relative to the app's API (e.g. '/me'), not an absolute URL; refused."
    )
    allowed = sorted(policy.raw_allow_hosts) if policy else []
    if not allowed:
        raise ToolError(relative_only)
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ToolError(f"The URL does not parse ({exc}); refused.") from exc
    if parts.scheme.lower() not in ("https", "http") or not url.lower().startswith(
        parts.scheme.lower() + "://"
    ):
        raise ToolError(f"{relative_only} Absolute URLs must be http(s)://<host>/... with an allowed host.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ToolError(
            "The URL carries credentials (user@host); refused. Membrane adds the app's auth itself."
        )
    if policy is None or not policy.allows_raw_host(host):
        raise ToolError(
            f"Host {host!r} is not one raw_request may reach; allowed hosts: {', '.join(allowed)}. "
            "Use a path relative to the app's API instead."
        )
    _check_segments(parts.path)
    return url


def check_headers(headers: dict[str, Any]) -> dict[str, str]:
    refused = sorted(
        name
        for name in headers
        if name.lower() in FORBIDDEN_HEADERS or name.lower().startswith(FORBIDDEN_HEADER_PREFIXES)
    )
    if refused:
        raise ToolError(
            f"raw_request refuses these headers: {', '.join(refused)}. Membrane adds the app's credentials itself."
        )
    clean: dict[str, str] = {}
    for name, value in headers.items():
        text = str(value)
        if _CONTROL.search(name) or _CONTROL.search(text):
            raise ToolError(f"Header {name!r} contains control characters; refused.")
        clean[name] = text
    return clean


def encode_body(body: Any, headers: dict[str, str]) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    if len(data) > MAX_BODY_BYTES:
        raise ToolError(f"The body is {len(data)} bytes; raw_request sends at most {MAX_BODY_BYTES} (1 MiB).")
    return data


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def summarize_response(response: ProxyResponse) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in response.headers.items()}
    useful = {name: headers[name] for name in USEFUL_RESPONSE_HEADERS if name in headers}
    useful.update({k: v for k, v in headers.items() if k.startswith("x-ratelimit")})
    content_type = headers.get("content-type", "")
    body: Any
    if not response.body:
        body = None
    elif "json" in content_type:
        try:
            body = json.loads(response.body)
        except ValueError:
            body = response.body.decode("utf-8", errors="replace")
    else:
        body = response.body.decode("utf-8", errors="replace")
    return {"status": response.status, "ok": 200 <= response.status < 300, "headers": useful, "body": body}
