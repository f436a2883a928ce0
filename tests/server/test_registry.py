"""The meta tools' listing, annotations (under every policy) and dispatch all come from the registry.

Driven through the MCP client against the sandbox.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import anyio
import pytest
from mcp import Client, types

from membrane_mcp.membrane.auth import StaticToken
from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import catalog_from, gateway_config, membrane_config, policy_from
from membrane_mcp.settings import Settings
from membrane_mcp.tools.arguments import Arguments
from membrane_mcp.tools.gateway import Gateway
from membrane_mcp.tools.meta import META_TOOLS
from membrane_mcp.tools.registry import READ_ONLY, MetaTool, Registry
from membrane_mcp.tools.services import CallContext, ToolDeps
from tests.hints import hint
from tests.server.conftest import settings_for

pytestmark = pytest.mark.anyio

POLICIES: dict[str, dict[str, Any]] = {
    "default": {},
    "read-only": {"read_only": True},
    "deny-destructive": {"deny_destructive": True},
    "raw-methods GET": {"raw_methods": ["GET"]},
}


@asynccontextmanager
async def serve(settings: Settings, registry: Registry = META_TOOLS, **client: Any) -> AsyncIterator[Client]:
    async with MembraneClient(
        membrane_config(settings), StaticToken(settings.token.get_secret_value())
    ) as membrane:  # type: ignore[union-attr]
        gateway = Gateway(
            gateway_config(settings),
            membrane,
            policy_from(settings),
            catalog_from(settings, membrane),
            registry,
        )
        async with Client(build_server(gateway), **client) as mcp_client:
            yield mcp_client


def listed(tool: types.Tool) -> dict[str, Any]:
    return tool.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"meta"})


@pytest.mark.parametrize("policy", list(POLICIES))
async def test_the_listing_and_annotations_of_every_meta_tool_come_from_the_registry(sandbox, policy):
    settings = settings_for(sandbox, tool_mode="search", **POLICIES[policy])
    async with serve(settings) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    expected = META_TOOLS.definitions(policy_from(settings), gateway_config(settings))
    assert list(tools) == [tool.name for tool in expected]
    for tool in expected:
        assert listed(tools[tool.name]) == listed(tool)


async def test_annotations_follow_the_effective_policy(sandbox):
    async def meta(**policy: Any) -> dict[str, types.Tool]:
        async with serve(settings_for(sandbox, tool_mode="search", **policy)) as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    default = await meta()
    for name in ("run_action", "raw_request"):
        assert hint(default[name], "readOnlyHint") is True, name  # destructiveHint means nothing then
    for name in ("run_write_action", "raw_write_request"):
        assert hint(default[name], "readOnlyHint") is False, name
        assert hint(default[name], "destructiveHint") is True, name

    for policy in ({"deny_destructive": True}, {"raw_methods": ["GET"]}, {"read_only": True}):
        tools = await meta(**policy)
        raw = tools["raw_request"]
        assert hint(raw, "readOnlyHint") is True, policy
        assert raw.input_schema["properties"]["method"]["enum"] == ["GET"], policy
        assert "raw_write_request" not in tools, policy

    only_get = (await meta(raw_methods=["GET"]))["raw_request"]
    assert only_get.input_schema["properties"]["method"]["enum"] == ["GET"]
    assert hint(only_get, "readOnlyHint") is True

    with_writes = await meta(raw_methods=["GET", "POST"])
    assert with_writes["raw_request"].input_schema["properties"]["method"]["enum"] == ["GET"]
    raw_write = with_writes["raw_write_request"]
    assert raw_write.input_schema["properties"]["method"]["enum"] == ["POST"]
    assert hint(raw_write, "destructiveHint") is True and "POST only" in (raw_write.description or "")

    deny = await meta(deny_destructive=True)
    run = deny["run_write_action"]
    assert hint(run, "destructiveHint") is False and hint(run, "readOnlyHint") is False  # creates still run

    read_only = await meta(read_only=True)
    assert hint(read_only["run_action"], "readOnlyHint") is True
    assert "run_write_action" not in read_only
    assert {"create_action", "connect_app"}.isdisjoint(read_only)


class EchoArgs(Arguments):
    word: str


async def echo(deps: ToolDeps, args: EchoArgs, call: CallContext) -> Any:
    return {"echo": args.word, "connections": len((await deps.catalog.snapshot()).connections)}


ECHO = MetaTool(
    name="echo_word",
    title="Echo",
    description="Echo a word.",
    arguments=EchoArgs,
    annotations=READ_ONLY,
    policy_class="read",
    handler=echo,
    operation="read",
)


async def test_dispatch_comes_from_the_registry(sandbox):
    """A declaration is all it takes: listed with its schema, validated, parsed and dispatched."""

    async def replaced(deps: ToolDeps, args: Any, call: CallContext) -> Any:
        return {"replaced": True}

    list_connections = META_TOOLS.get("list_connections")
    assert list_connections is not None
    registry = Registry((replace(list_connections, handler=replaced), ECHO))
    async with serve(settings_for(sandbox, tool_mode="search"), registry) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        echoed = await client.call_tool("echo_word", {"word": "hi"})
        bad = await client.call_tool("echo_word", {"word": 3})
        swapped = await client.call_tool("list_connections", {})
        with pytest.raises(Exception, match="Unknown tool"):
            await client.call_tool("search_actions", {"query": "x"})  # not in this registry
    assert names == ["list_connections", "echo_word"]
    assert echoed.structured_content == {"echo": "hi", "connections": 3}
    assert bad.is_error and "word" in bad.content[0].text
    assert swapped.structured_content == {"replaced": True}


async def test_hidden_meta_tools_answer_like_unknown_ones(sandbox):
    async with serve(settings_for(sandbox, tool_mode="search", read_only=True)) as client:
        with pytest.raises(Exception) as hidden:
            await client.call_tool("create_action", {"connection": "vtiger", "description": "abc"})
        with pytest.raises(Exception) as unknown:
            await client.call_tool("no_such_tool", {})
    assert str(hidden.value).replace("create_action", "X") == str(unknown.value).replace("no_such_tool", "X")


async def test_every_error_result_is_logged_once_with_its_kind_and_no_arguments(sandbox, caplog):
    caplog.set_level(logging.INFO, logger="membrane_mcp.tools.gateway")
    async with serve(settings_for(sandbox, tool_mode="search")) as client:
        bad = await client.call_tool("search_actions", {"query": "x", "limit": "secret-value-123"})
        unknown = await client.call_tool("run_action", {"connection": "nope-secret-456", "action": "x"})
    assert bad.is_error and unknown.is_error
    failures = [r.getMessage() for r in caplog.records if r.name == "membrane_mcp.tools.gateway"]
    assert failures == [
        "tool search_actions failed: invalid_arguments",
        "tool run_action failed: unknown_connection",
    ]
    assert all("secret" not in r.getMessage() for r in caplog.records)


async def test_the_gateway_stops_a_call_stuck_outside_the_membrane_client(fresh_sandbox):
    """Work outside the Membrane client (here: a user who never answers the confirmation) is still
    bounded by the call's deadline, and reported as possibly written."""

    async def never_answers(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        await anyio.sleep_forever()
        raise AssertionError

    settings = settings_for(fresh_sandbox, tool_mode="search", confirm_destructive=True, call_timeout=1)
    args = {"connection": "vtiger", "action": "delete-record", "input": {"id": "12x1"}}
    async with serve(settings, mode="legacy", elicitation_callback=never_answers) as client:
        await client.list_tools()  # the catalog is loaded: only the confirmation is left to wait on
        result = await client.call_tool("run_write_action", args)
    assert result.is_error and result.structured_content is not None, result.content
    assert result.structured_content["details"]["timedOut"] is True, result.content
    assert result.structured_content["details"]["outcomeUnknown"] is True  # run_write_action may write
    assert "may or may not have happened" in result.content[0].text
