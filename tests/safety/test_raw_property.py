"""Property: whatever path, path_params and headers raw_request gets, every request that reaches the
sandbox's proxy stays on the connection's own base URL, under any number of decodings.

The sandbox is wrapped in a recorder that sees each proxy request as it arrives (before the sandbox's
own base-URL check), so a request the sandbox would refuse still counts as having escaped.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import anyio.from_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import membrane_sandbox.api as sandbox_api
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import start_in_thread
from tests.server.conftest import connect, settings_for

VTIGER_BASE = "https://sandbox.od2.vtiger.com/restapi/v1/vtiger/default"
PROXY_MARK = "/proxy"

PIECES = [
    "me", "query", "records", "12x1", "", ".", "..", "..;", ".;x", "%2e", "%2E%2e", "%252e%252e", "%25252e",
    "/", "//", "\\", "%5c", "%255C", "%2f", "%2F%2F", "%252f", "https:", "http:", "https%3A", "https%253A",
    "javascript:", "evil.example", "sandbox.od2.vtiger.com", "@", "%40", "?", "%3f", "#", "%23", ";", ":",
    "%00", "%0d%0a", "\r\n", "\t", " ", "%20", "\uff0e", "\uff0e\uff0e", "\u2025", "\u3002", "%EF%BC%8E",
    "%E2%80%A5", "\uff3c", "%", "%%", "%2", "{p}", "{p}{q}", "caf\u00e9", "\u202e", "\u2028",
]  # fmt: skip

piece = st.one_of(st.sampled_from(PIECES), st.text(max_size=4))
paths = st.builds(
    lambda lead, parts: lead + "/".join(parts), st.sampled_from(["", "/", "//"]), st.lists(piece, max_size=6)
)
param_values = st.builds("".join, st.lists(piece, min_size=1, max_size=3))
header_names = st.one_of(
    st.sampled_from(["X-Trace", "Accept", "X Bad", "X-\u00e9", "Host", "", "X:y"]), st.text(max_size=6)
)
header_values = st.one_of(
    st.sampled_from(["ok", "caf\u00e9", "a\r\nX-Injected: 1", " v ", "\x00"]), st.text(max_size=8)
)


class ProxyRecorder:
    """ASGI wrapper that notes every request to a connection's proxy, then lets the sandbox answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state
        self.seen: list[tuple[str, dict[str, str]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and PROXY_MARK in scope["path"]
            and scope["path"].startswith("/connections/")
        ):
            app_path = scope["path"].split(PROXY_MARK, 1)[1]
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.seen.append((app_path, headers))
        await self.app(scope, receive, send)


def decodings(text: str) -> Iterator[str]:
    for _ in range(20):
        yield text
        yield unicodedata.normalize("NFKC", text)
        decoded = unquote(text)
        if decoded == text:
            return
        text = decoded
    raise AssertionError(f"still decoding after 20 rounds: {text!r}")


def stays_on_base(app_path: str) -> bool:
    """The app path, read the way a proxy might (decoded any number of times, backslash as slash, joined to
    the base URL as a relative reference), never names another origin nor climbs above the base path."""
    base = urlsplit(VTIGER_BASE)
    for variant in decodings(app_path):
        relative = variant.replace("\\", "/").lstrip("/")
        if any(unicodedata.category(c) == "Cc" for c in relative):
            return False
        target = urlsplit(urljoin(VTIGER_BASE + "/", relative))
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            return False
        if not (target.path + "/").startswith(base.path + "/"):
            return False
    return True


@pytest.fixture(scope="module")
def recorded_client(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[tuple[Any, ProxyRecorder, Any]]:
    recorders: list[ProxyRecorder] = []
    real_create_app = sandbox_api.create_app

    def create_recorded_app(*args: Any, **kwargs: Any) -> Any:
        recorders.append(ProxyRecorder(real_create_app(*args, **kwargs)))
        return recorders[-1]

    monkeypatch_module.setattr(sandbox_api, "create_app", create_recorded_app)
    with start_in_thread(SandboxConfig(build_seconds=0.3)) as running:
        with (
            anyio.from_thread.start_blocking_portal() as portal,
            portal.wrap_async_context_manager(connect(settings_for(running, apps=["vtiger"]))) as client,
        ):
            yield client, recorders[0], portal


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=paths,
    params=st.dictionaries(st.sampled_from(["p", "q"]), param_values, max_size=2),
    headers=st.dictionaries(header_names, header_values, max_size=3),
)
def test_every_proxied_request_stays_on_the_base_url(recorded_client, path, params, headers):
    client, recorder, portal = recorded_client
    arguments = {
        "connection": "vtiger",
        "method": "GET",
        "path": path or "/",
        "path_params": params,
        "headers": headers,
    }
    before = len(recorder.seen)
    result = portal.call(client.call_tool, "raw_request", arguments)
    arrived = recorder.seen[before:]
    assert len(arrived) <= 1
    if result.is_error:
        # Refused by us (nothing sent) or answered by Membrane with an error: either way nothing escaped.
        assert all(stays_on_base(app_path) for app_path, _ in arrived), (arguments, arrived)
        if not arrived:
            return
    else:
        assert len(arrived) == 1, (arguments, result)
    app_path, sent_headers = arrived[0]
    assert stays_on_base(app_path), (arguments, app_path)
    for name, value in sent_headers.items():
        assert value.isascii() and value.isprintable(), (name, value)
    assert sent_headers["authorization"].startswith("Bearer ")  # ours, never the agent's
