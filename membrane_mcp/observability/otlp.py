"""OTLP/HTTP span export with the protobuf request written directly (figure 12: the cost of traces).

The SDK's exporter builds one protobuf object per span, attribute and value before serialising,
which costs more CPU per span than creating the span does (~60 us against ~40 us here).
`encode_spans` writes the same bytes (`ExportTraceServiceRequest`, fields in number order as
protobuf serialises them; tests/observability/test_otlp_encoding.py compares it with the SDK's
encoder byte for byte) straight from the finished spans, memoising the attribute pairs that
repeat (method names, routes, kinds, outcomes). `OtlpSpanExporter` is the SDK's exporter
(endpoint, headers, TLS, compression, retries from ``OTEL_EXPORTER_OTLP_*``) with only the
encoding swapped; whatever it cannot encode goes through the SDK's own path unchanged.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import DEFAULT_TRACE_STATE, SpanContext, SpanKind

logger = logging.getLogger(__name__)

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# Span.flags: the W3C "is remote" bit is known (always), and set when the parent is remote.
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200
_KIND = {kind: kind.value + 1 for kind in SpanKind}  # SpanKind.INTERNAL (0) is SPAN_KIND_INTERNAL (1)
_SMALL_VARINTS = [bytes([n]) for n in range(128)]
_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack
_pack_double = struct.Struct("<d").pack
_PAIR_CACHE_LIMIT = 4096


def _varint(value: int) -> bytes:
    if value < 128:
        return _SMALL_VARINTS[value]
    if value < 16384:  # a span's length, mostly
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    out = bytearray()
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _length_delimited(field_key: bytes, payload: bytes) -> bytes:
    return field_key + _varint(len(payload)) + payload


# Field keys by message (wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
_REQUEST_RESOURCE_SPANS = _key(1, 2)
_RS_RESOURCE, _RS_SCOPE_SPANS, _RS_SCHEMA_URL = _key(1, 2), _key(2, 2), _key(3, 2)
_RESOURCE_ATTRIBUTES = _key(1, 2)
_SS_SCOPE, _SS_SPANS, _SS_SCHEMA_URL = _key(1, 2), _key(2, 2), _key(3, 2)
_SCOPE_NAME, _SCOPE_VERSION, _SCOPE_ATTRIBUTES = _key(1, 2), _key(2, 2), _key(3, 2)
_SPAN_TRACE_ID, _SPAN_SPAN_ID, _SPAN_TRACE_STATE, _SPAN_PARENT = (
    _key(1, 2),
    _key(2, 2),
    _key(3, 2),
    _key(4, 2),
)
_SPAN_NAME, _SPAN_KIND, _SPAN_START, _SPAN_END = _key(5, 2), _key(6, 0), _key(7, 1), _key(8, 1)
_SPAN_ATTRIBUTES, _SPAN_DROPPED_ATTRIBUTES = _key(9, 2), _key(10, 0)
_SPAN_EVENTS, _SPAN_DROPPED_EVENTS = _key(11, 2), _key(12, 0)
_SPAN_LINKS, _SPAN_DROPPED_LINKS = _key(13, 2), _key(14, 0)
_SPAN_STATUS, _SPAN_FLAGS = _key(15, 2), _key(16, 5)
_EVENT_TIME, _EVENT_NAME, _EVENT_ATTRIBUTES, _EVENT_DROPPED = _key(1, 1), _key(2, 2), _key(3, 2), _key(4, 0)
_LINK_TRACE_ID, _LINK_SPAN_ID, _LINK_ATTRIBUTES = _key(1, 2), _key(2, 2), _key(4, 2)
_LINK_DROPPED, _LINK_FLAGS = _key(5, 0), _key(6, 5)
_STATUS_MESSAGE, _STATUS_CODE = _key(2, 2), _key(3, 0)
_KV_KEY, _KV_VALUE = _key(1, 2), _key(2, 2)
_ANY_STRING, _ANY_BOOL, _ANY_INT, _ANY_DOUBLE = _key(1, 2), _key(2, 0), _key(3, 0), _key(4, 1)
_ANY_ARRAY, _ANY_KVLIST, _ANY_BYTES = _key(5, 2), _key(6, 2), _key(7, 2)
_LIST_VALUES = _key(1, 2)  # ArrayValue.values and KeyValueList.values


def _any_value(value: Any) -> bytes:
    """An `AnyValue` message (the oneof field is written even when it holds its default)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return _ANY_BOOL + (b"\x01" if value else b"\x00")
    if isinstance(value, str):
        return _length_delimited(_ANY_STRING, value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{value} does not fit in int64")
        return _ANY_INT + _varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, float):
        return _ANY_DOUBLE + _pack_double(value)
    if isinstance(value, bytes):
        return _length_delimited(_ANY_BYTES, value)
    if isinstance(value, Sequence):
        items = b"".join(_length_delimited(_LIST_VALUES, _any_value(item)) for item in value)
        return _length_delimited(_ANY_ARRAY, items)
    if isinstance(value, Mapping):
        pairs = b"".join(_length_delimited(_LIST_VALUES, _key_value(str(k), v)) for k, v in value.items())
        return _length_delimited(_ANY_KVLIST, pairs)
    raise TypeError(f"Invalid type {type(value)} of value {value}")


