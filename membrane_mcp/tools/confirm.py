"""Asking the user before a destructive call (``--confirm-destructive``), through MCP elicitation.

Only the client can answer: an elicitation reply comes from the host's UI, never from
tool arguments, so nothing the model fills in counts as a confirmation.

Two eras, one question:

- up to 2025-11-25, the server sends ``elicitation/create`` mid-call and waits
  (`LegacyConfirmer`), when the client declared the elicitation capability;
- from 2026-07-28 (MRTR), the call returns an ``input_required`` result and the client
  retries it with the user's answer (`MrtrConfirmer`). The retry's ``requestState`` is
  minted and HMAC-sealed here, bound to this exact tool call (name and arguments),
  short-lived and single-use, so neither a forged nor a replayed answer is accepted.

A client without elicitation gets ``None``: the gateway refuses and says why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import types
from mcp.shared.exceptions import NoBackChannelError

from membrane_mcp.tools.errors import ToolError

logger = logging.getLogger(__name__)

ConfirmFn = Callable[[str], Awaitable[bool | None]]
"""Ask the user; True confirmed, False declined or cancelled, None: the client cannot be asked."""

INPUT_KEY = "membrane-mcp/confirm"
STATE_TTL_SECONDS = 600.0

CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "confirm": {
            "type": "boolean",
            "title": "Run it",
            "description": "Tick to let the assistant run this change.",
        }
    },
    "required": ["confirm"],
}


class InputRequired(Exception):
    """Raised through the gateway to end this round with an ``input_required`` result."""

    def __init__(self, result: types.InputRequiredResult) -> None:
        super().__init__("input required")
        self.result = result


async def cannot_confirm(message: str) -> bool | None:
    return None


async def require_confirmation(confirm: ConfirmFn, what: str) -> None:
    """Ask before ``what`` runs; refuse (nothing sent) unless the user says yes."""
    answer = await confirm(f"Allow the assistant to {what}? This changes data in the app.")
    if answer is None:
        raise ToolError(
            f"Refused: this server requires the user's confirmation before it may {what} "
            "(--confirm-destructive), and this MCP client does not support elicitation (form mode), "
            "so the user cannot be asked. Nothing was sent. Ask the user to do it themselves, "
            "or to use a client that supports elicitation."
        )
    if not answer:
        raise ToolError(
            f"The user did not confirm; nothing was sent. Do not {what} unless the user asks again."
        )


def accepted(result: types.ElicitResult | Any) -> bool:
    if not isinstance(result, types.ElicitResult) or result.action != "accept":
        return False
    return bool(result.content) and result.content.get("confirm") is True  # type: ignore[union-attr]


def supports_form_elicitation(capabilities: types.ClientCapabilities | None) -> bool:
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare `elicitation: {}` predates modes and means form; url-only does not.
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


class LegacyConfirmer:
    """``elicitation/create`` over the session's back-channel (handshake era)."""

    def __init__(self, session: Any, request_id: types.RequestId | None) -> None:
        self.session = session
        self.request_id = request_id

    async def __call__(self, message: str) -> bool | None:
        if not supports_form_elicitation(self.session.client_capabilities):
            return None
        try:
            result = await self.session.elicit_form(
                message, CONFIRM_SCHEMA, related_request_id=self.request_id
            )
        except NoBackChannelError:
            return None
        return accepted(result)


class ConfirmationSeal:
    """Mints and checks the sealed ``requestState`` of the MRTR confirmation round."""

    def __init__(self, key: bytes | None = None, ttl: float = STATE_TTL_SECONDS) -> None:
        self._key = key or secrets.token_bytes(32)
        self._ttl = ttl
        self._used: dict[str, float] = {}

    def mint(self, binding: str, message: str, now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims = {"b": binding, "m": _digest(message), "n": secrets.token_urlsafe(16), "e": now + self._ttl}
        payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
        return f"{payload}.{self._sign(payload)}"

    def redeem(self, state: str | None, binding: str, message: str, now: float | None = None) -> bool:
        """True once for a state minted for this binding and message, unexpired; False otherwise."""
        now = time.time() if now is None else now
        if not state or "." not in state:
            return False
        payload, _, signature = state.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return False
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except ValueError:
            return False
        if claims.get("b") != binding or claims.get("m") != _digest(message) or claims.get("e", 0) < now:
            return False
        self._used = {n: e for n, e in self._used.items() if e >= now}
        nonce = str(claims.get("n"))
        if nonce in self._used:
            return False
        self._used[nonce] = float(claims["e"])
        return True

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()


class MrtrConfirmer:
    """The 2026-07-28 multi-round-trip flow: ask through ``input_required``, read the answer on the retry."""

    def __init__(
        self, seal: ConfirmationSeal, params: types.CallToolRequestParams, capabilities: Any
    ) -> None:
        self.seal = seal
        self.params = params
        self.capabilities = capabilities
        self.binding = call_binding(params.name, params.arguments)

    async def __call__(self, message: str) -> bool | None:
        answer = (self.params.input_responses or {}).get(INPUT_KEY)
        if answer is not None and self.seal.redeem(self.params.request_state, self.binding, message):
            return accepted(answer)
        if answer is not None:
            logger.info("confirmation answer without a valid request state for this call; asking again")
        if not supports_form_elicitation(self.capabilities):
            return None
        request = types.ElicitRequest(
            params=types.ElicitRequestFormParams(message=message, requested_schema=CONFIRM_SCHEMA)
        )
        raise InputRequired(
            types.InputRequiredResult(
                input_requests={INPUT_KEY: request}, request_state=self.seal.mint(self.binding, message)
            )
        )


def call_binding(name: str, arguments: dict[str, Any] | None) -> str:
    canonical = json.dumps([name, arguments or {}], sort_keys=True, separators=(",", ":"), default=str)
    return _digest(canonical)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
