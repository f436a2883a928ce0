"""Membrane's error envelope: ``{type, key, message, data}`` with the documented statuses."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "bad_request",
        key: str | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.key = key
        self.data = data
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.key:
            body["key"] = self.key
        if self.data is not None:
            body["data"] = self.data
        body.update(self.extra)
        return body


def bad_request(message: str, data: dict[str, Any] | None = None) -> ApiError:
    return ApiError(400, message, data=data)


def not_found(message: str) -> ApiError:
    return ApiError(404, message, key="not_found")


def not_authenticated(message: str) -> ApiError:
    return ApiError(401, message, key="not_authenticated")


def already_exists(message: str) -> ApiError:
    return ApiError(400, message, key="already_exists")


def access_denied(message: str) -> ApiError:
    return ApiError(403, message, key="access_denied")


def rate_limited(retry_after_s: float | None) -> ApiError:
    """A 429; ``retry_after_s`` None sends no Retry-After (as no source shows Membrane sending one)."""
    headers = {} if retry_after_s is None else {"Retry-After": str(max(0, round(retry_after_s)))}
    return ApiError(429, "Too many requests, retry later", key="rate_limit_exceeded", headers=headers)


def internal(message: str = "Internal server error") -> ApiError:
    return ApiError(500, message, type="internal")


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = not_found(f"No such endpoint: {request.method} {request.url.path}")
    elif exc.status_code == 405:
        error = bad_request(f"Method {request.method} is not allowed on {request.url.path}")
    else:
        error = ApiError(
            exc.status_code, str(exc.detail), type="internal" if exc.status_code >= 500 else "bad_request"
        )
    return error_response(error)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(internal(f"Internal error: {type(exc).__name__}"))


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