def _key_value(key: str, value: Any) -> bytes:
    return _length_delimited(_KV_KEY, key.encode()) + _length_delimited(_KV_VALUE, _any_value(value))


# Memoised `KeyValue` fields by their field key (span, event, link, resource and scope attributes differ),
# then by (key, value): only exact str and int values (True == 1 and -0.0 == 0.0 would share an entry,
# and str never equals int), and not the values unique to one call.
_pairs: dict[bytes, dict[tuple[str, Any], bytes]] = {}
_UNIQUE_KEYS = frozenset({"membrane_mcp.call.id", "membrane.action_run_id"})


_key_heads: dict[str, bytes] = {}  # the `KeyValue.key` field by attribute key


def _string_pair(field_key: bytes, key: str, value: str) -> bytes:
    """`_length_delimited(field_key, _key_value(key, value))` for a str value, in one call (the values
    unique to a call, call and run ids, are never memoised and come here every time)."""
    head = _key_heads.get(key)
    if head is None:
        encoded_key = key.encode()
        head = _KV_KEY + _varint(len(encoded_key)) + encoded_key
        if len(_key_heads) < _PAIR_CACHE_LIMIT:
            _key_heads[key] = head
    data = value.encode()
    size = len(data)
    any_value = _ANY_STRING + (_SMALL_VARINTS[size] if size < 128 else _varint(size)) + data
    size = len(any_value)
    pair = head + _KV_VALUE + (_SMALL_VARINTS[size] if size < 128 else _varint(size)) + any_value
    size = len(pair)
    return field_key + (_SMALL_VARINTS[size] if size < 128 else _varint(size)) + pair


def _items(attributes: Mapping[str, Any]) -> Any:
    """The attribute pairs; a span's attributes (a read-only view of the SDK's bounded mapping) are
    copied in one step by its `copy` instead of a Python-level iteration over the view."""
    copy = getattr(attributes, "copy", None)
    if copy is not None:
        copied = copy()
        if isinstance(copied, dict):
            return copied.items()
    return attributes.items()


def _attributes(field_key: bytes, attributes: Mapping[str, Any] | None) -> bytes:
    """The repeated `KeyValue` field; an attribute that cannot be encoded is left out (as the SDK does)."""
    if not attributes:
        return b""
    memo = _pairs.get(field_key)
    if memo is None:
        memo = _pairs[field_key] = {}
    parts = []
    for key, value in _items(attributes):
        kind = value.__class__
        pair: tuple[str, Any] | None = None
        if (kind is str or kind is int) and key not in _UNIQUE_KEYS:
            pair = (key, value)
            encoded = memo.get(pair)
            if encoded is not None:
                parts.append(encoded)
                continue
        try:
            if kind is str:
                encoded = _string_pair(field_key, key, value)
            else:
                encoded = _length_delimited(field_key, _key_value(key, value))
        except Exception as exc:
            logger.exception("Failed to encode key %s: %s", key, exc)
            continue
        if pair is not None:
            if len(memo) >= _PAIR_CACHE_LIMIT:
                memo.clear()  # the pairs still in use come back within a batch
            memo[pair] = encoded
        parts.append(encoded)
    return b"".join(parts)


def _flags(parent: SpanContext | None) -> bytes:
    return _pack_fixed32(
        _HAS_IS_REMOTE | _IS_REMOTE if parent is not None and parent.is_remote else _HAS_IS_REMOTE
    )


