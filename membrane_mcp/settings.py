"""Every option of membrane-mcp, in one settings object.

Each field is an environment variable (``MEMBRANE_MCP_<FIELD>``; Membrane's own
credentials keep the names Membrane's tools use: ``MEMBRANE_TOKEN``,
``MEMBRANE_API_URL``, ``MEMBRANE_WORKSPACE_KEY``...) and a command-line flag
(``--field-name``, see ``cli.py``). Flags win over the environment.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

ToolMode = Literal["auto", "direct", "search"]
Transport = Literal["stdio", "http"]
LogFormat = Literal["text", "json"]

DEFAULT_API_URL = "https://api.getmembrane.com"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def installation_dir() -> Path:
    """Where this copy of membrane-mcp lives: the checkout (editable install) or the environment's site-packages."""
    return Path(__file__).resolve().parent.parent


def default_sandbox_db(installation: Path | None = None) -> Path:
    """The sandbox database of this checkout (or installation), in the user data directory.

    One file per checkout: writes made while trying one checkout persist across its runs, and never
    show up in another (a fresh clone starts from the seeded data). ``membrane-mcp sandbox --reset``
    deletes it.
    """
    import platformdirs

    where = (installation or installation_dir()).resolve()
    digest = hashlib.sha256(str(where).encode()).hexdigest()[:12]
    directory = Path(platformdirs.user_data_dir("membrane-mcp"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"sandbox-{where.name or 'root'}-{digest}.sqlite3"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    # An empty variable counts as unset: hosts fill unset config fields (an MCP bundle's user_config) with "".
    model_config = SettingsConfigDict(
        env_prefix="MEMBRANE_MCP_", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    # Membrane backend and credentials.
    api_url: str = Field(
        DEFAULT_API_URL,
        validation_alias=_env("api_url", "MEMBRANE_API_URL"),
        description="Membrane API base URL",
    )
    token: SecretStr | None = Field(
        None, validation_alias=_env("token", "MEMBRANE_TOKEN"), description="Membrane API token"
    )
    workspace_key: str | None = Field(
        None,
        validation_alias=_env("workspace_key", "MEMBRANE_WORKSPACE_KEY"),
        description="workspace key, to mint tokens (with the secret and a tenant key)",
    )
    workspace_secret: SecretStr | None = Field(
        None,
        validation_alias=_env("workspace_secret", "MEMBRANE_WORKSPACE_SECRET"),
        description="workspace secret that signs the minted tokens",
    )
    tenant_key: str | None = Field(
        None, validation_alias=_env("tenant_key", "MEMBRANE_TENANT_KEY"), description="tenant (customer) key"
    )

    # The embedded sandbox (a local Membrane stand-in).
    sandbox: bool = Field(False, description="run on an embedded local Membrane sandbox")
    sandbox_db: Path | None = Field(
        None,
        description="sandbox database file (default: one per checkout, in the user data dir; :memory: for none)",
    )
    sandbox_build_seconds: float = Field(
        2.0, ge=0, description="how long the sandbox takes to build an action"
    )

    # Transport.
    transport: Transport = Field("stdio", description="stdio, or http (streamable HTTP at /mcp)")
    host: str = Field("127.0.0.1", description="HTTP bind address")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port")
    workers: int = Field(
        1,
        ge=0,
        le=256,
        description="HTTP worker processes sharing the port, each with its own catalog (0: one per core). "
        "Above 1, only stateless 2026-07-28 clients are served: a session-based 2025-11-25 client needs 1, "
        "hence the default",
    )

    # Catalog: which actions become tools.
    tool_mode: ToolMode = Field("auto", description="direct: every action a tool; search: meta tools only")
    direct_tool_limit: int = Field(40, ge=0, description="auto mode lists actions directly up to this many")
    direct_max_bytes: int = Field(
        60_000,
        ge=0,
        description="auto mode lists actions directly only while their tool definitions take at most this "
        "many bytes (compact JSON, as a client receives them)",
    )
    apps: CommaList = Field(default_factory=list, description="glob patterns on app keys to include")
    connections: CommaList = Field(default_factory=list, description="glob patterns on connection ids/names")
    actions: CommaList = Field(
        default_factory=list, description="glob patterns on action-key or app:action-key"
    )
    catalog_ttl: float = Field(300.0, ge=0, description="seconds a loaded catalog stays fresh")
    catalog_concurrency: int = Field(16, ge=1, le=64, description="connections whose actions load at once")

    # Calls.
    max_output_bytes: int = Field(65536, ge=1024, description="larger outputs are cut at a record boundary")
    call_timeout: float = Field(60.0, gt=0, description="deadline of each tool call, seconds")
    create_action_timeout: float = Field(180.0, gt=0, description="deadline of create_action, seconds")

    # Safety (README, Security).
    read_only: bool = Field(False, description="list and run read actions only; raw_request GET only")
    allow_actions: CommaList = Field(
        default_factory=list, description="glob patterns on app:action-key to allow"
    )
    deny_actions: CommaList = Field(
        default_factory=list, description="glob patterns on app:action-key to deny"
    )
    deny_destructive: bool = Field(False, description="list and run reads and creates only")
    confirm_destructive: bool = Field(
        False, description="ask the user (MCP elicitation) before a destructive call"
    )
    no_raw_request: bool = Field(False, description="remove the raw_request tool")
    raw_methods: CommaList = Field(
        default_factory=list,
        description="HTTP methods raw_request may send (default all; GET under allow/deny lists "
        "or --deny-destructive)",
    )
    raw_allow_host: CommaList = Field(
        default_factory=list,
        description="origins (host, host:port or https://host[:port]) raw_request may reach with an absolute URL",
    )
    allow_create_action: bool = Field(
        False, description="keep create_action available under --allow-actions/--deny-actions"
    )
    auth_tokens: SecretStr | None = Field(
        None, description="bearer tokens HTTP clients must send (comma-separated)"
    )
    allowed_origins: CommaList = Field(default_factory=list, description="extra Origin values HTTP accepts")
    allowed_hosts: CommaList = Field(default_factory=list, description="extra Host values HTTP accepts")
    max_request_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest HTTP request body accepted")

    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR (logs go to stderr)")

    # Resource limits (README, Security).
    max_response_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="upstream bodies are read up to this many bytes, then cut"
    )
    max_sessions: int = Field(1000, ge=1, description="open HTTP sessions the server keeps at most")
    max_sessions_per_caller: int = Field(
        100, ge=1, description="open HTTP sessions per bearer credential at most"
    )
    session_idle_timeout: float = Field(
        1800.0, gt=0, description="seconds an idle HTTP session lives after its last request"
    )
    fresh_session_idle_timeout: float = Field(
        60.0, gt=0, description="seconds an idle HTTP session that never called a tool lives"
    )
    header_timeout: float = Field(
        10.0, gt=0, description="seconds a client has to send complete HTTP request headers"
    )
    body_timeout: float = Field(
        30.0, gt=0, description="seconds between chunks of an HTTP request body before it is refused"
    )
    # Observability (README, Operate it). Traces are configured by the standard OTEL_* variables.
    log_format: LogFormat = Field("text", description="text, or json: one JSON object per log line")
    metrics: bool = Field(False, description="serve Prometheus metrics at /metrics (HTTP transport)")
    audit_log: str | None = Field(
        None, description="append one JSON line per write to this file ('-' for stderr)"
    )
    audit_values: bool = Field(False, description="put argument values (secrets masked) in audit records")
    audit_fail_open: bool = Field(
        False, description="run writes even when the audit record cannot be written (default: refuse)"
    )

    # Many users over HTTP (README, "Run it for many users"): OAuth 2.1 resource server, one tenant each.
    oauth_issuer: str | None = Field(
        None, description="issuer URL of the OAuth authorization server whose access tokens HTTP accepts"
    )
    public_url: str | None = Field(
        None, description="this server's public URL (the OAuth resource and default token audience)"
    )
    oauth_audience: str | None = Field(None, description="audience tokens must carry (default: public URL)")
    oauth_introspection_url: str | None = Field(
        None, description="RFC 7662 endpoint that checks opaque (non-JWT) access tokens"
    )
    oauth_client_id: str | None = Field(None, description="client id this server introspects tokens with")
    oauth_client_secret: SecretStr | None = Field(None, description="its client secret")
    oauth_algorithms: CommaList = Field(
        default_factory=lambda: [
            "RS256",
            "RS384",
            "RS512",
            "PS256",
            "PS384",
            "PS512",
            "ES256",
            "ES384",
            "EdDSA",
        ],
        description="JWT signature algorithms accepted (asymmetric only)",
    )
    oauth_leeway: float = Field(30.0, ge=0, le=300, description="clock skew allowed on exp/nbf/iat, seconds")
    oauth_read_scope: str = Field("membrane:read", description="scope that grants the read-only tools")
    oauth_write_scope: str = Field("membrane:write", description="scope that adds the write tools")
    oauth_metrics_scope: str = Field(
        "membrane:metrics", description="scope that may read /metrics when serving many users (--metrics)"
    )
    tenant_claim: str = Field("sub", description="access-token claim that names the user's Membrane tenant")
    max_tenants: int = Field(100, ge=1, description="tenant backends kept open at once (least recent closed)")
    tenant_idle_seconds: float = Field(900.0, gt=0, description="a tenant idle this long is closed")
    tenant_rate: float = Field(
        5.0, ge=0, description="requests per second each tenant may send (0: no limit)"
    )
    tenant_burst: int = Field(
        60, ge=1, description="requests a tenant may send at once before the rate applies"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags, then the environment. No .env file and no secrets directory is configured, so those two
        # sources find nothing, but each still walks every field (a third of `serve`'s settings time).
        return init_settings, env_settings

    @field_validator(
        "apps",
        "connections",
        "actions",
        "allow_actions",
        "deny_actions",
        "raw_methods",
        "raw_allow_host",
        "allowed_origins",
        "allowed_hosts",
        "oauth_algorithms",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _sandbox_db_of_this_checkout(self) -> Settings:
        if self.sandbox and self.sandbox_db is None:
            self.sandbox_db = default_sandbox_db()
        return self

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @property
    def bearer_tokens(self) -> list[str]:
        """The MCP HTTP bearer tokens (never Membrane's)."""
        return list(self.token_tenants)

    @property
    def token_tenants(self) -> dict[str, str | None]:
        """Each static bearer token and the tenant it stands for (``token=tenant``; None without one)."""
        if self.auth_tokens is None:
            return {}
        pairs: dict[str, str | None] = {}
        for part in self.auth_tokens.get_secret_value().split(","):
            token, sep, tenant = part.strip().rpartition("=")
            # A trailing '=' is base64 padding, not a separator: only "token=tenant" with both sides is a pair.
            if sep and token and tenant:
                pairs[token.strip()] = tenant.strip()
            elif part.strip():
                pairs[part.strip()] = None
        return pairs

    @property
    def has_credentials(self) -> bool:
        return self.token is not None or (
            self.workspace_key is not None and self.workspace_secret is not None
        )
