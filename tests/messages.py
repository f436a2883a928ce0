"""JSON-RPC messages the tests send by hand, outside an MCP client."""

from __future__ import annotations

from typing import Any


def initialize_request(client: str = "test", protocol_version: str = "2025-11-25") -> dict[str, Any]:
    """A handshake-era `initialize` request with id 1 and no client capabilities."""
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": protocol_version,
            "capabilities": {},
            "clientInfo": {"name": client, "version": "0"},
        },
    }
