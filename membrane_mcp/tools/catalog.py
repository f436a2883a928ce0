"""The catalog: Membrane connections x actions, turned into tool entries.

Loaded concurrently across connections (bounded), cached with a TTL, refreshed on
demand (after ``create_action``) and single-flight: concurrent callers share one load.
The catalog belongs to one Membrane client, so it is per credential by construction.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import types
from pydantic import ValidationError

from membrane_mcp import json_codec
from membrane_mcp.gc_tuning import collection_paused
from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.membrane.models import Action, Connection, IntegrationRef
from membrane_mcp.observability import observe_catalog_load
from membrane_mcp.tools.annotations import ActionKind, classify_action, listed_hints, tool_annotations
from membrane_mcp.tools.errors import built_from_request, load_error_text
from membrane_mcp.tools.naming import NameRequest, assign_tool_names
from membrane_mcp.tools.schema import (
    SanitizedSchema,
    compact_schema,
    plain_words,
    resolve_refs,
    sanitize_input_schema,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolEntry:
    """One action of one connection, as a tool."""

    name: str
    app_key: str
    app_name: str
    connection_id: str
    connection_name: str
    action_id: str
    action_key: str
    action_name: str
    description: str
    kind: ActionKind
    input_schema: dict[str, Any]
    validation_schema: dict[str, Any]
    wrapped_key: str | None
    output_schema: dict[str, Any] | None
    schema_changes: tuple[str, ...] = ()
    created: bool = False
    """Built by create_action (Membrane keeps its agent session): callable by tool name in every session."""

    @property
    def qualified_key(self) -> str:
        return f"{self.app_key}:{self.action_key}"

    @property
    def annotations(self) -> dict[str, Any]:
        """MCP `ToolAnnotations` fields, made when asked: a dict and a title kept per entry were a tenth
        of a loaded catalog's memory, for the listing's one look at them."""
        return tool_annotations(self.kind, f"{self.app_name}: {self.action_name}")


@dataclass(frozen=True)
class ConnectionInfo:
    id: str
    name: str
    app_key: str
    app_name: str
    state: str
    connect_url: str | None
    """`clientAction.uiUrl`: the page where the user signs in (the one URL field name of every tool)."""
    error: str | None
    integration_id: str | None = None
    agent_instructions: str | None = None
    """`clientAction.agentInstructions`: Membrane's words for the agent, to follow verbatim."""
    client_action_type: str | None = None
    """`clientAction.type`: `connect` or `provide-input`."""


@dataclass
class CatalogSnapshot:
    connections: list[ConnectionInfo]
    entries: list[ToolEntry]
    load_errors: dict[str, str] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.monotonic)
    by_name: dict[str, ToolEntry] = field(init=False)
    by_connection: dict[str, list[ToolEntry]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {entry.name: entry for entry in self.entries}
        self.by_connection = {}
        for entry in self.entries:
            self.by_connection.setdefault(entry.connection_id, []).append(entry)


@dataclass(frozen=True)
class CatalogFilter:
    """`--apps`, `--connections` and `--actions`: glob patterns that narrow the catalog."""

    apps: Sequence[str] = ()
    connections: Sequence[str] = ()
    actions: Sequence[str] = ()

    def keeps_connection(self, info: ConnectionInfo) -> bool:
        if self.apps and not _matches_any(self.apps, info.app_key):
            return False
        return not self.connections or _matches_any(self.connections, info.id, info.name)

    def keeps_action(self, app_key: str, action_key: str) -> bool:
        return not self.actions or _matches_any(self.actions, action_key, f"{app_key}:{action_key}")


def _matches_any(patterns: Iterable[str], *values: str) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns for value in values)


UNNAMED_APP = "app"


