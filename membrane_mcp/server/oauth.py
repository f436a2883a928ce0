"""An OAuth 2.1 resource server: which access tokens HTTP accepts, and what it publishes about itself.

Built on the SDK's pieces (`mcp.server.auth`: `TokenVerifier`, `AccessToken`, the bearer
middleware, `create_protected_resource_routes`) and PyJWT for signatures; nothing here
does cryptography itself.

- The authorization server is found from its issuer by RFC 8414 metadata, else OpenID
  discovery; the document's ``issuer`` must be the configured one.
- JWT access tokens are checked against the issuer's JWKS: keys cached, refetched when a
  token names an unknown ``kid`` (at most every `JWKS_REFETCH_SECONDS`), asymmetric
  algorithms only (the header's ``alg`` must be allowed *and* match the key), ``iss``,
  ``aud``, ``exp`` required, ``nbf``/``iat`` checked, all with a small leeway.
- Opaque tokens go to RFC 7662 introspection when an introspection URL is set.
- Every accepted token must carry the tenant claim: it decides whose Membrane data the
  caller reaches (`tenants.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import jwt
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.routing import Route

from membrane_mcp.redaction import protect
from membrane_mcp.settings import Settings

logger = logging.getLogger(__name__)

SYMMETRIC_OR_NONE = frozenset({"none", "HS256", "HS384", "HS512"})
JWKS_REFETCH_SECONDS = 30.0
INTROSPECTION_CACHE_SECONDS = 30.0
INTROSPECTION_CACHE_SIZE = 4096
METADATA_TIMEOUT = 10.0
MAX_TENANT_KEY_LENGTH = 200

Clock = Callable[[], float]


class OAuthConfigurationError(ValueError):
    """An OAuth setting is missing or contradictory; the message names it and the fix."""


@dataclass(frozen=True)
class OAuthConfig:
    issuer: str
    resource: str
    audience: str
    algorithms: tuple[str, ...]
    leeway: float
    read_scope: str
    write_scope: str
    tenant_claim: str
    introspection_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthConfig | None:
        """None when OAuth is off (no issuer); raises `OAuthConfigurationError` for a half-done setup."""
        if not settings.oauth_issuer:
            return None
        if not settings.public_url:
            raise OAuthConfigurationError(
                "MEMBRANE_MCP_OAUTH_ISSUER needs MEMBRANE_MCP_PUBLIC_URL too: the URL clients reach this "
                "server at (for example https://mcp.example.com), which is also the token audience"
            )
        for name, url in (("OAUTH_ISSUER", settings.oauth_issuer), ("PUBLIC_URL", settings.public_url)):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise OAuthConfigurationError(f"MEMBRANE_MCP_{name} must be an http(s) URL, got {url!r}")
        unsafe = sorted(set(settings.oauth_algorithms) & SYMMETRIC_OR_NONE)
        if unsafe:
            raise OAuthConfigurationError(
                f"--oauth-algorithms: {', '.join(unsafe)} cannot be used (a resource server holds no shared "
                "secret); keep asymmetric ones such as RS256, ES256, EdDSA"
            )
        if not settings.oauth_algorithms:
            raise OAuthConfigurationError("--oauth-algorithms is empty: name at least one, such as RS256")
        secret = settings.oauth_client_secret.get_secret_value() if settings.oauth_client_secret else None
        if secret:
            protect([secret])
        resource = settings.public_url.rstrip("/")
        return cls(
            issuer=settings.oauth_issuer,
            resource=resource,
            audience=settings.oauth_audience or resource,
            algorithms=tuple(settings.oauth_algorithms),
            leeway=settings.oauth_leeway,
            read_scope=settings.oauth_read_scope,
            write_scope=settings.oauth_write_scope,
            tenant_claim=settings.tenant_claim,
            introspection_url=settings.oauth_introspection_url,
            client_id=settings.oauth_client_id,
            client_secret=secret,
        )

    @property
    def audiences(self) -> list[str]:
        """The audience; a bare origin also with a trailing slash (URL types add one, as in the metadata)."""
        if "://" in self.audience and urlsplit(self.audience).path in ("", "/"):
            bare = self.audience.rstrip("/")
            return [bare, bare + "/"]
        return [self.audience]

    @property
    def resource_metadata_url(self) -> str:
        return str(build_resource_metadata_url(AnyHttpUrl(self.resource)))


def protected_resource_routes(config: OAuthConfig) -> list[Route]:
    """RFC 9728 metadata at the path the spec derives from the resource, and at the bare well-known path."""
    # Parsed by the metadata model itself, which keeps a bare origin bare: clients compare issuers as strings.
    urls = ProtectedResourceMetadata.model_validate(
        {"resource": config.resource, "authorization_servers": [config.issuer]}
    )
    routes = create_protected_resource_routes(
        resource_url=urls.resource,
        authorization_servers=urls.authorization_servers,
        scopes_supported=[config.read_scope, config.write_scope],
        resource_name="Membrane MCP",
    )
    root = "/.well-known/oauth-protected-resource"
    if routes and routes[0].path != root:
        routes.append(Route(root, endpoint=routes[0].endpoint, methods=["GET", "OPTIONS"]))
    return routes


def metadata_urls(issuer: str) -> list[str]:
    """Where the issuer's metadata may live: RFC 8414 (path inserted), then OpenID discovery (appended)."""
    parts = urlsplit(issuer)
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    return [
        f"{base}/.well-known/oauth-authorization-server{path}",
        f"{base}{path}/.well-known/openid-configuration",
        f"{base}/.well-known/openid-configuration{path}",
    ]


