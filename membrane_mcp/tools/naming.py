"""Deterministic, host-safe tool names for Membrane actions.

Hosts accept ``^[A-Za-z0-9_-]{1,64}$`` and count their own prefix (``mcp__<server>__``) against the 64,
so names here are capped at 48 characters. Names depend only on the *set* of requests (never on their
order or on process state), so they are stable across restarts and prompt caches stay warm.

Rules, in order:

1. Base name ``<app>_<action>`` from slugged keys (``vtiger_query_records``).
2. If the request set holds more than one connection of the same app, every name of that app gets a
   4-hex discriminator from a hash of the connection id (``vtiger_3f2a_query_records``).
3. A name over 48 characters is cut and suffixed with a 6-hex hash of the full identity
   (app, connection, action key).
4. Names that collide (``list-contacts`` vs ``list_contacts`` both slug to ``list_contacts``) all get
   the identity-hash suffix; if suffixed names still collide the hash is lengthened. No request keeps
   the plain name at the expense of another, so the outcome cannot depend on input order.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

MAX_TOOL_NAME_LENGTH = 48
TOOL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")

_CONNECTION_HASH_LENGTH = 4
_IDENTITY_HASH_LENGTH = 6
# Leave at least a few readable characters in front of the longest hash we may use.
_MAX_IDENTITY_HASH_LENGTH = 32

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=8192)
def slug(text: str) -> str:
    """Lowercase ``text`` and collapse every run of characters outside ``[a-z0-9]`` into ``_``."""
    return _NON_ALNUM.sub("_", text.lower()).strip("_")


class NameRequest(NamedTuple):
    # A tuple: hashed and compared in C (a catalog load hashes each of its 5,000 requests a few times).
    app_key: str
    connection_id: str
    # The action key, or the action id for actions without a key.
    action_key: str


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _identity_hash(request: NameRequest) -> str:
    return _sha(json.dumps([request.app_key, request.connection_id, request.action_key]))


def connection_discriminator(connection_id: str) -> str:
    """Short stable hash of a connection id, used when an app has several connections."""
    return _sha(connection_id)[:_CONNECTION_HASH_LENGTH]


def _with_suffix(readable: str, suffix: str) -> str:
    room = MAX_TOOL_NAME_LENGTH - len(suffix) - 1
    head = readable[:room].rstrip("_-")
    return f"{head}_{suffix}" if head else suffix


def _base_name(request: NameRequest, discriminate: bool) -> str:
    parts = [slug(request.app_key) or "app"]
    if discriminate:
        parts.append(connection_discriminator(request.connection_id))
    parts.append(slug(request.action_key) or "action")
    return "_".join(parts)


def assign_tool_names(requests: Iterable[NameRequest]) -> dict[NameRequest, str]:
    """Map each distinct request to a unique tool name (see the module docstring for the rules)."""
    unique = set(requests)
    connections: dict[str, set[str]] = defaultdict(set)
    for request in unique:
        connections[slug(request.app_key) or "app"].add(request.connection_id)

    readable: dict[NameRequest, str] = {}
    names: dict[NameRequest, str] = {}
    for request in unique:
        base = _base_name(request, len(connections[slug(request.app_key) or "app"]) > 1)
        readable[request] = base
        if len(base) > MAX_TOOL_NAME_LENGTH:
            base = _with_suffix(base, _identity_hash(request)[:_IDENTITY_HASH_LENGTH])
        names[request] = base

    hash_length = _IDENTITY_HASH_LENGTH
    while True:
        by_name: dict[str, list[NameRequest]] = defaultdict(list)
        for request, name in names.items():
            by_name[name].append(request)
        clashing = [group for group in by_name.values() if len(group) > 1]
        if not clashing:
            return names
        for group in clashing:
            for request in group:
                digest = _identity_hash(request)
                if hash_length > _MAX_IDENTITY_HASH_LENGTH:
                    # Only reachable on a SHA-256 prefix collision of 128 bits; keep names distinct anyway.
                    names[request] = "h_" + digest[: MAX_TOOL_NAME_LENGTH - 2]
                else:
                    names[request] = _with_suffix(readable[request], digest[:hash_length])
        if hash_length > _MAX_IDENTITY_HASH_LENGTH:
            return names
        hash_length += 2
