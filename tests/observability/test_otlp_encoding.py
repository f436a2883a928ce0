"""The OTLP exporter's own encoder writes exactly what the SDK's protobuf encoder writes."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from membrane_mcp.observability.otlp import OtlpSpanExporter, encode_spans
from tests.observability.conftest import observed_client

REMOTE = SpanContext(
    0x4BF92F3577B34DA6A3CE929D0E0E4736,
    0x00F067AA0BA902B7,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "abc"), ("other", "x-1")]),
)
ATTRIBUTE_VALUES: dict[str, Any] = {
    "text": "tools/call",
    "empty": "",
    "unicode": "Grüße ✓",
    "yes": True,
    "no": False,
    "zero": 0,
    "small": 7,
    "large": 2**40 + 3,
    "negative": -12,
    "lowest": -(2**63),
    "ratio": 0.25,
    "negative_zero": -0.0,
    "strings": ("a", "", "c"),
    "ints": (1, -2, 300),
    "floats": (1.5, -0.0),
    "bools": (True, False),
    "empty_list": (),
}


def recorded_spans(resource: Resource, scope_version: str | None = "1.2.3") -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("membrane_mcp.test", scope_version, schema_url="https://example.org/schema")
    other = provider.get_tracer("membrane_mcp.other")
    parent_context = trace_context(REMOTE)
    with tracer.start_as_current_span(
        "tools/call run_action", context=parent_context, kind=SpanKind.SERVER, attributes=ATTRIBUTE_VALUES
    ) as server:
        server.add_event("started", {"step": 1, "name": "first"})
        server.add_event("", {})
        with other.start_as_current_span(
            "membrane POST /actions/{id}/run",
            kind=SpanKind.CLIENT,
            links=[Link(REMOTE, {"why": "retry of"}), Link(server.get_span_context())],
        ) as client:
            client.set_status(Status(StatusCode.ERROR, "Membrane said 502"))
        with tracer.start_as_current_span("") as internal:
            internal.set_status(StatusCode.OK)
        for kind in (SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL):
            tracer.start_span(f"kind {kind.name}", kind=kind).end()
    return list(exporter.get_finished_spans())


def trace_context(parent: SpanContext) -> Any:
    from opentelemetry import trace

    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


def assert_same_bytes(spans: list[ReadableSpan]) -> None:
    expected = sdk_encode_spans(spans).SerializePartialToString()
    ours = encode_spans(spans)
    assert ExportTraceServiceRequest.FromString(ours) == ExportTraceServiceRequest.FromString(expected)
    assert ours == expected


def test_every_field_and_attribute_type_encodes_as_the_sdk_does() -> None:
    resource = Resource({"service.name": "membrane-mcp", "service.version": "0.1.0"}, "https://x.org/r")
    spans = recorded_spans(resource)
    assert len(spans) == 6
    assert_same_bytes(spans)
    assert_same_bytes(spans)  # the second time from memoised attribute pairs


def test_the_same_attribute_on_a_span_event_link_resource_and_scope_is_encoded_for_each() -> None:
    shared = {"shared.key": "same value", "shared.count": 3}
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource(shared))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope", "1", attributes=shared)
    with tracer.start_as_current_span("span", attributes=shared, links=[Link(REMOTE, shared)]) as span:
        span.add_event("event", shared)
    spans = list(exporter.get_finished_spans())
    assert_same_bytes(spans)
    assert_same_bytes(spans)


def test_spans_group_by_resource_value_then_scope_in_first_seen_order() -> None:
    first = recorded_spans(Resource({"service.name": "a"}))
    equal_resource = recorded_spans(Resource({"service.name": "a"}), scope_version=None)
    second = recorded_spans(Resource({"service.name": "b"}))
    mixed = [second[0], *first[:3], equal_resource[0], second[1], *first[3:], *equal_resource[1:]]
    assert_same_bytes(mixed)
    assert len(ExportTraceServiceRequest.FromString(encode_spans(mixed)).resource_spans) == 2


def test_an_attribute_that_cannot_be_encoded_is_left_out_like_the_sdk_does() -> None:
    spans = recorded_spans(Resource({"service.name": "a"}))
    too_large = spans[0]
    too_large._attributes = {
        "fine": "yes",
        "huge": 2**64,
    }  # the SDK cleans values; an embedder's span may not
    assert_same_bytes([too_large])
    (encoded,) = ExportTraceServiceRequest.FromString(encode_spans([too_large])).resource_spans
    assert [kv.key for kv in encoded.scope_spans[0].spans[0].attributes] == ["fine"]


@pytest.mark.anyio
async def test_the_spans_of_real_tool_calls_encode_as_the_sdk_does(sandbox, spans, mode) -> None:
    async with observed_client(sandbox, mode) as client:
        await client.list_tools()
        await client.call_tool("search_actions", {"query": "find contacts", "limit": 3})
        await client.call_tool(
            "run_action",
            {"connection": "vtiger", "action": "query-records", "input": {"query": "SELECT * FROM Leads;"}},
        )
        await client.call_tool("raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"})
    finished = list(spans.get_finished_spans())
    assert {"tools/call run_action", "membrane POST /actions/{id}/run", "membrane_mcp search"} <= {
        span.name for span in finished
    }
    assert_same_bytes(finished)


class CapturingAdapter(requests.adapters.BaseAdapter):
    """A requests transport that keeps each body and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        super().__init__()
        self.status = status
        self.bodies: list[bytes] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body
        self.bodies.append(body if isinstance(body, bytes) else str(body).encode())
        response = requests.Response()
        response.status_code = self.status
        response._content = b""
        response.request = request
        return response

    def close(self) -> None:
        pass


def exporter_with(adapter: CapturingAdapter) -> OtlpSpanExporter:
    session = requests.Session()
    session.mount("http://", adapter)
    return OtlpSpanExporter(endpoint="http://collector.test:4318/v1/traces", session=session)


def test_the_exporter_posts_the_encoded_request_through_the_sdk_client(monkeypatch) -> None:
    import opentelemetry.exporter.otlp.proto.http.trace_exporter as sdk_exporter

    def sdk_encoder_not_used(spans: Any) -> Any:
        raise AssertionError("the SDK's encoder ran: OtlpSpanExporter fell back (SDK internals changed?)")

    monkeypatch.setattr(sdk_exporter, "encode_spans", sdk_encoder_not_used)
    spans = recorded_spans(Resource({"service.name": "membrane-mcp"}))
    adapter = CapturingAdapter()
    assert exporter_with(adapter).export(spans) == SpanExportResult.SUCCESS
    assert adapter.bodies == [encode_spans(spans)]


def test_a_refused_export_is_reported_as_failed() -> None:
    adapter = CapturingAdapter(status=400)
    assert exporter_with(adapter).export(recorded_spans(Resource({}))) == SpanExportResult.FAILURE
    assert len(adapter.bodies) == 1  # 400 is not retried
