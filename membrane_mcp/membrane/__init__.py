"""Async client for Membrane's REST API. Knows nothing of MCP."""

from membrane_mcp.membrane.auth import StaticToken, TokenProvider, WorkspaceCredentials
from membrane_mcp.membrane.client import MembraneClient, MembraneConfig
from membrane_mcp.membrane.errors import (
    AccessDenied,
    ActionRunError,
    AuthenticationError,
    BadRequest,
    ConnectionProblem,
    DeadlineExceeded,
    InvalidAnswer,
    MembraneError,
    NotFound,
    RateLimited,
    UpstreamUnavailable,
)
from membrane_mcp.membrane.models import (
    Action,
    ActionRunResult,
    ClientAction,
    Connection,
    ErrorData,
    IntegrationRef,
    Page,
    ProxyResponse,
    SearchResult,
)
from membrane_mcp.membrane.retry import RetryPolicy

__all__ = [
    "AccessDenied",
    "Action",
    "ActionRunError",
    "ActionRunResult",
    "AuthenticationError",
    "BadRequest",
    "ClientAction",
    "Connection",
    "ConnectionProblem",
    "DeadlineExceeded",
    "ErrorData",
    "IntegrationRef",
    "InvalidAnswer",
    "MembraneClient",
    "MembraneConfig",
    "MembraneError",
    "NotFound",
    "Page",
    "ProxyResponse",
    "RateLimited",
    "RetryPolicy",
    "SearchResult",
    "StaticToken",
    "TokenProvider",
    "UpstreamUnavailable",
    "WorkspaceCredentials",
]