class IssuerMetadata:
    """The authorization server's metadata, fetched once and kept (failures are retried on the next token)."""

    def __init__(self, issuer: str, http: httpx.AsyncClient) -> None:
        self.issuer = issuer
        self._http = http
        self._document: dict[str, Any] | None = None
        self._lock = anyio.Lock()

    async def get(self) -> dict[str, Any]:
        async with self._lock:
            if self._document is None:
                self._document = await self._discover()
            return self._document

    async def _discover(self) -> dict[str, Any]:
        problems = []
        for url in metadata_urls(self.issuer):
            try:
                response = await self._http.get(url, timeout=METADATA_TIMEOUT)
            except httpx.HTTPError as exc:
                problems.append(f"{url}: {exc}")
                continue
            if response.status_code != 200:
                problems.append(f"{url}: HTTP {response.status_code}")
                continue
            document = response.json()
            if not isinstance(document, dict) or document.get("issuer") != self.issuer:
                # RFC 8414 section 3.3: metadata for another issuer must not be used.
                problems.append(f"{url}: issuer is {document.get('issuer')!r}, not {self.issuer!r}")
                continue
            return document
        raise OAuthConfigurationError(
            f"no authorization server metadata for issuer {self.issuer}: " + "; ".join(problems)
        )


class JwksCache:
    """The issuer's signing keys by ``kid``; an unknown ``kid`` refetches the set (rate-limited)."""

    def __init__(
        self, metadata: IssuerMetadata, http: httpx.AsyncClient, clock: Clock = time.monotonic
    ) -> None:
        self._metadata = metadata
        self._http = http
        self._clock = clock
        self._keys: list[tuple[str | None, jwt.PyJWK]] = []  # (use, key)
        self._fetched_at: float | None = None
        self._lock = anyio.Lock()

    async def key_for(self, kid: str | None) -> jwt.PyJWK | None:
        key = self._find(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._find(kid)
            now = self._clock()
            if key is None and (self._fetched_at is None or now - self._fetched_at >= JWKS_REFETCH_SECONDS):
                self._fetched_at = (
                    now  # before fetching: a failing issuer is not asked on every request either
                )
                await self._fetch()
                key = self._find(kid)
        return key

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        signing = [key for use, key in self._keys if use in (None, "sig")]
        if kid is None:
            return signing[0] if len(signing) == 1 else None
        return next((k for k in signing if k.key_id == kid), None)

    async def _fetch(self) -> None:
        jwks_uri = (await self._metadata.get()).get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise OAuthConfigurationError(f"issuer {self._metadata.issuer} publishes no jwks_uri")
        response = await self._http.get(jwks_uri, timeout=METADATA_TIMEOUT)
        response.raise_for_status()
        keys = []
        for entry in response.json().get("keys", []):
            try:
                keys.append((entry.get("use"), jwt.PyJWK(entry)))
            except jwt.PyJWTError as exc:  # a key type we cannot use; others may still verify
                logger.debug("skipping JWKS key %s: %s", entry.get("kid"), exc)
        self._keys = keys


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, str):
        return raw.split()
    if isinstance(raw, list):
        return [str(s) for s in raw]
    return []


