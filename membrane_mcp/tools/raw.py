"""raw_request: a request to the app's own API through Membrane's proxy, with guardrails.

Safe by construction: the path is split into segments, each decoded, path_params are substituted as
whole segments, and the path that is sent is re-encoded from those segments. Before anything is sent,
every decoding of the path (percent-decoded again and again until it stops changing, each also
NFKC-normalised) is checked; refused are: a scheme or an authority (``https:``, ``//host``), backslashes,
control characters, dot segments (``.``, ``..``, ``..;``, dot look-alikes), and empty segments (one
trailing slash is kept). An absolute URL is taken only when ``--raw-allow-host`` names its scheme, host
and port. Also refused: credentials and routing headers (Membrane adds the app's auth itself), header
names that are not RFC 9110 tokens and values that are not visible ASCII, methods outside the policy,
and bodies over 1 MiB.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from membrane_mcp import json_codec
from membrane_mcp.membrane.models import ProxyResponse
from membrane_mcp.tools.errors import ToolError
from membrane_mcp.tools.policy import Policy, origin_of

MAX_BODY_BYTES = 1024 * 1024
MAX_DECODING_ROUNDS = 8

FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "forwarded",
        "x-real-ip",
        "connection",
        "content-length",
        "transfer-encoding",
        "te",
        "upgrade",
        "x-membrane-token",
    }
)
FORBIDDEN_HEADER_PREFIXES = ("proxy-", "x-forwarded-")

USEFUL_RESPONSE_HEADERS = (
    "content-type",
    "location",
    "retry-after",
    "x-request-id",
    "link",
    "etag",
    "last-modified",
)

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.-]+)\}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# RFC 9110 5.1 token characters, and 5.5 field values restricted to visible ASCII, space and tab.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VISIBLE_ASCII = re.compile(r"^[\x20-\x7e\t]*$")
_HOST = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])$")
# Characters NFKC leaves alone that still read (and are sometimes normalised) as a full stop.
_DOT_LOOKALIKES = str.maketrans({"\u3002": ".", "\uff61": ".", "\ufe52": ".", "\u2024": "."})
# Sent unencoded in a segment: RFC 3986 unreserved characters and sub-delims, plus ':' and '@'.
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes | None


def prepare_raw_request(args: dict[str, Any], policy: Policy) -> RawRequest:
    method = str(args["method"]).upper()
    allowed = policy.allowed_raw_methods()
    if method not in allowed:
        mode = " in read-only mode" if policy.read_only else ""
        raise ToolError(f"raw_request refuses {method}{mode}; allowed methods: {', '.join(sorted(allowed))}.")
    path, inline_query = build_path(str(args["path"]), args.get("path_params") or {}, policy)
    headers = check_headers(args.get("headers") or {})
    body = encode_body(args.get("body"), headers)
    if body is not None and method == "GET":
        raise ToolError(f"A {method} request carries no body; put parameters in 'query'.")
    query = inline_query + [(str(k), _query_value(v)) for k, v in (args.get("query") or {}).items()]
    return RawRequest(method=method, path=path, query=query, headers=headers, body=body)


def build_path(
    template: str, params: dict[str, Any], policy: Policy | None = None
) -> tuple[str, list[tuple[str, str]]]:
    """The encoded path to send and the query pairs written inline after '?'; ToolError if unsafe."""
    _refuse_unsafe_characters(template)
    template, _, query = template.partition("?")
    template = template.partition("#")[0]
    origin = ""
    if _ABSOLUTE.match(template) or template.startswith("//"):
        origin, template = _allowed_origin(template, policy)
    segments = _segments(template, params)
    check_segments(segments, absolute=bool(origin))
    path = "/" + "/".join(quote(segment, safe=_SEGMENT_SAFE) for segment in segments)
    return origin + path, parse_qsl(query, keep_blank_values=True)


def _segments(template: str, params: dict[str, Any]) -> list[str]:
    """Decoded segments; a placeholder's value is text of its own segment, never split or decoded."""
    missing = [name for name in _PLACEHOLDER.findall(template) if name not in params]
    if missing:
        raise ToolError(f"path_params lacks a value for: {', '.join(missing)}.")
    empty = sorted(name for name in set(_PLACEHOLDER.findall(template)) if str(params[name]) == "")
    if empty:
        raise ToolError(f"path_params has an empty value for: {', '.join(empty)}; refused.")
    pieces = template[1:].split("/") if template.startswith("/") else template.split("/")
    segments = []
    for piece in pieces:
        parts = _PLACEHOLDER.split(piece)  # literal, name, literal, name, ..., literal
        segment = "".join(
            unquote(part) if index % 2 == 0 else str(params[part]) for index, part in enumerate(parts)
        )
        segments.append(segment)
    return segments


def decodings(text: str) -> Iterator[str]:
    """`text`, then each further percent-decoding of it until it stops changing; each also NFKC-normalised."""
    for _ in range(MAX_DECODING_ROUNDS):
        yield text
        normalized = unicodedata.normalize("NFKC", text).translate(_DOT_LOOKALIKES)
        if normalized != text:
            yield normalized
        decoded = unquote(text)
        if decoded == text:
            return
        text = decoded
    raise ToolError(f"The path is percent-encoded more than {MAX_DECODING_ROUNDS} times over; refused.")


