"""Membrane objects as pydantic models. Unknown fields are kept (`extra="allow"`), new ones never break us."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class MembraneModel(BaseModel):
    # defer_build: the validators are built at first use (the first catalog load), not at start-up.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True
    )


class ErrorData(MembraneModel):
    type: str | None = None
    key: str | None = None
    message: str | None = None
    data: Any = None


class IntegrationRef(MembraneModel):
    id: str | None = None
    key: str | None = None
    name: str | None = None
    logo_uri: str | None = None


class ClientAction(MembraneModel):
    type: str | None = None
    description: str | None = None
    ui_url: str | None = None
    agent_instructions: str | None = None


def _first_message(errors: list[ErrorData] | None, *fallbacks: ErrorData | None) -> str | None:
    for err in [*(errors or []), *fallbacks]:
        if err is not None and err.message:
            return err.message
    return None


class Connection(MembraneModel):
    id: str
    name: str | None = None
    key: str | None = None
    state: str | None = None
    connected: bool | None = None
    disconnected: bool | None = None
    is_defunct: bool | None = None
    integration_id: str | None = None
    integration_key: str | None = None
    integration: IntegrationRef | None = None
    connector_id: str | None = None
    client_action: ClientAction | None = None
    errors: list[ErrorData] | None = None
    error: ErrorData | None = None
    request_error: ErrorData | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def error_message(self) -> str | None:
        return _first_message(self.errors, self.request_error, self.error)


class Action(MembraneModel):
    id: str
    key: str | None = None
    name: str | None = None
    description: str | None = None
    type: str | None = None
    input_schema: Any = None
    output_schema: Any = None
    integration_id: str | None = None
    integration_key: str | None = None
    connection_id: str | None = None
    state: str | None = None
    errors: list[ErrorData] | None = None
    agent_session_id: str | None = None
    revision: str | int | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def error_message(self) -> str | None:
        # Actions report failures only in `errors` (the SDK schema has no single `error` field).
        extra_error = (self.model_extra or {}).get("error")
        fallback = ErrorData.model_validate(extra_error) if isinstance(extra_error, dict) else None
        return _first_message(self.errors, fallback)


class ActionRunResult(MembraneModel):
    output: Any = None
    action_run_id: str | None = None


class SearchResult(MembraneModel):
    element_type: str
    element: dict[str, Any] = Field(default_factory=dict)


class Page(MembraneModel, Generic[T]):
    items: list[T] = Field(default_factory=list)
    cursor: str | None = None

    @field_validator("cursor", mode="before")
    @classmethod
    def _cursor_as_text(cls, value: Any) -> Any:
        # Opaque, but some servers send a number; an empty cursor means "last page".
        return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class ProxyResponse:
    """The app's answer through the proxy, verbatim. `headers` has lower-case names."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cut: str | None = None
    """Set when the body was longer than the client reads: the note saying where it was cut."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)