def _audience(claims: Mapping[str, Any], expected: Sequence[str]) -> str | None:
    aud = claims.get("aud")
    if isinstance(aud, list):
        return next((a for a in aud if a in expected), str(aud[0]) if aud else None)
    return str(aud) if aud is not None else None


def tenant_key_of(claims: Mapping[str, Any], claim: str) -> str | None:
    value = claims.get(claim)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TENANT_KEY_LENGTH:
        return None
    return value.strip()


def access_token_from(token: str, claims: dict[str, Any], config: OAuthConfig) -> AccessToken | None:
    tenant = tenant_key_of(claims, config.tenant_claim)
    if tenant is None:
        logger.info("refused an access token without a usable %r claim (the tenant key)", config.tenant_claim)
        return None
    exp = claims.get("exp")
    return AccessToken(
        token=token,
        client_id=str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or ""),
        scopes=_scopes(claims),
        # The SDK's bearer backend refuses a token past expires_at with no leeway of its own: add ours.
        expires_at=int(exp + config.leeway) if isinstance(exp, int | float) else None,
        resource=_audience(claims, config.audiences),
        subject=str(claims["sub"]) if claims.get("sub") is not None else None,
        claims=claims,
    )


class JwtVerifier:
    """Verifies JWT access tokens against the issuer's published keys."""

    def __init__(self, config: OAuthConfig, keys: JwksCache) -> None:
        self._config = config
        self._keys = keys

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        alg = header.get("alg")
        if alg not in self._config.algorithms:
            logger.info(
                "refused a JWT signed with %r (accepted: %s)", alg, ", ".join(self._config.algorithms)
            )
            return None
        try:
            key = await self._keys.key_for(header.get("kid"))
        except (httpx.HTTPError, OAuthConfigurationError, ValueError) as exc:
            logger.error("cannot fetch the issuer's signing keys: %s", exc)
            return None
        if key is None:
            logger.info("refused a JWT signed with an unknown key (kid %r)", header.get("kid"))
            return None
        try:
            # A PyJWK binds its algorithm: a token whose header names another one is refused by PyJWT.
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self._config.audiences,
                issuer=self._config.issuer,
                leeway=self._config.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            logger.info("refused a JWT: %s", exc)
            return None
        return access_token_from(token, claims, self._config)