_TRACE_ID_HEAD = _SPAN_TRACE_ID + b"\x10"
_SPAN_ID_HEAD = _SPAN_SPAN_ID + b"\x08"
_PARENT_HEAD = _SPAN_PARENT + b"\x08"
_pack_times = struct.Struct("<cQcQ").pack
_FLAGS_LOCAL = _SPAN_FLAGS + _flags(None)
_FLAGS_REMOTE_PARENT = _SPAN_FLAGS + _pack_fixed32(_HAS_IS_REMOTE | _IS_REMOTE)
_NAME_CACHE_LIMIT = 1024
_names: dict[str, tuple[SpanKind, bytes]] = {}
_statuses: dict[int, tuple[Any, bytes]] = {}
# Everything a span's encoding reads, through its public properties, in one call.
_span_fields = attrgetter(
    "resource",
    "instrumentation_scope",
    "context",
    "parent",
    "name",
    "kind",
    "start_time",
    "end_time",
    "attributes",
    "dropped_attributes",
    "events",
    "dropped_events",
    "links",
    "dropped_links",
    "status",
)


def _name_and_kind(name: str, kind: SpanKind) -> bytes:
    """The name and kind fields (span names are a small set: methods, tools and route templates)."""
    found = _names.get(name)
    if found is not None and found[0] is kind:
        return found[1]
    encoded = (_length_delimited(_SPAN_NAME, name.encode()) if name else b"") + (
        _SPAN_KIND + _SMALL_VARINTS[_KIND[kind]]
    )
    if len(_names) < _NAME_CACHE_LIMIT:
        _names[name] = (kind, encoded)
    return encoded


def _status(status: Any) -> bytes:
    """The status field, memoised by the status object (spans that never set one share the SDK's
    default); the object is kept with its bytes, so its id cannot be reused while it is memoised."""
    found = _statuses.get(id(status))
    if found is not None and found[0] is status:
        return found[1]
    parts = b""
    if status.description:
        parts += _length_delimited(_STATUS_MESSAGE, status.description.encode())
    if status.status_code.value:
        parts += _STATUS_CODE + _varint(status.status_code.value)
    encoded = _length_delimited(_SPAN_STATUS, parts)
    if len(_statuses) >= _NAME_CACHE_LIMIT:
        _statuses.clear()
    _statuses[id(status)] = (status, encoded)
    return encoded


def _event(event: Any) -> bytes:
    parts = [_EVENT_TIME, _pack_fixed64(event.timestamp)] if event.timestamp else []
    if event.name:
        parts.append(_length_delimited(_EVENT_NAME, event.name.encode()))
    parts.append(_attributes(_EVENT_ATTRIBUTES, event.attributes))
    if event.dropped_attributes:
        parts += (_EVENT_DROPPED, _varint(event.dropped_attributes))
    return _length_delimited(_SPAN_EVENTS, b"".join(parts))


def _link(link: Any) -> bytes:
    parts = [
        _LINK_TRACE_ID,
        b"\x10",
        link.context.trace_id.to_bytes(16, "big"),
        _LINK_SPAN_ID,
        b"\x08",
        link.context.span_id.to_bytes(8, "big"),
        _attributes(_LINK_ATTRIBUTES, link.attributes),
    ]
    if link.dropped_attributes:
        parts += (_LINK_DROPPED, _varint(link.dropped_attributes))
    parts += (_LINK_FLAGS, _flags(link.context))
    return _length_delimited(_SPAN_LINKS, b"".join(parts))


def _span_body(fields: tuple[Any, ...]) -> bytes:
    """A `Span` message's content from `_span_fields` of a span (its resource and scope skipped)."""
    (
        _,
        _,
        context,
        parent,
        name,
        kind,
        start,
        end,
        attributes,
        dropped_attributes,
        events,
        dropped_events,
        links,
        dropped_links,
        status,
    ) = fields
    parts = [
        _TRACE_ID_HEAD,
        context.trace_id.to_bytes(16, "big"),
        _SPAN_ID_HEAD,
        context.span_id.to_bytes(8, "big"),
    ]
    trace_state = context.trace_state
    if trace_state is not DEFAULT_TRACE_STATE and trace_state:
        parts.append(_length_delimited(_SPAN_TRACE_STATE, trace_state.to_header().encode()))
    if parent is not None:
        parts += (_PARENT_HEAD, parent.span_id.to_bytes(8, "big"))
    parts.append(_name_and_kind(name, kind))
    if start and end:
        parts.append(_pack_times(_SPAN_START, start, _SPAN_END, end))
    else:
        if start:
            parts += (_SPAN_START, _pack_fixed64(start))
        if end:
            parts += (_SPAN_END, _pack_fixed64(end))
    parts.append(_attributes(_SPAN_ATTRIBUTES, attributes))
    if dropped_attributes:
        parts += (_SPAN_DROPPED_ATTRIBUTES, _varint(dropped_attributes))
    if events:
        parts += [_event(event) for event in events]
    if dropped_events:
        parts += (_SPAN_DROPPED_EVENTS, _varint(dropped_events))
    if links:
        parts += [_link(link) for link in links]
    if dropped_links:
        parts += (_SPAN_DROPPED_LINKS, _varint(dropped_links))
    parts += (
        _status(status),
        _FLAGS_REMOTE_PARENT if parent is not None and parent.is_remote else _FLAGS_LOCAL,
    )
    return b"".join(parts)


