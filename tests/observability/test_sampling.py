"""The default sampler decides exactly as the SDK's `ParentBased(ALWAYS_ON)` does."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, SamplingResult
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

from membrane_mcp.observability.sampling import ParentBasedAlwaysOn, default_sampler

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
STATE = TraceState([("vendor", "abc")])


def parent(*, remote: bool, sampled: bool, state: TraceState | None = None) -> Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    context = SpanContext(
        TRACE_ID, 0x00F067AA0BA902B7, is_remote=remote, trace_flags=flags, trace_state=state
    )
    return trace.set_span_in_context(NonRecordingSpan(context))


PARENTS: dict[str, Context | None] = {
    "none (the current context, empty)": None,
    "empty context": Context(),
    "invalid span": trace.set_span_in_context(trace.INVALID_SPAN),
    "local sampled": parent(remote=False, sampled=True),
    "local not sampled": parent(remote=False, sampled=False),
    "remote sampled with tracestate": parent(remote=True, sampled=True, state=STATE),
    "remote not sampled with tracestate": parent(remote=True, sampled=False, state=STATE),
}


def outcome(result: SamplingResult) -> tuple[Any, ...]:
    return result.decision, dict(result.attributes), result.trace_state


@pytest.mark.parametrize("case", list(PARENTS))
def test_each_parent_gets_the_sdk_samplers_decision_attributes_and_trace_state(case: str) -> None:
    attributes = {"mcp.method.name": "tools/call", "jsonrpc.request.id": "7"}
    ours = ParentBasedAlwaysOn().should_sample(
        PARENTS[case], TRACE_ID, "tools/call", SpanKind.SERVER, attributes
    )
    sdk = ParentBased(ALWAYS_ON).should_sample(
        PARENTS[case], TRACE_ID, "tools/call", SpanKind.SERVER, attributes
    )
    assert outcome(ours) == outcome(sdk)


def test_it_describes_itself_as_the_sdk_sampler_does() -> None:
    assert ParentBasedAlwaysOn().get_description() == ParentBased(ALWAYS_ON).get_description()


@pytest.mark.parametrize(
    ("env", "ours"),
    [
        ({}, True),
        ({"OTEL_TRACES_SAMPLER": "parentbased_always_on"}, True),
        ({"OTEL_TRACES_SAMPLER": " ParentBased_Always_On "}, True),
        ({"OTEL_TRACES_SAMPLER": "always_on"}, False),
        ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}, False),
    ],
)
def test_only_the_default_sampler_is_replaced(env: dict[str, str], ours: bool) -> None:
    assert isinstance(default_sampler(env), ParentBasedAlwaysOn) is ours
