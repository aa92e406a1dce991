"""servicekit.tracing without a broker: which OTEL_* settings turn it on, how the context
travels (headers, outbox entries), and that log lines carry the ids."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contracts.envelope import SYSTEM
from contracts.orders import SubmitOrder
from orderflow import commands as c
from servicekit import tracing
from servicekit.aggregates import outbox_entry
from servicekit.logs import JsonFormatter

UPSTREAM_TRACE, UPSTREAM_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
TRACEPARENT = f"00-{UPSTREAM_TRACE}-{UPSTREAM_SPAN}-01".encode()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.shutdown()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
    ],
)
def test_tracing_is_off_unless_the_standard_variables_ask_for_it(
    env: dict[str, str], expected: str | None
) -> None:
    assert tracing.wanted(env) == expected


def test_otlp_over_grpc_is_refused_in_one_line_at_start() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    with pytest.raises(tracing.TracingSettingsError, match="only http/protobuf"):
        tracing.setup("ordering", env)
    assert not tracing.enabled()


def test_off_by_default_nothing_is_written_into_headers_or_outbox_entries() -> None:
    assert not tracing.setup("ordering", {})
    headers: dict[str, str] = {}
    with (
        tracing.consuming("t", 0, 1, [("traceparent", TRACEPARENT)]),
        tracing.publishing("orders.events", "OrderSubmitted", headers),
    ):
        assert tracing.carrier() == {}
    assert headers == {}
    assert "trace" not in outbox_entry("orders.events", _message())


def test_a_consumed_record_continues_the_trace_of_its_traceparent_header(
    spans: InMemorySpanExporter,
) -> None:
    with (
        tracing.consuming(
            "orders.commands",
            3,
            42,
            [("traceparent", TRACEPARENT)],
            {"message_id": "m-1", "type": "SubmitOrder", "contact": "ada@example.com"},
        ),
        tracing.handling("SubmitOrder", 1),
    ):
        pass
    handled, consumed = spans.get_finished_spans()
    assert consumed.context is not None and handled.context is not None
    assert format(consumed.context.trace_id, "032x") == UPSTREAM_TRACE
    assert consumed.parent is not None and format(consumed.parent.span_id, "016x") == UPSTREAM_SPAN
    assert handled.parent is not None and handled.parent.span_id == consumed.context.span_id
    assert consumed.attributes is not None
    assert consumed.attributes["messaging.destination.partition.id"] == "3"
    assert consumed.attributes["orderflow.type"] == "SubmitOrder"
    assert "ada@example.com" not in str(dict(consumed.attributes))  # ids only


def test_an_outbox_entry_published_later_is_a_child_of_the_handling_that_wrote_it(
    spans: InMemorySpanExporter,
) -> None:
    with (
        tracing.consuming("orders.commands", 0, 1, [("traceparent", TRACEPARENT)]),
        tracing.handling("SubmitOrder", 1),
    ):
        entry = outbox_entry("orders.events", _message())
    headers: dict[str, str] = {}
    with tracing.publishing("orders.events", "OrderSubmitted", headers, parent=entry["trace"]):
        pass  # the relay, with no span of its own active
    handled = next(s for s in spans.get_finished_spans() if s.name == "handle SubmitOrder")
    published = next(s for s in spans.get_finished_spans() if s.name.endswith("publish"))
    assert handled.context is not None and published.context is not None
    assert published.parent is not None and published.parent.span_id == handled.context.span_id
    assert headers["traceparent"].split("-")[2] == format(published.context.span_id, "016x")


def test_an_error_marks_the_span_without_recording_its_text(
    spans: InMemorySpanExporter,
) -> None:
    with pytest.raises(ValueError), tracing.handling("SubmitOrder", 1):
        raise ValueError("ada@example.com is not welcome")
    [span] = spans.get_finished_spans()
    assert span.status.description == "ValueError"
    assert not span.events  # an exception event would quote the address


def test_log_lines_carry_the_trace_and_span_ids_while_a_span_is_active(
    spans: InMemorySpanExporter,
) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("ordering"))
    logger = logging.getLogger("test.tracing.logs")
    logger.addHandler(handler)
    try:
        logger.warning("outside")
        with tracing.consuming("orders.commands", 0, 1, [("traceparent", TRACEPARENT)]):
            logger.warning("inside")
    finally:
        logger.removeHandler(handler)
    outside, inside = (json.loads(line) for line in out.getvalue().splitlines())
    assert "trace_id" not in outside and "span_id" not in outside
    assert inside["trace_id"] == UPSTREAM_TRACE
    [consumed] = spans.get_finished_spans()
    assert consumed.context is not None
    assert inside["span_id"] == format(consumed.context.span_id, "016x")


def _message() -> SubmitOrder:
    return c.command(SubmitOrder, SYSTEM, order_id=uuid.uuid4())