def connection_info(connection: Connection, app: IntegrationRef | None = None) -> ConnectionInfo:
    """A connection as the tools see it. The app comes from the embedded `integration`, else `app`
    (the integration fetched by `integrationId`, or the connector: see `app_of`); docs/membrane-api.md 4.2."""
    named = connection.integration if connection.integration and connection.integration.key else app
    app_key = (named.key if named else None) or UNNAMED_APP
    app_name = (named.name if named else None) or app_key
    client_action = connection.client_action
    return ConnectionInfo(
        id=connection.id,
        name=connection.name or app_name,
        app_key=app_key,
        app_name=app_name,
        state=connection.effective_state,
        connect_url=client_action.ui_url if client_action else None,
        error=connection.error_message,
        integration_id=connection.integration_id or (named.id if named else None),
        agent_instructions=client_action.agent_instructions if client_action else None,
        client_action_type=client_action.type if client_action else None,
    )


async def app_of(client: MembraneClient, connection: Connection) -> IntegrationRef | None:
    """The app of a connection: the embedded `integration` when it has a key, else the integration
    fetched by `integrationId` (the client caches it), else the connector's key. There is no
    `integrationKey` on a connection (SDK `BaseConnection` l.4061; docs/membrane-api.md 4.2)."""
    if connection.integration is not None and connection.integration.key:
        return connection.integration
    for lookup, ref in (
        (client.get_integration, connection.integration_id),
        (client.get_connector, connection.connector_id),
    ):
        if not ref:
            continue
        try:
            found = await lookup(ref)
        except MembraneError as exc:
            logger.warning("could not name the app of connection %s from %s: %s", connection.id, ref, exc)
            continue
        if found.key:
            return found
    return None


async def connection_infos(client: MembraneClient, connections: Iterable[Connection]) -> list[ConnectionInfo]:
    """`connection_info` for each, naming apps concurrently (see `AppNamer`)."""
    listed = list(connections)
    namer = AppNamer(client, listed)
    apps: dict[str, IntegrationRef | None] = {}

    async def name_one(connection: Connection) -> None:
        apps[connection.id] = await namer.app_of(connection)

    async with anyio.create_task_group() as group:
        for connection in listed:
            group.start_soon(name_one, connection)
    return [connection_info(c, apps.get(c.id)) for c in listed]


BULK_NAMING_MIN = 2
"""From this many connections without an embedded integration, one `GET /integrations` names their apps."""


class AppNamer:
    """`app_of` for the connections of one catalog load, with one `GET /integrations` (SDK
    `IntegrationsAccessor`, docs/membrane-api.md 5.10) instead of one `GET /integrations/{id}` per
    integration when `BULK_NAMING_MIN` or more connections need their app looked up. An integration the
    list does not hold, or a list that fails, falls back to `app_of`'s lookups one by one."""

    def __init__(self, client: MembraneClient, connections: Sequence[Connection]) -> None:
        self._client = client
        self._bulk = sum(1 for c in connections if _needs_lookup(c)) >= BULK_NAMING_MIN
        self._listed: dict[str, IntegrationRef] | None = None
        self._lock = anyio.Lock()

    async def app_of(self, connection: Connection) -> IntegrationRef | None:
        if self._bulk and _needs_lookup(connection) and connection.integration_id:
            found = (await self._integrations()).get(connection.integration_id)
            if found is not None and found.key:
                return found
        return await app_of(self._client, connection)

    async def _integrations(self) -> dict[str, IntegrationRef]:
        async with self._lock:
            if self._listed is None:
                try:
                    listed = await self._client.list_integrations()
                except (MembraneError, ValidationError) as exc:  # an optional shortcut: never fatal
                    logger.info("could not list integrations (%s): naming apps one by one", exc)
                    listed = []
                self._listed = {ref.id: ref for ref in listed if ref.id}
            return self._listed


def _app_from_lookup(connection: Connection) -> bool:
    """Whether the connection's integration is known only once `app_of` has looked its app up."""
    embedded = connection.integration
    return not connection.integration_id and not (embedded is not None and embedded.key)


