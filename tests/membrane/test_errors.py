from __future__ import annotations

import json

import pytest

from membrane_mcp.membrane import (
    AccessDenied,
    ActionRunError,
    AuthenticationError,
    BadRequest,
    ConnectionProblem,
    MembraneError,
    NotFound,
    RateLimited,
    UpstreamUnavailable,
)
from membrane_mcp.membrane.errors import error_from_response, parse_envelope, parse_retry_after


def _err(status: int, body: object, headers: dict[str, str] | None = None, **kw: object) -> MembraneError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return error_from_response(status, raw, headers or {}, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "type_", "key", "cls"),
    [
        (401, "bad_request", "not_authenticated", AuthenticationError),
        (400, "bad_request", "not_authenticated", AuthenticationError),
        (403, "bad_request", "access_denied", AccessDenied),
        (404, "bad_request", "not_found", NotFound),
        (429, "bad_request", "rate_limit_exceeded", RateLimited),
        (400, "bad_request", None, BadRequest),
        (409, "bad_request", "already_exists", BadRequest),
        (400, "action_run", None, ActionRunError),
        (500, "action_run", None, ActionRunError),
        (400, "connection", "connection_is_defunct", ConnectionProblem),
        (429, "connection", "rate_limit_exceeded", ConnectionProblem),
        (500, "internal", None, UpstreamUnavailable),
        (503, "internal", None, UpstreamUnavailable),
        (422, "configuration", None, MembraneError),
    ],
)
def test_envelope_maps_by_meaning(status: int, type_: str, key: str | None, cls: type[MembraneError]) -> None:
    body = {"type": type_, "message": "went wrong", "data": {"x": 1}}
    if key:
        body["key"] = key
    err = _err(status, body)
    assert type(err) is cls
    assert (err.status, err.type, err.key, err.message, err.data) == (
        status,
        type_,
        key,
        "went wrong",
        {"x": 1},
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, AccessDenied),
        (404, NotFound),
        (429, RateLimited),
        (400, BadRequest),
        (502, UpstreamUnavailable),
        (418, MembraneError),
    ],
)
def test_status_only_mapping_for_non_json_bodies(status: int, cls: type[MembraneError]) -> None:
    body = b"<html>" + b"x" * 1000 + b"</html>"
    err = _err(status, body, request_line="GET /connections")
    assert type(err) is cls
    assert err.status == status and err.request_line == "GET /connections"
    assert err.reason == "<html>" + "x" * 294  # only the first 300 characters of the body
    assert f"HTTP {status}" in str(err)


def test_empty_body_still_clear() -> None:
    err = _err(502, b"")
    assert err.reason == "" and err.status == 502 and isinstance(err, UpstreamUnavailable)
    assert "HTTP 502" in str(err)


def test_action_run_id_and_cause() -> None:
    err = _err(
        400,
        {
            "type": "action_run",
            "message": "Vtiger said no",
            "actionRunId": "run-1",
            "causedByError": {"type": "connection", "message": "upstream 500"},
        },
    )
    assert isinstance(err, ActionRunError)
    assert err.action_run_id == "run-1"
    assert err.reason == "Vtiger said no" and err.caused_by_message == "upstream 500"
    assert "actionRunId=run-1" in str(err)
    assert (
        _err(400, {"type": "action_run", "message": "m", "data": {"actionRunId": "r2"}}).action_run_id == "r2"
    )


def test_retry_after() -> None:
    err = _err(
        429,
        {"type": "bad_request", "key": "rate_limit_exceeded", "message": "slow down"},
        {"retry-after": "7"},
    )
    assert isinstance(err, RateLimited) and err.retry_after == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("nonsense") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)


def test_secrets_scrubbed_from_messages() -> None:
    token = "pat-very-secret"
    err = _err(
        401,
        {"type": "bad_request", "key": "not_authenticated", "message": f"bad token {token}"},
        secrets=[token],
    )
    assert token not in str(err) and token not in repr(err)
    err = _err(500, f"crash while handling Bearer {token}".encode(), secrets=[token])
    assert token not in str(err)


def test_parse_envelope_only_accepts_membrane_types() -> None:
    assert parse_envelope(b'{"type": "not_found_in_app", "message": "x"}') is None
    assert parse_envelope(b"[1, 2]") is None
    assert parse_envelope(b"nope") is None
    assert parse_envelope(b'{"type": "bad_request", "key": "not_found", "message": "x"}') is not None
