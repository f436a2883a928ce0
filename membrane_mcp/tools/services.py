"""What a tool handler may use, and nothing more: `ToolDeps` and the `CallContext`.

Handlers are ``async def handler(deps: ToolDeps, args: <ArgumentModel>, call: CallContext)``:

- `deps.catalog` is the `CatalogService`: `snapshot()` (with the stale-catalog fallback),
  `refresh()`, `refresh_and_notify()`, `view(snapshot, session)` (what the policy and the tool mode
  list), per-session pins (`pin`), and the search index;
- `deps.client` the Membrane client, `deps.policy` the policy, `deps.config` the gateway's config;
- `call` the per-call facilities the transport provides (progress, user confirmation, the session).

Deadlines are anyio cancel scopes: the gateway runs each call under one; handlers that want a
shorter bound open their own scope; the Membrane client reads the effective deadline itself.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mcp import types

from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.settings import ToolMode
from membrane_mcp.tools.catalog import Catalog, CatalogSnapshot, ToolEntry, render_tools, tools_bytes
from membrane_mcp.tools.confirm import ConfirmFn, cannot_confirm
from membrane_mcp.tools.policy import Policy
from membrane_mcp.tools.search import SearchIndex
from membrane_mcp.tools.search_cache import SearchIndexCache
from membrane_mcp.tools.validation import preload_in_background

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]
Listener = Callable[[], Awaitable[None]]

LOCAL_SESSION = "local"
"""The session key of a transport with one client per process (stdio, in-memory)."""

MAX_PINNED_SESSIONS = 10_000
# jsonschema's import (~0.1 s of CPU) starts this long after the search index is in, so it does not share
# the interpreter with the first search, which follows the first tools/list at once.
JSONSCHEMA_PRELOAD_DELAY_S = 1.0


OpenUrlFn = Callable[[str, str, str], Awaitable[bool]]
"""``(message, url, elicitation_id) -> shown``: MCP URL-mode elicitation; False when the client cannot."""


async def _no_progress(progress: float, total: float | None, message: str | None) -> None:
    return None


async def cannot_open_url(message: str, url: str, elicitation_id: str) -> bool:
    return False


@dataclass
class CallContext:
    """Per-call facilities the transport provides."""

    report_progress: ProgressFn = _no_progress
    confirm: ConfirmFn = cannot_confirm
    """Asks the user (MCP elicitation) before a destructive call; see tools/confirm.py."""
    open_url: OpenUrlFn = cannot_open_url
    """Sends a sign-in link to the user (URL-mode elicitation) out of the model's context; see connect_app."""
    session: str | None = LOCAL_SESSION
    """Who is calling, for per-session state (pinned actions); None when the transport has no session."""


@dataclass(frozen=True)
class GatewayConfig:
    """The settings the gateway and its handlers use; built from `Settings` by the server's backend."""

    tool_mode: ToolMode = "auto"
    direct_tool_limit: int = 40
    direct_max_bytes: int = 60_000
    max_output_bytes: int = 65536
    call_timeout: float = 60.0
    create_action_timeout: float = 180.0


PinKey = tuple[str, str]
"""(connection id, action id): one action of one connection."""


def pin_key(entry: ToolEntry) -> PinKey:
    return (entry.connection_id, entry.action_id)


@dataclass
class CatalogView:
    """What the policy and the tool mode make of one snapshot, for one set of pinned actions."""

    snapshot: CatalogSnapshot
    pinned: frozenset[PinKey]
    allowed: list[ToolEntry]
    mode: ToolMode
    direct: list[ToolEntry]
    tools: list[types.Tool] | None = None
    direct_tools: list[types.Tool] | None = None
    """`direct` rendered as tools, when the auto rule already rendered them to weigh them."""
    """The listing built from this view (the gateway fills it in once)."""
    direct_names: frozenset[str] = field(init=False)
    allowed_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.direct_names = frozenset(entry.name for entry in self.direct)
        self.allowed_names = frozenset(entry.name for entry in self.allowed)
        self._listed_by_key = {pin_key(entry): entry.name for entry in self.direct}

    def is_listed(self, name: str) -> bool:
        return name in self.direct_names

    def listed_name(self, entry: ToolEntry) -> str | None:
        """The tool name under which this (connection, action) pair is listed, if it is."""
        return self._listed_by_key.get(pin_key(entry))

    def callable_entry(self, name: str) -> ToolEntry | None:
        """The action a tool call by `name` runs: a listed tool, or a created action the policy allows.

        create_action hands its tool name to the user, who uses it in later sessions too; in search
        mode those sessions don't list it, but the name still runs it (like run_action by key).
        """
        entry = self.snapshot.by_name.get(name)
        if entry is None:
            return None
        if name in self.direct_names or (entry.created and name in self.allowed_names):
            return entry
        return None


BUILDING_KEPT = 64