def _integration_asked(connection: Connection) -> str | None:
    """The integration whose actions the connection's load lists (`connection_info`'s `integration_id`),
    as far as it is known before its app is named (see `_app_from_lookup`)."""
    if connection.integration_id:
        return connection.integration_id
    embedded = connection.integration
    return embedded.id if embedded is not None and embedded.key else None


def _needs_lookup(connection: Connection) -> bool:
    return not (connection.integration is not None and connection.integration.key) and bool(
        connection.integration_id
    )


def merge_layers(*layers: Iterable[Action]) -> list[Action]:
    """The actions of a connection: its connection-level instances, then the integration-level and the
    universal actions that have none, one per key (docs/membrane-api.md 5.5: instances may not exist until
    first use; Membrane's own MCP server lists by integration). Keyless actions count by id."""
    merged: dict[str, Action] = {}
    for layer in layers:
        for action in layer:
            merged.setdefault(action.key or action.id, action)
    return list(merged.values())


def unnamed_entries(info: ConnectionInfo, actions: Iterable[Action], schemas: SchemaMemo) -> list[ToolEntry]:
    """The entries of one connection's ready actions, sanitised and annotated, not named yet (a name
    depends on every other connection's actions: `name_entries`). The catalog load makes them as each
    connection's actions arrive, while it waits for the others'."""
    return [_entry("", info, action, schemas) for action in actions if action.state in (None, "READY")]


def name_entries(unnamed: Iterable[ToolEntry]) -> list[ToolEntry]:
    """`unnamed_entries` of every connection, each given its tool name (in place); sorted by tool name."""
    pairs = [(entry, NameRequest(entry.app_key, entry.connection_id, entry.action_key)) for entry in unnamed]
    names = assign_tool_names(request for _, request in pairs)
    for entry, request in pairs:
        # An unnamed entry is its load's own until named here, and is neither hashed nor kept by anyone
        # before: naming it in place spares a copy (`dataclasses.replace` re-ran the frozen 16-field
        # __init__ per entry, most of the naming's CPU).
        object.__setattr__(entry, "name", names[request])
    entries = [entry for entry, _ in pairs]
    entries.sort(key=lambda entry: entry.name)
    return entries


_REF_WORDS = (b'"$ref"', b'"$defs"', b'"definitions"')


class SchemaMemo:
    """Schema work done once per distinct schema within one catalog load.

    Connections of the same app share their actions' schemas, and sanitising one costs milliseconds
    (a JSON Schema meta-validation), which is most of a cold load. The memoised dicts are shared between
    entries, which treat them as read-only.
    """

    def __init__(self) -> None:
        self._sanitized: dict[bytes, SanitizedSchema] = {}
        self._resolved: dict[bytes, dict[str, Any]] = {}
        self._interned: dict[bytes, Any] = {}
        self._key_of: dict[int, bytes] = {}  # id of an interned schema (kept alive here) -> its key

    def _key(self, schema: Any) -> bytes | None:
        known = self._key_of.get(id(schema))
        if known is not None:
            return known
        # Key order as received (one API serialises alike): equal schemas in another order are only
        # not shared, and sorting doubled the cost of this key, the largest CPU item of a cold load.
        return json_codec.identity_key(schema)

    def intern(self, schema: Any) -> Any:
        """One shared instance per distinct schema, so duplicates are garbage as soon as a list arrives."""
        if not isinstance(schema, dict):
            return schema
        key = self._key(schema)
        if key is None:
            return schema
        canonical = self._interned.setdefault(key, schema)
        self._key_of[id(canonical)] = key
        return canonical

    def sanitize(self, schema: Any) -> SanitizedSchema:
        key = self._key(schema)
        if key is None:
            return sanitize_input_schema(schema)
        if key not in self._sanitized:
            self._sanitized[key] = sanitize_input_schema(schema)
        return self._sanitized[key]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        key = self._key(schema)
        if key is None:
            resolved: dict[str, Any] = resolve_refs(schema)
            return resolved
        if key not in self._resolved:
            # Without a $ref or definitions anywhere in its text, a schema resolves to an equal copy of
            # itself: share it instead (most schemas; a deep copy each was a tenth of a cold load).
            plain = not any(word in key for word in _REF_WORDS)
            self._resolved[key] = schema if plain else resolve_refs(schema)
        return self._resolved[key]