def _span(span: ReadableSpan) -> bytes:
    return _length_delimited(_SS_SPANS, _span_body(_span_fields(span)))


def _resource(resource: Any) -> bytes:
    return _length_delimited(_RS_RESOURCE, _attributes(_RESOURCE_ATTRIBUTES, resource.attributes))


def _scope(scope: Any) -> bytes:
    if scope is None:
        return _length_delimited(_SS_SCOPE, b"")
    parts = []
    if scope.name:
        parts.append(_length_delimited(_SCOPE_NAME, scope.name.encode()))
    if scope.version:
        parts.append(_length_delimited(_SCOPE_VERSION, scope.version.encode()))
    parts.append(_attributes(_SCOPE_ATTRIBUTES, scope.attributes))
    return _length_delimited(_SS_SCOPE, b"".join(parts))


def _schema_url(field_key: bytes, url: str | None) -> bytes:
    return _length_delimited(field_key, url.encode()) if url else b""


def _group_key(groups: list[Any], seen: dict[int, Any], item: Any) -> Any:
    """The first item equal to `item` (resources and scopes group by value, as in the SDK's encoder;
    by identity first, since hashing a resource serialises its attributes)."""
    found = seen.get(id(item))
    if found is None:
        found = next((group for group in groups if group == item), item)
        if found is item:
            groups.append(item)
        seen[id(item)] = found
    return found


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """A serialised `ExportTraceServiceRequest`: spans grouped by resource, then instrumentation scope."""
    tree: dict[int, tuple[Any, dict[int, tuple[Any, list[bytes]]]]] = {}
    resources: list[Any] = []
    scopes: list[Any] = []
    seen_resources: dict[int, Any] = {}
    seen_scopes: dict[int, Any] = {}
    lists: dict[tuple[int, int], list[bytes]] = {}  # by the identities of a span's resource and scope
    for span in spans:
        fields = _span_fields(span)
        key = (id(fields[0]), id(fields[1]))
        encoded = lists.get(key)
        if encoded is None:
            resource = _group_key(resources, seen_resources, fields[0])
            scope = fields[1] or None
            if scope is not None:
                scope = _group_key(scopes, seen_scopes, scope)
            by_scope = tree.setdefault(id(resource), (resource, {}))[1]
            encoded = lists[key] = by_scope.setdefault(id(scope), (scope, []))[1]
        body = _span_body(fields)
        encoded += (_SS_SPANS, _varint(len(body)), body)
    request = []
    for resource, by_scope in tree.values():
        scope_spans = [
            _length_delimited(
                _RS_SCOPE_SPANS,
                _scope(scope)
                + b"".join(encoded)
                + _schema_url(_SS_SCHEMA_URL, scope.schema_url if scope is not None else None),
            )
            for scope, encoded in by_scope.values()
        ]
        body = _resource(resource) + b"".join(scope_spans) + _schema_url(_RS_SCHEMA_URL, resource.schema_url)
        request.append(_length_delimited(_REQUEST_RESOURCE_SPANS, body))
    return b"".join(request)


class OtlpSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/HTTP span exporter with `encode_spans` in place of its protobuf objects.

    It sends through the SDK exporter's own HTTP client (the `_client` its `export` uses: retries,
    backoff, headers, compression, TLS). That attribute is not public API, so without it (another
    SDK version) and for anything this encoder rejects, the SDK's `export` runs instead.
    """

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        client = getattr(self, "_client", None)
        operation = getattr(getattr(self, "_metrics", None), "export_operation", None)
        if client is None or operation is None or getattr(self, "_shutdown", True):
            return super().export(spans)
        try:
            data = encode_spans(spans)
        except Exception:  # the SDK's encoder logs and reports it
            return super().export(spans)
        limit = getattr(self, "_max_request_size", 0)
        if limit > 0 and len(data) > limit:  # the SDK drops the batch and says why
            return super().export(spans)
        with operation(len(spans)) as outcome:
            sent = client.export(data)
            if not sent.success:
                outcome.error = sent.error
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
