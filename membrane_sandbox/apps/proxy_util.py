"""Small helpers for the apps' own REST APIs behind Membrane's proxy."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

from membrane_sandbox.apps.base import ProxyResponse


class BadBody(ValueError):
    """The request body could not be read as JSON or a form."""


def json_response(status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> ProxyResponse:
    headers = {"content-type": "application/json; charset=utf-8", "x-request-id": str(uuid.uuid4())}
    headers.update(extra_headers or {})
    return ProxyResponse(status=status, headers=headers, body=json.dumps(payload).encode())


def header(headers: dict[str, str], name: str) -> str:
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), "")


def read_body(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """A JSON object or a form-encoded body as a dict (form values are strings)."""
    if not body or not body.strip():
        return {}
    ctype = header(headers, "content-type").lower()
    text = body.decode("utf-8", errors="replace")
    if "application/x-www-form-urlencoded" in ctype or (
        not ctype and not text.lstrip().startswith(("{", "["))
    ):
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadBody(f"invalid JSON body: {e.msg}") from None
    if not isinstance(data, dict):
        raise BadBody("the JSON body must be an object")
    return data


def split_path(path: str) -> list[str]:
    return [p for p in path.split("?")[0].split("/") if p]


def first(query: list[tuple[str, str]], name: str, default: str | None = None) -> str | None:
    return next((v for k, v in query if k == name), default)


def int_param(query: list[tuple[str, str]], name: str, default: int, lo: int, hi: int) -> int:
    raw = first(query, name)
    if raw in (None, ""):
        return default
    try:
        return max(lo, min(int(str(raw)), hi))
    except ValueError:
        raise BadBody(f"{name} must be an integer") from None
