"""Tool annotation hints as an MCP client reads them: an unset hint means the spec's default."""

from __future__ import annotations

from mcp import types

# The MCP spec's defaults (ToolAnnotations); destructiveHint and idempotentHint mean something only
# when readOnlyHint is false.
SPEC_DEFAULTS = {
    "readOnlyHint": False,
    "destructiveHint": True,
    "idempotentHint": False,
    "openWorldHint": True,
}


def hint(tool: types.Tool, name: str) -> bool:
    sent = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else {}
    return bool(sent.get(name, SPEC_DEFAULTS[name]))


def may_destroy(tool: types.Tool) -> bool:
    """Whether a client must treat the tool as destructive."""
    return not hint(tool, "readOnlyHint") and hint(tool, "destructiveHint")