def check_segments(segments: list[str], *, absolute: bool = False) -> None:
    """Refuse a path whose segments, decoded any number of times, could leave the app's API base."""
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        for variant in decodings(segment):
            _refuse_unsafe_characters(variant)
            _refuse_delimiters(variant)
            for position, piece in enumerate(variant.split("/")):
                if piece == "":
                    if last and variant == "":
                        continue  # one trailing slash (or the path "/"): some APIs want it, it names no host
                    raise ToolError(
                        "The path has an empty segment ('//' or a value that is empty or made of '/'); refused. "
                        "Give a path like '/records/42' relative to the app's API."
                    )
                bare = piece.split(";", 1)[0].strip()
                if not bare:
                    raise ToolError(f"The path has a blank segment ({piece[:40]!r}); refused.")
                if set(bare) == {"."}:
                    raise ToolError(
                        "The path may not contain '.' or '..' segments (in any encoding); refused."
                    )
                if index == 0 and position == 0 and not absolute and _SCHEME.match(piece):
                    raise ToolError(
                        "raw_request takes a path relative to the app's API (e.g. '/me'), not an absolute URL "
                        f"or a scheme ({piece.split(':', 1)[0]}:); refused."
                    )


def _refuse_delimiters(text: str) -> None:
    if "?" in text or "#" in text:
        raise ToolError(
            "A path segment contains '?' or '#' (in some encoding), which the app would read as a query or "
            "fragment; refused. Put query parameters in 'query'."
        )


def _refuse_unsafe_characters(text: str) -> None:
    if "\\" in text:
        raise ToolError("The path contains backslashes (in some encoding); refused.")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in text):
        raise ToolError("The path contains control characters (in some encoding); refused.")


def _allowed_origin(url: str, policy: Policy | None) -> tuple[str, str]:
    """(scheme://host[:port], path) of an absolute URL whose origin is allowed; ToolError otherwise."""
    relative_only = (
        "raw_request takes a path relative to the app's API (e.g. '/me'), not an absolute URL; refused."
    )
    allowed = sorted(policy.raw_allow_origins) if policy else []
    if not allowed:
        raise ToolError(relative_only)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ToolError(f"The URL does not parse ({exc}); refused.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise ToolError(f"{relative_only} Absolute URLs must be http(s)://<host>/... with an allowed host.")
    if "@" in parts.netloc:
        raise ToolError(
            "The URL carries credentials (user@host); refused. Membrane adds the app's auth itself."
        )
    host = (parts.hostname or "").rstrip(".")
    if not _HOST.match(parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc) or not host:
        raise ToolError(f"The URL's host {parts.netloc!r} is not a plain host name; refused.")
    origin = origin_of(scheme, host, port)
    if policy is None or origin not in policy.raw_allow_origins:
        raise ToolError(
            f"{origin} is not an origin raw_request may reach; allowed: {', '.join(allowed)} "
            "(scheme, host and port must all match). Use a path relative to the app's API instead."
        )
    return origin, parts.path or "/"


def check_headers(headers: dict[str, Any]) -> dict[str, str]:
    bad_names = sorted(repr(name) for name in headers if not _TOKEN.match(name))
    if bad_names:
        raise ToolError(
            f"Header name(s) {', '.join(bad_names)} are not valid HTTP field names (RFC 9110 tokens: "
            "letters, digits and !#$%&'*+-.^_`|~); nothing was sent."
        )
    refused = sorted(
        name
        for name in headers
        if name.lower() in FORBIDDEN_HEADERS or name.lower().startswith(FORBIDDEN_HEADER_PREFIXES)
    )
    if refused:
        raise ToolError(
            f"raw_request refuses these headers: {', '.join(refused)}. Membrane adds the app's credentials itself."
        )
    clean: dict[str, str] = {}
    for name, value in headers.items():
        text = str(value)
        if not _VISIBLE_ASCII.match(text):
            raise ToolError(
                f"Header {name!r} has a value that is not visible ASCII (control characters, line breaks "
                "or non-ASCII text); nothing was sent. Percent-encode or drop such characters."
            )
        clean[name] = text.strip(" \t")
    return clean


def encode_body(body: Any, headers: dict[str, str]) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    if len(data) > MAX_BODY_BYTES:
        raise ToolError(f"The body is {len(data)} bytes; raw_request sends at most {MAX_BODY_BYTES} (1 MiB).")
    return data


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def summarize_response(response: ProxyResponse) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in response.headers.items()}
    useful = {name: headers[name] for name in USEFUL_RESPONSE_HEADERS if name in headers}
    useful.update({k: v for k, v in headers.items() if k.startswith("x-ratelimit")})
    content_type = headers.get("content-type", "")
    body: Any
    if not response.body:
        body = None
    elif "json" in content_type:
        try:
            body = json_codec.loads(response.body)  # as json.loads decodes it, faster
        except ValueError:
            body = response.body.decode("utf-8", errors="replace")
    else:
        body = response.body.decode("utf-8", errors="replace")
    summary = {"status": response.status, "ok": 200 <= response.status < 300, "headers": useful, "body": body}
    if response.cut:
        summary = {"_truncated": {"note": response.cut}, **summary}
    return summary