class IntrospectionVerifier:
    """Asks the authorization server about an opaque token (RFC 7662)."""

    def __init__(self, config: OAuthConfig, http: httpx.AsyncClient, clock: Clock = time.time) -> None:
        if not config.introspection_url:
            raise OAuthConfigurationError("IntrospectionVerifier needs MEMBRANE_MCP_OAUTH_INTROSPECTION_URL")
        self._config = config
        self._http = http
        self._clock = clock
        # Answers kept briefly (keyed by the token's digest), so a session's requests do not each ask again.
        self._answers: OrderedDict[bytes, tuple[float, AccessToken | None]] = OrderedDict()

    async def verify_token(self, token: str) -> AccessToken | None:
        key, now = _digest(token), self._clock()
        cached = self._answers.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        answer = await self._introspect(token)
        keep_until = now + INTROSPECTION_CACHE_SECONDS
        if answer is not None and answer.expires_at is not None:
            keep_until = min(keep_until, answer.expires_at)
        self._answers[key] = (keep_until, answer)
        self._answers.move_to_end(key)
        while len(self._answers) > INTROSPECTION_CACHE_SIZE:
            self._answers.popitem(last=False)
        return answer

    async def _introspect(self, token: str) -> AccessToken | None:
        config = self._config
        auth: httpx.Auth | Any = httpx.USE_CLIENT_DEFAULT
        if config.client_id and config.client_secret:
            auth = httpx.BasicAuth(config.client_id, config.client_secret)
        try:
            response = await self._http.post(
                config.introspection_url or "",
                data={"token": token, "token_type_hint": "access_token"},
                auth=auth,
                timeout=METADATA_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            logger.error("token introspection failed: %s", exc)
            return None
        if response.status_code != 200:
            logger.error("token introspection answered HTTP %s", response.status_code)
            return None
        claims = response.json()
        if not isinstance(claims, dict) or claims.get("active") is not True:
            return None
        if claims.get("iss") not in (None, config.issuer):
            return None
        audience = claims.get("aud")
        presented = audience if isinstance(audience, list) else [audience]
        if audience is not None and not set(config.audiences) & set(presented):
            logger.info("refused an introspected token for audience %r", audience)
            return None
        now = self._clock()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if isinstance(exp, int | float) and exp + config.leeway < now:
            return None
        if isinstance(nbf, int | float) and nbf - config.leeway > now:
            return None
        claims.setdefault("aud", config.audience)
        return access_token_from(token, claims, config)


class StaticTokenVerifier:
    """``MEMBRANE_MCP_AUTH_TOKENS``: fixed tokens, each for a tenant (or the default one), full scopes."""

    def __init__(
        self, token_tenants: Mapping[str, str | None], default_tenant: str, scopes: Sequence[str], claim: str
    ) -> None:
        self._tokens = [(_digest(token), tenant or default_tenant) for token, tenant in token_tenants.items()]
        self._scopes = list(scopes)
        self._claim = claim

    async def verify_token(self, token: str) -> AccessToken | None:
        candidate = _digest(token)
        found: str | None = None
        for digest, tenant in self._tokens:  # every comparison, in constant time: timing says nothing
            if hmac.compare_digest(candidate, digest):
                found = tenant
        if found is None:
            return None
        return AccessToken(
            token=token,
            client_id="static-token",
            scopes=self._scopes,
            subject=found,
            claims={self._claim: found},
        )


class ChainVerifier:
    """Static tokens first, then a JWT check, then introspection for opaque tokens."""

    def __init__(
        self,
        static: TokenVerifier | None = None,
        jwts: TokenVerifier | None = None,
        introspection: TokenVerifier | None = None,
    ) -> None:
        self._static, self._jwts, self._introspection = static, jwts, introspection

    async def verify_token(self, token: str) -> AccessToken | None:
        if self._static is not None and (found := await self._static.verify_token(token)) is not None:
            return found
        if looks_like_jwt(token):
            return await self._jwts.verify_token(token) if self._jwts is not None else None
        if self._introspection is not None:
            return await self._introspection.verify_token(token)
        return None


def build_verifier(settings: Settings, config: OAuthConfig | None, http: httpx.AsyncClient) -> ChainVerifier:
    static = None
    if settings.token_tenants:
        scopes = (
            [config.read_scope, config.write_scope]
            if config
            else [settings.oauth_read_scope, settings.oauth_write_scope]
        )
        static = StaticTokenVerifier(
            settings.token_tenants, settings.tenant_key or "default", scopes, settings.tenant_claim
        )
    if config is None:
        return ChainVerifier(static=static)
    metadata = IssuerMetadata(config.issuer, http)
    jwts = JwtVerifier(config, JwksCache(metadata, http))
    introspection = IntrospectionVerifier(config, http) if config.introspection_url else None
    return ChainVerifier(static=static, jwts=jwts, introspection=introspection)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()
