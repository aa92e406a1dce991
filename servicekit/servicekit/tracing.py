"""Traces across services: W3C trace context in Kafka headers, spans where time goes.

    command ─▶ ordering: "<topic> process" (CONSUMER, parent: the record's `traceparent`)
                 └─ "handle <Type>"
                      ├─ "mongodb <command>" (CLIENT, one per store call)
                      └─ outbox entry keeps the handling span's context ─┐
               ordering: "<topic> publish" (PRODUCER) ◀── parent ────────┘  (now or later)
                 │  `traceparent` / `tracestate` headers on the record
                 ▼
             notifier: "<topic> process" └─ "handle <Type>" ─▶ "smtp send" (CLIENT)
                                                             └▶ EmailSent "publish"

Off by default: with no OTLP endpoint in the environment nothing is installed, every
helper here returns at its first `if`, and no header is written. On when the standard
variables ask for it (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, or
`OTEL_TRACES_EXPORTER=otlp`/`console`; `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`
turn it off. The exporter speaks OTLP over HTTP/protobuf (a pure-Python package; gRPC
would bring grpcio's binaries). The SDK reads the rest itself: `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_HEADERS`.

Attributes name topics, partitions, offsets, message types and ids, collections and
templates: never an address, a name, a token or a message body (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pymongo import monitoring

log = logging.getLogger("servicekit.tracing")

#: The W3C trace context headers carried on every record a traced service publishes.
HEADERS = ("traceparent", "tracestate")

_propagator: TextMapPropagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None


class TracingSettingsError(ValueError):
    """The OTEL_* variables ask for something this build cannot do (e.g. OTLP over gRPC)."""


def wanted(env: Mapping[str, str]) -> str | None:
    """The exporter the environment asks for ("otlp", "console"), or None: tracing off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return None
    if exporter in ("otlp", "console"):
        return exporter
    if exporter:
        raise TracingSettingsError(f"OTEL_TRACES_EXPORTER={exporter!r}: use otlp, console or none")
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return "otlp" if endpoint else None


def _exporter(kind: str, env: Mapping[str, str]) -> SpanExporter:
    if kind == "console":
        return ConsoleSpanExporter()
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol != "http/protobuf":
        raise TracingSettingsError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: only http/protobuf is installed"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout: from OTEL_EXPORTER_OTLP_*


def setup(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Install tracing for this process if the environment asks for it; True if on."""
    if _provider is not None:
        return True  # one provider per process (several runtimes in a test process)
    env = os.environ if env is None else env
    kind = wanted(env)
    if kind is None:
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(kind, env)))
    install(provider)
    log.info("tracing on", extra={"exporter": kind})
    return True


def install(provider: TracerProvider) -> None:
    """Use `provider` for this process's spans (tests pass one with an in-memory exporter)."""
    global _provider, _tracer
    _provider, _tracer = provider, provider.get_tracer("orderflow.servicekit")


def shutdown() -> None:
    """Export what is buffered and turn tracing off (on service exit)."""
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider, _tracer = None, None


def enabled() -> bool:
    return _tracer is not None


def current_ids() -> dict[str, str]:
    """`trace_id` and `span_id` of the active span (for log lines); {} when there is none."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def carrier() -> dict[str, str]:
    """The active span's context as W3C headers, to be stored and used later as a parent
    (an outbox entry, a queued email); {} when tracing is off."""
    if _tracer is None:
        return {}
    headers: dict[str, str] = {}
    _propagator.inject(headers)
    return headers


@contextlib.contextmanager
def _span(
    name: str, kind: SpanKind, parent: otel_context.Context | None, attributes: dict[str, Any]
) -> Iterator[Span | None]:
    if _tracer is None:
        yield None
        return
    # Exceptions are not recorded as events: their text can quote the input (an address).
    with _tracer.start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as error:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


#: The ids of a consumed message worth a span attribute (ids only: no personal data).
SPAN_IDS = ("message_id", "type")


def consuming(
    topic: str,
    partition: int,
    offset: int,
    headers: Iterable[tuple[str, bytes]],
    ids: Mapping[str, Any] | None = None,
) -> contextlib.AbstractContextManager[Span | None]:
    """The span of one record taken off `topic`, a child of the span that published it.
    `ids`: the message's ids as read from its body; only `SPAN_IDS` become attributes."""
    if _tracer is None:
        return contextlib.nullcontext()
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": str(partition),
        "messaging.kafka.offset": offset,
    }
    for key in SPAN_IDS:
        if ids and isinstance(ids.get(key), str):
            attributes[f"orderflow.{key}"] = ids[key]
    parent = _propagator.extract({k: v.decode("latin-1") for k, v in headers if k in HEADERS})
    return _span(f"{topic} process", SpanKind.CONSUMER, parent, attributes)


