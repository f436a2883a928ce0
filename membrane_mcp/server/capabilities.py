"""A `Server` that advertises `tools.listChanged` in the handshake era on every transport.

The SDK derives the flag from `NotificationOptions` passed to `create_initialization_options`;
the stdio runner passes them, but the streamable-HTTP session manager and the in-memory
transport call it with none, so HTTP sessions would say `false` although list changes are sent
to them (app.py `ToolListNotifier`). In the 2026-07-28 era the SDK derives the flag from
`subscriptions/listen` being served, which it is.
"""

from __future__ import annotations

from typing import Any

from mcp.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions


class ToolsChangedServer(Server[Any]):
    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True),
            experimental_capabilities,
            extensions,
        )
