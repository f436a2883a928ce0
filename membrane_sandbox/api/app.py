"""``create_app``: the sandbox's Membrane REST API as one Starlette application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

from starlette.applications import Starlette
from starlette.middleware import Middleware

from ..apps.base import App
from ..config import DEFAULT_TENANT_KEY, SandboxConfig
from . import actions, connection_requests, connections, proxy, runs, sandbox_routes
from .errors import EXCEPTION_HANDLERS
from .faults import FaultMiddleware
from .state import SandboxState

log = logging.getLogger(__name__)


def default_apps(config: SandboxConfig) -> dict[str, App]:
    from ..apps import load_apps, synthetic_app

    apps: dict[str, App] = dict(load_apps())
    for index in range(config.synthetic_connections):
        app = synthetic_app(index, config.synthetic_actions)
        apps[app.key] = app
    return apps


def create_app(config: SandboxConfig | None = None, *, apps: Mapping[str, App] | None = None) -> Starlette:
    """Build the sandbox. ``apps`` (integration key -> App) defaults to the real apps plus
    ``config.synthetic_connections`` synthetic ones; the default tenant is provisioned at once."""
    config = config or SandboxConfig()
    state = SandboxState(config, apps if apps is not None else default_apps(config))
    state.tenant(DEFAULT_TENANT_KEY)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.schedule_pending_builds()
        try:
            yield
        finally:
            await state.shutdown()

    app = Starlette(
        routes=[
            *sandbox_routes.routes,
            *connections.routes,
            *connection_requests.routes,
            # The run and proxy routes sit before /actions/{action} and /connections/{connection}/...
            *runs.routes,
            *proxy.routes,
            *actions.routes,
        ],
        middleware=[Middleware(FaultMiddleware, state=state)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.sandbox = state
    return app