def handling(message_type: str, attempt: int) -> contextlib.AbstractContextManager[Span | None]:
    """The span of one call of a handler (a retry is a second span)."""
    if _tracer is None:
        return contextlib.nullcontext()
    attributes = {"orderflow.message_type": message_type, "orderflow.attempt": attempt}
    return _span(f"handle {message_type}", SpanKind.INTERNAL, None, attributes)


@contextlib.contextmanager
def publishing(
    topic: str, message_type: str, headers: dict[str, str], parent: Mapping[str, str] | None = None
) -> Iterator[None]:
    """The span of one record sent to `topic`; its context is written into `headers`.

    `parent`: the stored context of the span that decided to publish (an outbox entry's);
    without it, the active span is the parent.
    """
    if _tracer is None:
        yield
        return
    context = _propagator.extract(dict(parent)) if parent else None
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.destination.name": topic,
        "orderflow.message_type": message_type,
    }
    with _span(f"{topic} publish", SpanKind.PRODUCER, context, attributes):
        _propagator.inject(headers)
        yield


def client_call(
    name: str, parent: Mapping[str, str] | None = None, **attributes: Any
) -> contextlib.AbstractContextManager[Span | None]:
    """A span around a call to another server (SMTP), optionally under a stored parent."""
    if _tracer is None:
        return contextlib.nullcontext()
    context = _propagator.extract(dict(parent)) if parent else None
    return _span(name, SpanKind.CLIENT, context, attributes)


@contextlib.contextmanager
def under(parent: Mapping[str, str]) -> Iterator[None]:
    """Make a stored context (`carrier()`'s) the active one: what starts inside is its child."""
    if _tracer is None or not parent:
        yield
        return
    token = otel_context.attach(_propagator.extract(dict(parent)))
    try:
        yield
    finally:
        otel_context.detach(token)


class StoreSpans(monitoring.CommandListener):
    """A span per MongoDB command run while a message is handled (PyMongo's command
    monitoring calls these in the caller's task, so the active span is the parent).

    Commands outside a traced message (schedulers' polls, probes) make no span: they
    would be thousands of one-span traces. Attributes: the command and the collection,
    never the filter or the document.
    """

    def __init__(self) -> None:
        self._open: dict[tuple[int, Any], Span] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if _tracer is None or not trace.get_current_span().get_span_context().is_valid:
            return
        target = event.command.get(event.command_name)
        attributes: dict[str, Any] = {
            "db.system.name": "mongodb",
            "db.namespace": event.database_name,
            "db.operation.name": event.command_name,
        }
        if isinstance(target, str):
            attributes["db.collection.name"] = target
        span = _tracer.start_span(
            f"mongodb {event.command_name}", kind=SpanKind.CLIENT, attributes=attributes
        )
        self._open[(event.request_id, event.connection_id)] = span

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        span = self._open.pop((event.request_id, event.connection_id), None)
        if span is not None:
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        span = self._open.pop((event.request_id, event.connection_id), None)
        if span is not None:
            failure = event.failure
            code = failure.get("codeName") if isinstance(failure, Mapping) else None
            span.set_status(Status(StatusCode.ERROR, str(code or "failed")))
            span.end()


def store_listeners() -> list[monitoring.CommandListener]:
    """The listeners a MongoDB client takes (none when tracing is off: no cost at all)."""
    return [StoreSpans()] if _tracer is not None else []