class CatalogService:
    """The catalog as handlers and the gateway see it.

    Created actions are pinned per session: in search mode they are listed as tools only for the
    session that created them; other sessions see them once a catalog reload lists them, like any
    other action (through search_actions, or as tools in direct mode), and a call by the tool name
    create_action returned runs them in any session (`CatalogView.callable_entry`).
    """

    def __init__(self, catalog: Catalog, policy: Policy, config: GatewayConfig) -> None:
        self.catalog = catalog
        self._policy = policy
        self._config = config
        self._pins: OrderedDict[str, set[PinKey]] = OrderedDict()
        self.building: OrderedDict[str, str] = OrderedDict()
        """Actions create_action left BUILDING (id -> connection id): a run by that id waits for the build."""
        self._listeners: list[Listener] = []
        self._views: dict[frozenset[PinKey], CatalogView] = {}
        self._views_of: CatalogSnapshot | None = None
        self.search_indexes = SearchIndexCache(lambda snapshot: self.view(snapshot, None).allowed)
        catalog.on_load.append(self._prepare_search)
        catalog.on_entries.append(self.search_indexes.warm)

    def _prepare_search(self, snapshot: CatalogSnapshot) -> None:
        """After each load, the search index in the background, then jsonschema: most calls are checked
        without it (quick_check.py), so its import waits until it cannot delay the first search (which
        a client sends as soon as its tools/list is answered, and which runs the moment the index is in).
        """
        self.search_indexes.prepare(snapshot).add_done_callback(
            lambda _: preload_in_background(JSONSCHEMA_PRELOAD_DELAY_S)
        )

    # -- snapshots -------------------------------------------------------------------------------

    @property
    def cached(self) -> CatalogSnapshot | None:
        return self.catalog.cached

    async def snapshot(self) -> CatalogSnapshot:
        """The catalog; when Membrane fails to reload it, the last one loaded (if any) rather than an error."""
        try:
            return await self.catalog.get()
        except MembraneError as exc:
            cached = self.catalog.cached
            if cached is None:
                raise
            logger.warning("catalog reload failed, serving the previous one: %s", exc)
            return cached

    async def get(self, *, refresh: bool = False) -> CatalogSnapshot:
        """The catalog itself, without the stale fallback (`Catalog.get`); for tools and benchmarks."""
        return await self.catalog.get(refresh=refresh)

    def invalidate(self) -> None:
        """Make the next snapshot reload."""
        self.catalog.invalidate()

    async def refresh(self) -> CatalogSnapshot:
        """Reload now (an action may have been created since the last load)."""
        self.catalog.invalidate()
        return await self.catalog.get(refresh=True)

    async def refresh_and_notify(self) -> CatalogSnapshot:
        """Reload, then tell every client its tool list may have changed.

        When the reload fails, the previous catalog stays (and clients are still told to look again).
        """
        try:
            snapshot = await self.refresh()
        except MembraneError as exc:
            logger.warning("catalog reload failed after a change: %s", exc)
            snapshot = self.catalog.cached or CatalogSnapshot(connections=[], entries=[])
        await self.notify()
        return snapshot

    async def action_vanished(self, entry: ToolEntry) -> bool:
        """After a NotFound for a listed action: reload; True (and clients told) if the action is gone."""
        snapshot = await self.refresh()
        if any(pin_key(e) == pin_key(entry) for e in snapshot.entries):
            return False
        await self.notify()
        return True

    # -- views -----------------------------------------------------------------------------------

    def pinned(self, session: str | None) -> frozenset[PinKey]:
        if session is None:
            return frozenset()
        return frozenset(self._pins.get(session, ()))

    def still_building(self, action_id: str, connection_id: str) -> None:
        """Remember an action create_action returned unfinished (the latest `BUILDING_KEPT` only)."""
        self.building[action_id] = connection_id
        while len(self.building) > BUILDING_KEPT:
            self.building.popitem(last=False)

    def pin(self, session: str | None, connection_id: str, action_id: str) -> None:
        """List this action of this connection as a tool for this session even in search mode (it created it).

        Keyed by connection too: an integration-level action has one id for every connection of the app.
        """
        if session is None:
            return
        self._pins.setdefault(session, set()).add((connection_id, action_id))
        self._pins.move_to_end(session)
        while len(self._pins) > MAX_PINNED_SESSIONS:
            self._pins.popitem(last=False)

    def view(self, snapshot: CatalogSnapshot, session: str | None) -> CatalogView:
        """What the policy and the tool mode make of one snapshot for one session; cached per snapshot."""
        pinned = self.pinned(session)
        if self._views_of is not snapshot:
            self._views_of, self._views = snapshot, {}
        cached = self._views.get(pinned)
        if cached is not None:
            return cached
        allows = self._policy.allows_action
        if self._policy.allows_every_action:
            allowed = list(snapshot.entries)
        else:
            allowed = [e for e in snapshot.entries if allows(e.app_key, e.action_key, e.kind)]
        mode = self._config.tool_mode
        rendered: list[types.Tool] | None = None
        if mode == "auto":
            mode = "search"
            if len(allowed) <= self._config.direct_tool_limit:
                rendered = render_tools(allowed)
                if tools_bytes(rendered) <= self._config.direct_max_bytes:
                    mode = "direct"
        direct = allowed if mode == "direct" else [e for e in allowed if pin_key(e) in pinned]
        view = CatalogView(snapshot, pinned, allowed, mode, direct)
        if mode == "direct":
            view.direct_tools = rendered
        if len(self._views) < 256:
            self._views[pinned] = view
        return view

    def search_index(self, snapshot: CatalogSnapshot) -> SearchIndex:
        """The index of `snapshot` for synchronous callers; `search_indexes.get` waits without blocking."""
        return self.search_indexes.get_blocking(snapshot)

    # -- change notifications --------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def notify(self) -> None:
        for listener in self._listeners:
            try:
                await listener()
            except Exception:  # a dead session must not fail the call that changed the list
                logger.debug("tools/list_changed listener failed", exc_info=True)


@dataclass(frozen=True)
class ToolDeps:
    """What handlers get: the catalog service, the Membrane client, the policy, the gateway's config."""

    catalog: CatalogService
    client: MembraneClient
    policy: Policy
    config: GatewayConfig