def _entry(name: str, info: ConnectionInfo, action: Action, schemas: SchemaMemo | None = None) -> ToolEntry:
    schemas = schemas or SchemaMemo()
    # Keys and names repeat across connections (each decoded page has its own copies): one string each.
    key = sys.intern(action.key or action.id)
    action_name = sys.intern(action.name) if action.name else key
    kind = classify_action(key, action.type, action.name or "")
    sanitized = schemas.sanitize(action.input_schema)
    output_schema = action.output_schema if _is_object_schema(action.output_schema) else None
    return _new_entry(
        name=name,
        app_key=info.app_key,
        app_name=info.app_name,
        connection_id=info.id,
        connection_name=info.name,
        action_id=action.id,
        action_key=key,
        action_name=action_name,
        description=_describe(info, action),
        kind=kind,
        input_schema=sanitized.schema,
        validation_schema=schemas.resolve(action.input_schema)
        if isinstance(action.input_schema, dict)
        else {},
        wrapped_key=sanitized.wrapped_key,
        output_schema=schemas.resolve(output_schema) if output_schema else None,
        schema_changes=sanitized.changes,
        created=bool(action.agent_session_id),
    )


_ENTRY_FIELDS = frozenset(f.name for f in dataclasses.fields(ToolEntry))


def _new_entry(**values: Any) -> ToolEntry:
    """`ToolEntry(**values)` given every field, without the frozen dataclass's `__init__`: it sets each of
    the 16 fields through `object.__setattr__`, a third of making an entry (5,000 per catalog load)."""
    if values.keys() != _ENTRY_FIELDS:
        raise TypeError(f"a tool entry needs exactly the fields {sorted(_ENTRY_FIELDS)}")
    entry = object.__new__(ToolEntry)
    entry.__dict__.update(values)
    return entry


def _describe(info: ConnectionInfo, action: Action) -> str:
    description = (action.description or action.name or action.key or "").strip()
    if action.agent_session_id:
        # Membrane built it from someone's plain-language request: quote it, never let it read as an instruction.
        description = built_from_request(description)
    return description + connection_suffix(info.app_name, info.name)


def connection_suffix(app_name: str, connection_name: str) -> str:
    """What a description says of its connection; a listing keeps it only when an app has several."""
    return f" [{app_name} connection '{connection_name}']"


def tools_bytes(tools: Iterable[types.Tool]) -> int:
    """What these tool definitions weigh in a tools/list result: compact JSON, as the SDK serialises."""
    dumped = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
    return sum(len(json.dumps(tool, separators=(",", ":"))) for tool in dumped)


def render_tools(entries: Sequence[ToolEntry]) -> list[types.Tool]:
    """The MCP tools listed for these entries, in as few bytes as keep everything a model needs.

    The title is sent once (top level) and only when it reads differently from the name, hints only
    where they differ from the spec's defaults and mean something for the tool's kind, the
    connection named in a description only when its app has several connections in the list, and
    schemas without descriptions that repeat a property's name (with the action's, which the tool's
    name says) or its enum (see `compact_schema`).
    No outputSchema: it was half the bytes, hosts do not show it to the model, and results describe
    themselves (structuredContent is still returned; describe_action gives the output schema).
    """
    connections: dict[str, set[str]] = {}
    for entry in entries:
        connections.setdefault(entry.app_key, set()).add(entry.connection_id)
    # Entries of one app (and synthetic apps of one object) share schema objects and action names:
    # compact each pair once.
    compacted: dict[tuple[int, str], Any] = {}

    def compact(schema: dict[str, Any], action_name: str) -> Any:
        key = (id(schema), action_name)
        if key not in compacted:
            compacted[key] = compact_schema(schema, action_name)
        return compacted[key]

    tools = []
    for entry in entries:
        description = entry.description
        if len(connections[entry.app_key]) == 1:
            description = description.removesuffix(connection_suffix(entry.app_name, entry.connection_name))
        annotations = entry.annotations
        hints = listed_hints(annotations)
        title = annotations.get("title")
        if isinstance(title, str) and _reads_as_name(title, entry):
            title = None  # hosts display the name instead
        tools.append(
            types.Tool(
                name=entry.name,
                title=title if isinstance(title, str) else None,
                description=description,
                input_schema=compact(entry.input_schema, entry.action_name),
                annotations=types.ToolAnnotations.model_validate(hints) if hints else None,
            )
        )
    return tools


