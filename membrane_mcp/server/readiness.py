"""`/healthz` (the process answers) and `/readyz` (it can serve agents), for probes and Docker.

Ready means: the first catalog load from Membrane has finished. Until it has, `/readyz` answers
503 `starting`; if it failed, 503 `unavailable` with the reason, and each later probe tries the
load again (bounded), so the server turns ready once Membrane answers. Once ready it stays ready:
a later failed reload serves the previous catalog (see `Gateway`), which agents can still use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from membrane_mcp import __version__
from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.tools.gateway import Gateway

logger = logging.getLogger(__name__)

PROBE_LOAD_SECONDS = 5.0


@dataclass
class Readiness:
    gateway: Gateway
    attempted: bool = False
    ready: bool = False
    reason: str | None = None

    def loaded(self) -> None:
        self.attempted, self.ready, self.reason = True, True, None

    def failed(self, reason: str) -> None:
        self.attempted, self.ready, self.reason = True, False, reason

    async def retry(self) -> None:
        with anyio.move_on_after(PROBE_LOAD_SECONDS):
            try:
                await self.gateway.catalog.get()
            except MembraneError as exc:
                self.failed(f"could not load the catalog from Membrane: {exc}")
                return
            self.loaded()
            return
        self.failed(f"Membrane did not answer within {PROBE_LOAD_SECONDS:.0f} s")

    async def readyz(self, request: Request) -> JSONResponse:
        if self.attempted and not self.ready:
            await self.retry()
        if self.ready:
            return JSONResponse({"status": "ready", "version": __version__})
        if not self.attempted:
            return JSONResponse({"status": "starting", "reason": "loading the catalog from Membrane"}, 503)
        return JSONResponse({"status": "unavailable", "reason": self.reason}, 503)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


def health_routes(readiness: Readiness | None) -> list[Route]:
    routes = [Route("/healthz", healthz, methods=["GET"])]
    if readiness is not None:
        routes.append(Route("/readyz", readiness.readyz, methods=["GET"]))
    return routes
