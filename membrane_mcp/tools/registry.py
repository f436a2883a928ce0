"""The meta-tool registry: each meta tool is one `MetaTool` object, and everything reads it.

A declaration holds the name, title, description, argument model (its JSON Schema is the
inputSchema; it parses the arguments), annotations, policy class, handler, the operation it
performs (which decides the advice when a write's outcome is unknown), its call budget, and
how the policy restricts it (`restrict`). Listing (`definition`), visibility (`visible`),
validation and parsing (`input_schema`, `parse`) and dispatch (`handler`) all come from here;
``tools/meta.py`` holds the declarations (one per meta tool).

Policy classes:
- ``read``: reads Membrane's catalog only; always listed.
- ``write``: can change data in the app (run_action, raw_request); listed, restricted by the policy.
- ``meta-write``: makes Membrane create something (an action, a connection); hidden in read-only mode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from mcp import types
from pydantic import BaseModel

from membrane_mcp.tools.annotations import listed_hints
from membrane_mcp.tools.arguments import input_schema
from membrane_mcp.tools.errors import Operation
from membrane_mcp.tools.policy import Policy
from membrane_mcp.tools.schema import plain_words
from membrane_mcp.tools.services import CallContext, GatewayConfig, ToolDeps

PolicyClass = Literal["read", "write", "meta-write"]

ArgsT = TypeVar("ArgsT", bound=BaseModel)
Handler = Callable[[ToolDeps, ArgsT, CallContext], Awaitable[Any]]

READ_ONLY = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)


@dataclass(frozen=True)
class Restriction:
    """What the policy leaves of a tool: a note for its description, its annotations, its schema."""

    note: str
    annotations: types.ToolAnnotations
    schema: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def _no_schema_change(schema: dict[str, Any], config: GatewayConfig) -> dict[str, Any]:
    return schema


@dataclass(frozen=True)
class MetaTool(Generic[ArgsT]):
    name: str
    title: str
    description: str
    arguments: type[ArgsT]
    annotations: types.ToolAnnotations
    """Without any policy restriction (title and openWorldHint are filled in from the declaration)."""
    policy_class: PolicyClass
    handler: Handler[ArgsT]
    operation: Operation
    open_world: bool = True
    available: Callable[[Policy], bool] | None = None
    """A rule beyond the policy class (e.g. --no-raw-request)."""
    restrict: Callable[[Policy], Restriction | None] | None = None
    schema_defaults: Callable[[dict[str, Any], GatewayConfig], dict[str, Any]] = _no_schema_change
    """Settings that show in the schema (e.g. create_action's timeout_s default)."""
    budget: Callable[[GatewayConfig], float] | None = None
    """The call's deadline in seconds; None: `call_timeout`."""
    may_write: Callable[[Mapping[str, Any]], bool] | None = None
    """Whether a call with these (raw) arguments may change data; None: by policy class."""

    def visible(self, policy: Policy) -> bool:
        if self.policy_class == "meta-write" and not policy.allows_meta_writes():
            return False
        return self.available is None or self.available(policy)

    def input_schema(self, config: GatewayConfig) -> dict[str, Any]:
        """The unrestricted schema (what arguments are validated against)."""
        return self.schema_defaults(input_schema(self.arguments), config)

    def parse(self, arguments: Mapping[str, Any]) -> ArgsT:
        return self.arguments.model_validate(dict(arguments))

    def call_budget(self, config: GatewayConfig) -> float:
        return config.call_timeout if self.budget is None else self.budget(config)

    def writes(self, arguments: Mapping[str, Any]) -> bool:
        if self.may_write is not None:
            return self.may_write(arguments)
        return self.policy_class != "read"

    def definition(
        self, policy: Policy, config: GatewayConfig, schema: dict[str, Any] | None = None
    ) -> types.Tool:
        """The tool as listed under this policy: restricted tools say what is left of them. `schema`: its
        `input_schema(config)` when the caller has it already (rendering it is most of a listing's work)."""
        schema = self.input_schema(config) if schema is None else schema
        description = self.description
        annotations = self.annotations
        restriction = self.restrict(policy) if self.restrict is not None else None
        if restriction is not None:
            description += restriction.note
            annotations = restriction.annotations
            if restriction.schema is not None:
                schema = restriction.schema(schema)
        annotations = annotations.model_copy(update={"open_world_hint": self.open_world})
        # As action tools are listed: the title once (top level), hints only where they differ from the
        # spec's defaults, and none of those the spec gives meaning only to tools that write.
        hints = listed_hints(annotations.model_dump(by_alias=True, exclude_none=True))
        return types.Tool(
            name=self.name,
            # As for action tools: no title that reads like the name ("Get run log", get_run_log).
            title=None if plain_words(self.title) == plain_words(self.name) else self.title,
            description=description,
            input_schema=schema,
            annotations=types.ToolAnnotations.model_validate(hints) if hints else None,
        )


@dataclass(frozen=True)
class Registry:
    """The meta tools in listing order."""

    tools: tuple[MetaTool[Any], ...]
    _by_name: dict[str, MetaTool[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {tool.name: tool for tool in self.tools})

    def __iter__(self) -> Iterator[MetaTool[Any]]:
        return iter(self.tools)

    def get(self, name: str) -> MetaTool[Any] | None:
        return self._by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(tool.name for tool in self.tools)

    def visible(self, policy: Policy) -> list[MetaTool[Any]]:
        return [tool for tool in self.tools if tool.visible(policy)]

    def definitions(
        self, policy: Policy, config: GatewayConfig, schemas: Mapping[str, dict[str, Any]] | None = None
    ) -> list[types.Tool]:
        """Each visible tool as listed; `schemas`: their `input_schema(config)` by name, when known."""
        known = schemas or {}
        return [tool.definition(policy, config, known.get(tool.name)) for tool in self.visible(policy)]