_SLUG_NAME = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def _reads_as_name(title: str, entry: ToolEntry) -> bool:
    """True when a title says no more than the tool's name ("1CRM: Get Account", 1crm_get_account).

    Called for every tool of a listing: the words of the app and action names (which repeat across
    connections and apps) come from `plain_words`' cache, a slug name's words are its own.
    """
    if title == f"{entry.app_name}: {entry.action_name}":
        parts = (plain_words(entry.app_name), plain_words(entry.action_name))
        words = " ".join(part for part in parts if part)
    else:
        words = plain_words(title)
    name = entry.name
    return words == (name.replace("_", " ") if _SLUG_NAME.fullmatch(name) else plain_words(name))


def _is_object_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "object"


class _SharedLayers:
    """The integration-level and universal action lists of one catalog load, each fetched once however
    many connections share them (single-flight per list).

    An integration's list is let go once every connection of the load that may ask for it has: those
    naming the integration, unless the app of some connection is found by a lookup (it may be this one).
    Its actions then go as soon as their entries are made, instead of all staying until the load ends.
    """

    def __init__(
        self,
        client: MembraneClient,
        limiter: anyio.CapacityLimiter,
        schemas: json_codec.SchemaCache,
        connections: Sequence[Connection],
    ) -> None:
        self._client = client
        self._limiter = limiter
        self._schemas = schemas
        self._lists: dict[str, list[Action] | MembraneError] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._askers_left = Counter(filter(None, map(_integration_asked, connections)))
        self._keep_all = any(_app_from_lookup(c) for c in connections)

    async def integration(self, integration_id: str | None) -> list[Action]:
        if not integration_id:
            return []
        name = f"integration:{integration_id}"
        try:
            return await self._once(name, integration_id)
        finally:
            self._askers_left[integration_id] -= 1
            if self._askers_left[integration_id] <= 0 and not self._keep_all:
                self._lists.pop(name, None)

    async def universal(self) -> list[Action]:
        return await self._once("universal", None)

    async def _once(self, name: str, integration_id: str | None) -> list[Action]:
        async with self._locks.setdefault(name, anyio.Lock()):
            if name not in self._lists:
                try:
                    async with self._limiter:
                        if integration_id is None:
                            found = await self._client.list_actions(layer="universal", schemas=self._schemas)
                        else:
                            found = await self._client.list_actions(
                                integration_id=integration_id, layer="integration", schemas=self._schemas
                            )
                    self._lists[name] = found
                except MembraneError as exc:
                    self._lists[name] = exc
        listed = self._lists[name]
        if isinstance(listed, MembraneError):
            raise listed
        # Shared, not copied: the loader only swaps in interned schemas, equal for every connection.
        return listed


BULK_OWN_MIN = 8
"""From this many connections to load, one list of every connection-level action replaces one list each."""


