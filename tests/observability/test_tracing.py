"""Traces: one MCP span per request with Membrane child spans; trace context continued and propagated."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from tests.observability.conftest import RecordingTransport, observed_client, span_named, structured

pytestmark = pytest.mark.anyio

CLIENT_TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CLIENT_SPAN_ID = 0x00F067AA0BA902B7
QUERY = {
    "connection": "vtiger",
    "action": "query-records",
    "input": {"query": "SELECT * FROM Leads LIMIT 2;"},
}


def remote_parent() -> NonRecordingSpan:
    """The caller's span, as a client that sends `traceparent: 00-4bf9...-00f0...-01` has it."""
    return NonRecordingSpan(
        SpanContext(
            CLIENT_TRACE_ID, CLIENT_SPAN_ID, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
        )
    )


async def test_an_action_run_is_an_mcp_span_with_a_membrane_child_carrying_the_run_id(sandbox, spans, mode):
    transport = RecordingTransport()
    async with observed_client(sandbox, mode, transport=transport) as client:
        await client.list_tools()  # the catalog loads outside the call we look at
        spans.clear()
        transport.requests.clear()
        with trace.use_span(remote_parent()):
            result = await client.call_tool("run_action", QUERY)
    assert not result.is_error, result.content
    run_id = structured(result)["actionRunId"]
    assert run_id

    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER and s.name.startswith("tools/call")]
    assert server.attributes["mcp.method.name"] == "tools/call"
    assert server.attributes["gen_ai.tool.name"] == "run_action"
    assert server.attributes["membrane_mcp.tool.kind"] == "read"
    assert server.attributes["membrane.action_run_id"] == run_id
    assert len(server.attributes["membrane_mcp.call.id"]) == 16
    # The client's traceparent is continued: same trace, under the client's own send span.
    assert server.context.trace_id == CLIENT_TRACE_ID

    (membrane,) = span_named(finished, "membrane POST /actions/{id}/run")
    assert membrane.kind == SpanKind.CLIENT
    assert membrane.parent is not None and membrane.parent.span_id == server.context.span_id
    assert membrane.context.trace_id == CLIENT_TRACE_ID
    assert membrane.attributes["membrane.action_run_id"] == run_id
    assert membrane.attributes["http.request.method"] == "POST"
    assert membrane.attributes["url.template"] == "/actions/{id}/run"
    assert membrane.attributes["http.response.status_code"] == 200
    assert membrane.attributes["membrane.retry_count"] == 0

    # ... and propagated to Membrane, naming the Membrane span as the parent.
    (sent,) = [r for r in transport.requests if r.url.path.endswith("/run")]
    expected = f"00-{CLIENT_TRACE_ID:032x}-{membrane.context.span_id:016x}-01"
    assert sent.headers["traceparent"] == expected


async def test_catalog_load_and_search_have_spans_under_the_call(fresh_sandbox, spans):
    async with observed_client(fresh_sandbox, catalog_ttl=0) as client:
        spans.clear()
        result = await client.call_tool("search_actions", {"query": "find vtiger contacts by email"})
    assert not result.is_error
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.name == "tools/call search_actions"]
    loads = span_named(finished, "membrane_mcp catalog.load")
    assert loads and loads[0].attributes["membrane_mcp.catalog.tools"] > 0
    assert loads[0].context.trace_id == server.context.trace_id
    listed = span_named(finished, "membrane GET /connections")
    assert listed and all(s.parent is not None for s in listed)
    (search,) = span_named(finished, "membrane_mcp search")
    assert search.parent is not None and search.parent.span_id == server.context.span_id
    # Recorded once the search is done, with the time it started: within the call's span.
    assert server.start_time is not None and server.end_time is not None
    assert search.start_time is not None and search.end_time is not None
    assert server.start_time <= search.start_time <= search.end_time <= server.end_time
    assert search.attributes["membrane_mcp.search.hits"] > 0
    assert search.attributes["membrane_mcp.search.query_length"] == len("find vtiger contacts by email")


async def test_spans_hold_no_arguments_or_results(fresh_sandbox, spans):
    marker = "obs-marker-7c1d"
    async with observed_client(fresh_sandbox, tool_mode="direct", apps=["vtiger"]) as client:
        created = await client.call_tool(
            "run_write_action",
            {
                "connection": "vtiger",
                "action": "create-record",
                "input": {"elementType": "Accounts", "element": {"accountname": marker}},
            },
        )
        found = await client.call_tool(
            "vtiger_query_records", {"query": f"SELECT * FROM Accounts WHERE accountname = '{marker}';"}
        )
    assert not created.is_error and not found.is_error
    assert marker in str(found.content)  # the result does hold it
    for span in spans.get_finished_spans():
        seen = " ".join([span.name, *(f"{k}={v}" for k, v in (span.attributes or {}).items())])
        seen += " ".join(str(event.attributes) for event in span.events)
        assert marker not in seen, span.name


def test_the_run_id_is_the_runs_even_when_the_output_holds_one():
    from membrane_mcp.observability.membrane import RUN_ROUTE, _action_run_id

    def run_id(body: bytes) -> str | None:
        return _action_run_id(RUN_ROUTE, httpx.Response(200, content=body), None)

    assert run_id(b'{"output": {"n": 1}, "actionRunId": "run-1"}') == "run-1"
    assert run_id(b'{"actionRunId": "run-2", "output": {"actionRunId": "not-this"}}') == "run-2"
    assert run_id(b'{"output": {"actionRunId": "not-this"}, "actionRunId": "run-3"}') == "run-3"
    assert run_id(b'{"output": []}') is None


def test_the_trace_context_sent_to_membrane_carries_the_tracestate_only_when_there_is_one():
    from opentelemetry.trace import TraceState

    from membrane_mcp.observability.tracing import with_traceparent

    plain = NonRecordingSpan(
        SpanContext(
            CLIENT_TRACE_ID, CLIENT_SPAN_ID, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
        )
    )
    assert with_traceparent({"accept": "application/json"}, plain) == {
        "accept": "application/json",
        "traceparent": f"00-{CLIENT_TRACE_ID:032x}-{CLIENT_SPAN_ID:016x}-01",
    }
    vendor = NonRecordingSpan(
        SpanContext(
            CLIENT_TRACE_ID,
            CLIENT_SPAN_ID,
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.DEFAULT),
            trace_state=TraceState([("vendor", "abc")]),
        )
    )
    assert with_traceparent(None, vendor) == {
        "traceparent": f"00-{CLIENT_TRACE_ID:032x}-{CLIENT_SPAN_ID:016x}-00",
        "tracestate": "vendor=abc",
    }
    assert with_traceparent(None, trace.INVALID_SPAN) is None
