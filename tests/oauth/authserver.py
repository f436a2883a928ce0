"""A small, real OAuth 2.1 authorization server for the tests, built with Authlib (PyPI).

Authlib does the OAuth work: client authentication, the client-credentials grant, the
authorization-code grant with PKCE (S256 required), scope checks, RFC 9068 JWT access tokens
(signed RS256 through joserfc) and RFC 7662 introspection. Consent is automated: the
test's "browser" opens /authorize with the signed-in user's name in ``user``. This module only wires it to Starlette and serves RFC 8414 metadata and
the JWKS, on a loopback port in a thread. Clients whose id starts with ``opaque-`` get
opaque tokens (for the introspection path).
"""

from __future__ import annotations

import hmac
import os
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, JsonRequest
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # loopback HTTP only, in tests

SCOPES = ["membrane:read", "membrane:write"]


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str | None  # None: a public client (authorization code with PKCE, no secret)
    scope: str = " ".join(SCOPES)
    redirect_uris: tuple[str, ...] = ()

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return self.scope
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and hmac.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client_secret is None:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and bool(self.redirect_uris)

    def check_grant_type(self, grant_type: str) -> bool:
        if self.redirect_uris:
            return grant_type == "authorization_code"
        return grant_type == "client_credentials"


@dataclass
class User:
    name: str

    def get_user_id(self) -> str:
        return self.name


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    code_challenge: str | None
    code_challenge_method: str | None
    resource: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class AuthorizationCodeWithPkce(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """Codes kept in the server's memory; the signed-in user is the one the test's browser names."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        owner: LoopbackAuthorizationServer = self.server.owner
        owner.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.scope if hasattr(request, "scope") else data.get("scope", ""),
            user=request.user,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            resource=data.get("resource"),
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found: AuthorizationCode | None = self.server.owner.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.server.owner.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
        return authorization_code.user


@dataclass
class IssuedToken:
    access_token: str
    client_id: str
    scope: str
    issued_at: int
    expires_in: int

    def get_client_id(self) -> str:
        return self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.issued_at + self.expires_in < time.time()

    def is_revoked(self) -> bool:
        return False


class TokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, issuer: str, audience: str, key: RSAKey) -> None:
        super().__init__(issuer=issuer, alg="RS256")
        self.audience = audience
        self.key = key

    def get_jwks(self) -> Any:
        return self.key

    def get_audiences(self, client: Client, user: Any, scope: str) -> str:
        return self.audience

    def get_extra_claims(self, client: Client, grant_type: str, user: Any, scope: str) -> dict[str, Any]:
        return {}

    def access_token_generator(self, client: Client, grant_type: str, user: Any, scope: str) -> str:
        if client.client_id.startswith("opaque-"):
            return secrets.token_urlsafe(32)
        return str(super().access_token_generator(client, grant_type, user, scope))


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    def __init__(self, server: LoopbackAuthorizationServer) -> None:
        super().__init__(server.authorization)
        self.owner = server

    def query_token(self, token: str, token_type_hint: str | None) -> IssuedToken | None:
        return self.owner.issued.get(token)

    def check_permission(self, token: IssuedToken, client: Client, request: Any) -> bool:
        return client.client_id == "resource-server"

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "scope": token.scope,
            "sub": token.client_id,
            "aud": self.owner.audience,
            "iss": self.owner.issuer,
            "exp": token.issued_at + token.expires_in,
            "iat": token.issued_at,
        }


class StarletteAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, owner: LoopbackAuthorizationServer) -> None:
        super().__init__(scopes_supported=SCOPES)
        self.owner = owner

    def query_client(self, client_id: str) -> Client | None:
        return self.owner.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        issued = IssuedToken(
            token["access_token"],
            request.client.client_id,
            token.get("scope", ""),
            int(time.time()),
            token["expires_in"],
        )
        self.owner.issued[issued.access_token] = issued

    def create_oauth2_request(self, request: FormRequest) -> OAuth2Request:
        return FormOAuth2Request(request)

    def create_json_request(self, request: FormRequest) -> JsonRequest:
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        if 300 <= status < 400:
            return Response(status_code=status, headers=dict(headers))
        return JSONResponse(body, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class FormOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: FormRequest) -> None:
        super().__init__(request.method, request.url, headers=request.headers)
        self.payload = BasicOAuth2Payload(request.form)
        self._form = request.form

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


@dataclass
class FormRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    form: dict[str, str]


@dataclass
class LoopbackAuthorizationServer:
    audience: str
    clients: dict[str, Client] = field(default_factory=dict)
    issued: dict[str, IssuedToken] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    port: int = 0
    token_requests: int = 0

    def __post_init__(self) -> None:
        # Listening from the start: requests sent before uvicorn runs wait in the backlog.
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = "test-key-1"
        self.key = RSAKey.import_key(self.private_pem, {"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.extra_public_keys: list[dict[str, Any]] = []
        self.authorization = StarletteAuthorizationServer(self)
        self.authorization.register_grant(grants.ClientCredentialsGrant)
        self.authorization.register_grant(AuthorizationCodeWithPkce, [CodeChallenge(required=True)])
        self.authorization.register_token_generator(
            "default", TokenGenerator(self.issuer, self.audience, self.key)
        )
        self.authorization.register_endpoint(Introspection(self))

    def add_client(self, client_id: str, secret: str, scope: str = " ".join(SCOPES)) -> None:
        self.clients[client_id] = Client(client_id, secret, scope)

    def add_public_client(self, client_id: str, redirect_uri: str) -> None:
        self.clients[client_id] = Client(client_id, None, redirect_uris=(redirect_uri,))

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "introspection_endpoint": f"{self.issuer}/introspect",
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
        }

    async def _form_request(self, request: Request) -> FormRequest:
        form = await request.form()
        return FormRequest(
            request.method, str(request.url), request.headers, {k: str(v) for k, v in form.items()}
        )

    def app(self) -> Starlette:
        async def metadata(request: Request) -> Response:
            return JSONResponse(self.metadata())

        async def jwks(request: Request) -> Response:
            public = self.key.as_dict(private=False)
            return JSONResponse({"keys": [public, *self.extra_public_keys]})

        async def token(request: Request) -> Response:
            self.token_requests += 1
            result: Response = self.authorization.create_token_response(await self._form_request(request))
            return result

        async def authorize(request: Request) -> Response:
            # Automated consent: the test's "browser" names the signed-in user in `user`, and consents.
            user = request.query_params.get("user")
            query = {k: v for k, v in request.query_params.items() if k != "user"}
            form = FormRequest(request.method, str(request.url), request.headers, query)
            oauth_request = self.authorization.create_oauth2_request(form)
            grant = self.authorization.get_authorization_grant(oauth_request)
            result: Response = self.authorization.create_authorization_response(
                oauth_request, grant_user=User(user) if user else None, grant=grant
            )
            return result

        async def introspect(request: Request) -> Response:
            result: Response = self.authorization.create_endpoint_response(
                "introspection", await self._form_request(request)
            )
            return result

        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", metadata),
                Route("/jwks", jwks),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/introspect", introspect, methods=["POST"]),
            ]
        )

    def start(self) -> None:
        self._server = uvicorn.Server(uvicorn.Config(self.app(), log_level="warning"))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._listener]},
            name="test-authorization-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