class _OwnLayers:
    """Each connection's own (connection-level) actions in one catalog load.

    With `bulk`, one `GET /actions?layer=connection` (SDK `FindActionsQuery`: `layer` without a
    `connectionId`) lists them for every connection, each instance naming its `connectionId`
    (docs/membrane-api.md 4.3), instead of one request per connection. When that list fails, or an item
    in it names no connection (a server that did not apply the filter), each connection is listed on
    its own as without `bulk`.
    """

    def __init__(
        self,
        client: MembraneClient,
        limiter: anyio.CapacityLimiter,
        schemas: json_codec.SchemaCache,
        *,
        bulk: bool,
    ) -> None:
        self._client = client
        self._limiter = limiter
        self._schemas = schemas
        self._bulk = bulk
        self._grouped: dict[str, list[Action]] | None = None
        self._lock = anyio.Lock()

    async def of(self, connection_id: str) -> list[Action]:
        if self._bulk:
            grouped = await self._all()
            if grouped is not None:
                return grouped.pop(connection_id, [])  # each connection asks once: its own go with it
        async with self._limiter:
            return await self._client.list_actions(connection_id=connection_id, schemas=self._schemas)

    async def _all(self) -> dict[str, list[Action]] | None:
        async with self._lock:
            if self._bulk and self._grouped is None:
                try:
                    async with self._limiter:
                        listed = await self._client.list_actions(layer="connection", schemas=self._schemas)
                except (MembraneError, ValidationError) as exc:  # an optional shortcut: never fatal
                    logger.info("could not list connection-level actions at once (%s): one list each", exc)
                    listed = []
                    self._bulk = False
                grouped: dict[str, list[Action]] = {}
                for action in listed:
                    if not action.connection_id:
                        logger.info("a connection-level action names no connection: one list each")
                        self._bulk = False
                        break
                    grouped.setdefault(action.connection_id, []).append(action)
                self._grouped = grouped if self._bulk else None
            return self._grouped


