"""The meta tools' arguments: one pydantic model per tool gives both its inputSchema and the parsed args.

`input_schema(model)` renders the JSON Schema hosts see: no titles, an optional field (default None)
is simply optional (not nullable), ``additionalProperties: false``. Where a host-friendly shape
matters more than what pydantic would write (single-type ``anyOf`` branches), the field pins its
schema with ``WithJsonSchema``. Arguments are validated against the schema first (clear problems
listed for the agent, see tools/validation.py), then parsed into the model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

RAW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # Membrane's proxy: no HEAD, no OPTIONS
RAW_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class HostSchema(GenerateJsonSchema):
    """pydantic's JSON Schema without titles, and with optional fields that are not nullable."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: core_schema.CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        out = super().generate(schema, mode)
        out.pop("title", None)
        return out

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if "default" in schema and schema["default"] is None:
            # `x: T | None = None` means "may be left out", not "may be null".
            inner = self.generate_inner(schema["schema"])
            branches = [b for b in inner.get("anyOf", []) if b != {"type": "null"}]
            if len(branches) == 1 and len(inner) == 1:
                only: JsonSchemaValue = branches[0]
                return only
            if branches and len(branches) < len(inner.get("anyOf", [])):
                return {**inner, "anyOf": branches}
            return inner
        return super().default_schema(schema)


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(schema_generator=HostSchema)
    return schema


class Arguments(BaseModel):
    # defer_build: the validators are built at the first call or listing, not at start-up.
    model_config = ConfigDict(extra="forbid", defer_build=True)


ConnectionRef = Annotated[
    str,
    Field(
        min_length=1,
        description="Connection id, or app key when the app has one connection.",
    ),
]
# Single-type branches rather than a type array: more hosts map them faithfully. The Python types keep
# ints ints (a path parameter 42 must not become "42.0").
Scalar = Annotated[
    str | bool | int | float,
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}),
]


class ListConnectionsArgs(Arguments):
    pass


class SearchActionsArgs(Arguments):
    query: str = Field(
        min_length=1,
        max_length=200,
        description="What you want to do, in plain words (e.g. 'find contacts by email').",
    )
    app: str | None = Field(None, description="Only this app (e.g. 'vtiger').")
    connection: str | None = Field(None, description="Only this connection (id).")
    limit: int = Field(5, ge=1, le=50)
    schemas: bool = Field(False, description="Full input schema for every hit.")


class DescribeActionArgs(Arguments):
    connection: ConnectionRef
    action: str = Field(min_length=1, description="Action key or id.")


class RunWriteActionArgs(Arguments):
    connection: ConnectionRef
    action: str = Field(min_length=1, description="Action key or id.")
    input: Annotated[
        dict[str, Any],
        WithJsonSchema(
            {"type": "object", "description": "Input matching the action's input_schema.", "default": {}}
        ),
    ] = Field(default_factory=dict)


class RunActionArgs(RunWriteActionArgs):
    fields: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, description="Only these record fields (dot paths)."
    )
    count_only: bool = Field(False, description="Record count and first ids only.")
    continuation: str | None = Field(None, description="Handle of a cut result: its next slice (no re-run).")


# raw_request's arguments. Every method parses, so that a write sent here is refused by name (pointing at
# raw_write_request) rather than by the enum; the listed schema shows GET. (A docstring here
# would become the schema's description.)
class RawRequestArgs(Arguments):
    connection: ConnectionRef
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str = Field(
        min_length=1,
        description="Path relative to the app's API base, e.g. '/me'.",
    )
    query: dict[str, Scalar] | None = None
    headers: dict[str, str] | None = None
    body: Annotated[
        dict[str, Any] | list[Any] | str | None,
        WithJsonSchema(
            {
                "anyOf": [{"type": "object"}, {"type": "array"}, {"type": "string"}],
                "description": "JSON body, or a string sent as-is.",
            }
        ),
    ] = None
    path_params: Annotated[
        dict[str, str | int | float] | None,
        WithJsonSchema(
            {
                "type": "object",
                "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                "description": "Values for {name} placeholders in path.",
            }
        ),
    ] = None


class RawWriteRequestArgs(RawRequestArgs):
    method: Literal["POST", "PUT", "PATCH", "DELETE"]


class CreateActionArgs(Arguments):
    connection: ConnectionRef
    description: str = Field(
        min_length=3, max_length=200, description="What the new action should do, in plain words."
    )
    timeout_s: float | None = Field(None, ge=1)
    """None: the server's --create-action-timeout. The registry writes that default, and the maximum
    (600 s, or the setting when larger), into the advertised schema."""


class ConnectAppArgs(Arguments):
    app: str = Field(min_length=1, description="App to connect: key or name (e.g. 'vtiger').")
    name: str | None = Field(None, description="Name for the new connection.")
    new: bool = Field(False, description="Add a connection even if one exists.")
    wait_s: float = Field(0, ge=0, le=300, description="Wait this long for the user to finish signing in.")
    request_id: str | None = Field(
        None, description="A pending connection request (from an earlier connect_app) to check or wait on."
    )


class GetRunLogArgs(Arguments):
    run_id: str = Field(
        min_length=1, max_length=200, description="The actionRunId of a run (from a result or an error)."
    )
    details: bool = Field(False, description="Add the raw request and response exchanged with the app.")
