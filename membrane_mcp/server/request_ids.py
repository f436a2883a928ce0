"""The JSON-RPC id check both transports share, in a module of its own so that stdio loads no HTTP stack."""

from __future__ import annotations

from typing import Any


def has_invalid_id(message: Any) -> bool:
    """A request (it has a method) whose id is there but neither a string nor an integer."""
    if not isinstance(message, dict) or "method" not in message or "id" not in message:
        return False
    request_id = message["id"]
    return isinstance(request_id, bool) or not isinstance(request_id, str | int)
