"""The one-line start-up banner on stderr, written once the catalog is loaded."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from membrane_mcp import __version__
from membrane_mcp.gc_tuning import tune_for_serving
from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.tools.gateway import Gateway

if TYPE_CHECKING:
    from membrane_mcp.server.readiness import Readiness

logger = logging.getLogger("membrane_mcp")


def log_serving(gateway: Gateway, transport: str) -> None:
    """Say what is served; the process serves from here on (the collector is tuned for it)."""
    tune_for_serving()
    logger.info(
        "membrane-mcp %s serving %s; Membrane backend %s", __version__, transport, gateway.client.base_url
    )


async def log_banner_when_loaded(
    gateway: Gateway, transport: str, readiness: Readiness | None = None, *, announce: bool = True
) -> None:
    """Load the catalog in the background (so the first tools/list is warm) and say what was found
    (`announce`: first the line `log_serving` writes, unless the caller wrote it already)."""
    if announce:
        log_serving(gateway, transport)
    try:
        snapshot = await gateway.catalog.snapshot()
    except MembraneError as exc:
        logger.error(
            "membrane-mcp (%s): could not load the catalog from %s: %s",
            transport,
            gateway.client.base_url,
            exc,
        )
        if readiness is not None:
            readiness.failed(f"could not load the catalog from Membrane: {exc}")
        return
    if readiness is not None:
        readiness.loaded()
    tools = await gateway.list_tools()
    apps = ", ".join(sorted({f"{c.app_key}:{c.state}" for c in snapshot.connections})) or "none"
    logger.info(
        "membrane-mcp ready: %d connections (%s) | %d actions | mode %s | %d tools listed",
        len(snapshot.connections),
        apps,
        len(snapshot.entries),
        gateway.catalog.view(snapshot, None).mode,
        len(tools),
    )
