"""Limits of the HTTP transport: sessions per server and per caller, idle sessions, slow clients.

`SessionLimits` sits in front of the SDK's /mcp endpoint. It counts the handshake-era sessions it saw
opened, refuses a new one over ``max_sessions`` (503) or over ``max_sessions_per_caller`` for one bearer
credential (429) with a JSON-RPC error, and ends sessions that have been idle too long: those that
never called a tool after ``fresh_idle_timeout``, the others after ``idle_timeout`` (by sending the SDK
the same DELETE a client sends to end one). Expiry is checked whenever a request arrives, against an
injectable clock. It also answers a request whose ``id`` has an invalid type with -32600 (the SDK reads
it as a notification and would answer nothing), and gives up on a body that trickles in slower than
``body_timeout`` per chunk (408).

`SlowHeaderTimeoutH11` is uvicorn's h11 protocol with one more timer: a connection that has not sent
complete request headers within ``header_timeout`` seconds is closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from membrane_mcp.server.request_ids import has_invalid_id

logger = logging.getLogger(__name__)

SESSION_HEADER = b"mcp-session-id"
SERVER_ERROR = -32000
INVALID_REQUEST = -32600
_KEPT_ON_DELETE = frozenset({b"host", b"authorization", b"origin", b"mcp-protocol-version", b"user-agent"})


@dataclass
class _Session:
    caller: str | None
    headers: list[tuple[bytes, bytes]]
    scope: dict[str, Any]
    last_seen: float
    in_flight: int = 0
    called_tool: bool = False


@dataclass
class _Inspected:
    body: bytes
    method: str | None = None
    bad_id: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)


def jsonrpc_error(code: int, message: str, data: dict[str, Any] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if data:
        error["data"] = data
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()


class SessionLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_sessions: int,
        max_sessions_per_caller: int,
        idle_timeout: float,
        fresh_idle_timeout: float,
        body_timeout: float,
        max_body_bytes: int,
        path: str = "/mcp",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.max_sessions = max_sessions
        self.max_sessions_per_caller = max_sessions_per_caller
        self.idle_timeout = idle_timeout
        self.fresh_idle_timeout = fresh_idle_timeout
        self.body_timeout = body_timeout
        self.max_body_bytes = max_body_bytes
        self.path = path
        self.clock = clock
        self.sessions: dict[str, _Session] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        await self.expire_idle_sessions()
        inspected: _Inspected | None = None
        if scope["method"] == "POST":
            inspected = await self._read_body(receive, send)
            if inspected is None:
                return
            if inspected.bad_id:
                await _respond(
                    send,
                    400,
                    jsonrpc_error(INVALID_REQUEST, "Invalid request: 'id' must be a string or an integer"),
                )
                return
            receive = _replay(inspected.body, receive)
        session_id = _header(scope, SESSION_HEADER)
        if session_id is None:
            if inspected is not None and inspected.method == "initialize":
                await self._open_session(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        await self._use_session(session_id, inspected, scope, receive, send)

    # -- sessions -----------------------------------------------------------------------------

    def caller_of(self, scope: Scope) -> str | None:
        credential = _header(scope, b"authorization")
        return hashlib.sha256(credential.encode()).hexdigest()[:16] if credential else None

    async def _open_session(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = self.caller_of(scope)
        if len(self.sessions) >= self.max_sessions:
            logger.warning(
                "refused a new MCP session: %d sessions are open (--max-sessions)", len(self.sessions)
            )
            message = (
                f"Too many open MCP sessions on this server ({self.max_sessions}). End unused sessions "
                "(HTTP DELETE /mcp) or try again once idle ones expire."
            )
            await _respond(send, 503, jsonrpc_error(SERVER_ERROR, message, {"limit": self.max_sessions}))
            return
        mine = sum(1 for s in self.sessions.values() if s.caller is not None and s.caller == caller)
        if caller is not None and mine >= self.max_sessions_per_caller:
            logger.warning(
                "refused a new MCP session: caller %s has %d open (--max-sessions-per-caller)", caller, mine
            )
            message = (
                f"Too many open MCP sessions for this credential ({self.max_sessions_per_caller}). End unused "
                "sessions (HTTP DELETE /mcp) or try again once idle ones expire."
            )
            await _respond(
                send, 429, jsonrpc_error(SERVER_ERROR, message, {"limit": self.max_sessions_per_caller})
            )
            return
        opened: dict[str, Any] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                opened["status"] = message["status"]
                opened["id"] = next(
                    (
                        v.decode("latin-1")
                        for k, v in message.get("headers", [])
                        if k.lower() == SESSION_HEADER
                    ),
                    None,
                )
            await send(message)

        await self.app(scope, receive, watch)
        if opened.get("id") and opened.get("status", 500) < 400:
            kept = [(k, v) for k, v in scope["headers"] if k.lower() in _KEPT_ON_DELETE]
            self.sessions[opened["id"]] = _Session(caller, kept, dict(scope), self.clock())

    async def _use_session(
        self, session_id: str, inspected: _Inspected | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            await self.app(scope, receive, send)
            return
        if inspected is not None and inspected.method == "tools/call":
            session.called_tool = True
        status: dict[str, int] = {}
        finished = False

        def finish() -> None:
            nonlocal finished
            if not finished:
                finished = True
                session.in_flight -= 1
                session.last_seen = self.clock()

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finish()  # the response is complete even if the handler still winds down

        session.in_flight += 1
        try:
            await self.app(scope, receive, watch)
        finally:
            finish()
            if scope["method"] == "DELETE" or status.get("code") == 404:
                self.sessions.pop(session_id, None)

    async def expire_idle_sessions(self) -> int:
        """End every session idle past its timeout; returns how many."""
        now = self.clock()
        expired = [
            (session_id, session)
            for session_id, session in self.sessions.items()
            if session.in_flight == 0
            and now - session.last_seen
            > (self.idle_timeout if session.called_tool else self.fresh_idle_timeout)
        ]
        for session_id, session in expired:
            self.sessions.pop(session_id, None)
            await self._end(session_id, session)
        if expired:
            logger.info("ended %d idle MCP session(s)", len(expired))
        return len(expired)

    async def _end(self, session_id: str, session: _Session) -> None:
        """Send the SDK the DELETE a client sends to end its session."""
        scope = {
            **session.scope,
            "method": "DELETE",
            "headers": [*session.headers, (SESSION_HEADER, session_id.encode("latin-1"))],
            "query_string": b"",
        }

        async def ignore(message: Message) -> None:
            return None

        with anyio.CancelScope(shield=True):
            try:
                await self.app(scope, _replay(b""), ignore)
            except Exception:  # the session may already be gone; it is forgotten either way
                logger.debug("ending idle session %s failed", session_id[:8], exc_info=True)

    # -- bodies -------------------------------------------------------------------------------

    async def _read_body(self, receive: Receive, send: Send) -> _Inspected | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            # A cancel scope of our own rather than fail_after: as exact, and far cheaper per request.
            with anyio.move_on_after(self.body_timeout) as waiting:
                message = await receive()
            if waiting.cancelled_caught:
                logger.warning("request body not received within %g s; answered 408", self.body_timeout)
                await _respond(
                    send,
                    408,
                    jsonrpc_error(SERVER_ERROR, "Request body timed out; send it whole and promptly."),
                )
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _respond(
                    send,
                    413,
                    jsonrpc_error(
                        SERVER_ERROR, f"Request body too large (over {self.max_body_bytes} bytes)."
                    ),
                )
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        inspected = _Inspected(body)
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return inspected  # the SDK answers a parse error
        if isinstance(parsed, dict):
            inspected.bad_id = has_invalid_id(parsed)
            method = parsed.get("method")
            inspected.method = method if isinstance(method, str) else None
        return inspected


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:  # a plain loop: this runs for every request
        if key == name or key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}


def _replay(body: bytes, then: Receive = _disconnected) -> Receive:
    """The body already read, in one message; after it, the server's own receive (for the disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SlowHeaderTimeoutH11(H11Protocol):
    """Closes a connection whose request headers are not complete within `header_timeout` seconds."""

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        waiting = self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE
        if waiting and self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)
        elif not waiting and self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            logger.info(
                "closed a connection that sent no complete request headers in %g s", self.header_timeout
            )
            self.transport.close()


def header_timeout_protocol(seconds: float) -> type[SlowHeaderTimeoutH11]:
    return type("HeaderTimeoutH11", (SlowHeaderTimeoutH11,), {"header_timeout": seconds})