class Catalog:
    def __init__(
        self,
        client: MembraneClient,
        *,
        ttl: float = 300.0,
        concurrency: int = 16,
        catalog_filter: CatalogFilter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._clock = clock
        self._ttl = ttl
        self._concurrency = concurrency
        self._filter = catalog_filter or CatalogFilter()
        self._snapshot: CatalogSnapshot | None = None
        self._lock = anyio.Lock()
        self._generation = 0
        self.on_load: list[Callable[[CatalogSnapshot], object]] = []  # called with each new snapshot
        # Called during a load with each connection's entries (not named yet) as they are made: work that
        # can start before the whole catalog is in (the search index's tokenising) fills the waits.
        self.on_entries: list[Callable[[Sequence[ToolEntry]], object]] = []

    @property
    def cached(self) -> CatalogSnapshot | None:
        return self._snapshot

    @property
    def ttl(self) -> float:
        return self._ttl

    def invalidate(self) -> None:
        """Make the next `get` reload (used when an action was created or vanished)."""
        if self._snapshot is not None:
            self._snapshot.loaded_at = float("-inf")

    async def get(self, *, refresh: bool = False) -> CatalogSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and not refresh and self._fresh(snapshot):
            return snapshot
        generation = self._generation
        async with self._lock:
            # Another caller may have loaded while we waited for the lock.
            snapshot = self._snapshot
            if (
                snapshot is not None
                and self._fresh(snapshot)
                and (not refresh or generation != self._generation)
            ):
                return snapshot
            self._snapshot = await self._load()
            self._generation += 1
            for listener in self.on_load:
                listener(self._snapshot)
            return self._snapshot

    def _fresh(self, snapshot: CatalogSnapshot) -> bool:
        return self._clock() - snapshot.loaded_at < self._ttl

    @observe_catalog_load
    async def _load(self) -> CatalogSnapshot:
        with collection_paused():  # what it allocates survives: collecting meanwhile only walks it
            return await self._load_unpaused()

    async def _load_unpaused(self) -> CatalogSnapshot:
        """Each connection goes its own way as soon as the connection list is in: its app named (when
        not embedded), then its own and its integration's actions listed at once. No step waits for
        every connection to finish the one before (a load is mostly waiting on Membrane)."""
        started = time.perf_counter()
        listed_connections = await self._client.list_connections()
        namer = AppNamer(self._client, listed_connections)
        connections: list[ConnectionInfo] = []
        unnamed: dict[str, list[ToolEntry]] = {}
        errors: dict[str, str] = {}
        limiter = anyio.CapacityLimiter(self._concurrency)
        schemas = SchemaMemo()
        decoded: json_codec.SchemaCache = {}  # equal schemas decoded once, one object (then interned)
        shared = _SharedLayers(self._client, limiter, decoded, listed_connections)
        own_layers = _OwnLayers(
            self._client, limiter, decoded, bulk=self._may_load(listed_connections) >= BULK_OWN_MIN
        )

        async def load_one(connection: Connection) -> None:
            info = connection_info(connection, await namer.app_of(connection))
            if not self._filter.keeps_connection(info):
                return
            connections.append(info)
            if info.state != "READY":
                return
            layers = await self._layers(info, shared, own_layers)
            own = layers["own"]
            if isinstance(own, MembraneError):
                errors[info.id] = load_error_text(own)
                logger.warning("could not list actions of connection %s: %s", info.id, own)
                return
            # The other layers add to the connection's own actions; when they cannot be listed, the
            # connection keeps what it has (an integration failure is shown, a universal one logged).
            integration = layers["integration"]
            if isinstance(integration, MembraneError):
                errors[info.id] = load_error_text(integration)
                logger.warning("could not list the integration actions of %s: %s", info.id, integration)
                integration = []
            universal = layers["universal"]
            if isinstance(universal, MembraneError):
                logger.warning("could not list universal actions: %s", universal)
                universal = []
            listed = merge_layers(own, integration, universal)
            kept = [a for a in listed if self._filter.keeps_action(info.app_key, a.key or a.id)]
            for action in kept:
                # Set only when another object comes back: the page decoder shares equal schemas already,
                # and a pydantic model's attribute assignment is not free (10,000 per 5,000 actions).
                input_schema = schemas.intern(action.input_schema)
                if input_schema is not action.input_schema:
                    action.input_schema = input_schema
                output_schema = schemas.intern(action.output_schema)
                if output_schema is not action.output_schema:
                    action.output_schema = output_schema
            unnamed[info.id] = made = unnamed_entries(info, kept, schemas)
            for listener in self.on_entries:
                listener(made)

        async with anyio.create_task_group() as group:
            for connection in listed_connections:
                group.start_soon(load_one, connection)
        connections.sort(key=lambda c: (c.app_key, c.id))
        entries = name_entries(entry for info in connections for entry in unnamed.get(info.id, []))
        logger.info(
            "catalog loaded: %d connections, %d actions in %.0f ms",
            len(connections),
            len(entries),
            (time.perf_counter() - started) * 1000,
        )
        return CatalogSnapshot(
            connections=connections, entries=entries, load_errors=errors, loaded_at=self._clock()
        )

    def _may_load(self, connections: Sequence[Connection]) -> int:
        """How many of these connections may have their actions loaded: ready, and kept by the filter
        (or with an app that is not named yet)."""
        return sum(
            1
            for c in connections
            if c.effective_state == "READY"
            and (_needs_lookup(c) or self._filter.keeps_connection(connection_info(c)))
        )

    async def _layers(
        self, info: ConnectionInfo, shared: _SharedLayers, own_layers: _OwnLayers
    ) -> dict[str, list[Action] | MembraneError]:
        """The connection's own, integration and universal actions, listed concurrently; each an error
        when it could not be listed."""
        layers: dict[str, list[Action] | MembraneError] = {}

        async def one(name: str, fetch: Callable[[], Awaitable[list[Action]]]) -> None:
            try:
                layers[name] = await fetch()
            except MembraneError as exc:
                layers[name] = exc

        async with anyio.create_task_group() as group:
            # One task more, not three: the own and universal lists are mostly shared and in already.
            group.start_soon(one, "integration", lambda: shared.integration(info.integration_id))
            await one("own", lambda: own_layers.of(info.id))
            await one("universal", shared.universal)
        return layers
