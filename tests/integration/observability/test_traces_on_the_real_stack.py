"""One command's trace, from the Kafka record to the email it causes (ordering, notifier).

The services run as processes with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a tiny
OTLP/HTTP receiver in this test process, which decodes the protobuf requests with
opentelemetry-proto. The command is sent with a `traceparent` of the test's own, as an
upstream system that traces would send it.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from contracts import topics
from contracts.envelope import Contact, Role
from contracts.orders import CreateOrder, OrderParty, RejectOrder, SubmitOrder
from devstack.services import ServiceProcess
from orderflow import commands as c
from tests.integration.notifier.notifier_mail import address, wait_for_mails
from tests.support.kafka import Upstream
from tests.support.services import service_env, start

pytestmark = pytest.mark.timeout(180)


@dataclass(frozen=True)
class Received:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: dict[str, Any]


def _value(v: AnyValue) -> Any:
    field = v.WhichOneof("value")
    return getattr(v, field) if field else None


class Collector:
    """Spans received over OTLP/HTTP (POST /v1/traces, protobuf), by trace id."""

    def __init__(self) -> None:
        self.spans: list[Received] = []
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.add(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for s in scope.spans:
                    found.append(
                        Received(
                            service=str(resource.get("service.name")),
                            name=s.name,
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent_id=s.parent_span_id.hex(),
                            kind=s.kind,
                            attributes={a.key: _value(a.value) for a in s.attributes},
                        )
                    )
        with self._lock:
            self.spans.extend(found)

    def of_trace(self, trace_id: str) -> list[Received]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    collector = Collector()
    thread = threading.Thread(target=collector.server.serve_forever, daemon=True)
    thread.start()
    yield collector
    collector.server.shutdown()
    collector.server.server_close()


@pytest.fixture(scope="module")
def prefix(topic_prefix: str) -> str:
    return topic_prefix + "traces."


@pytest.fixture(scope="module")
async def services(
    stack: Any,
    prefix: str,
    database_name: str,
    collector: Collector,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    env = service_env(
        stack,
        prefix,
        database_name,
        SMTP_URL=stack.smtp_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",  # export every 0.2 s instead of 5
    )
    logs = tmp_path_factory.mktemp("traces-logs")
    started: dict[str, ServiceProcess] = {}
    try:
        for name in ("ordering", "notifier"):
            started[name] = await start(name, env, logs)
        yield started
    finally:
        for process in started.values():
            process.terminate()


async def wait_for_spans(
    collector: Collector, trace_id: str, done: Any, timeout: float = 30.0
) -> list[Received]:
    deadline = time.monotonic() + timeout
    while True:
        spans = collector.of_trace(trace_id)
        if done(spans):
            return spans
        if time.monotonic() > deadline:
            names = sorted(f"{s.service}:{s.name}" for s in spans)
            raise AssertionError(f"trace {trace_id} incomplete: {names}")
        await asyncio.sleep(0.2)


def person(role: Role, run_id: str) -> OrderParty:
    """A party with an address and a name of its own (both personal data)."""
    tag = uuid.uuid4().hex[:6]
    contact = Contact(email=address(run_id, role.value), name=f"Ada {role.value} {tag}")
    return OrderParty(id=f"{role.value}-{tag}", role=role, contact=contact)


def only(spans: list[Received], service: str, name: str) -> Received:
    [span] = [s for s in spans if s.service == service and s.name == name]
    return span


@dataclass(frozen=True)
class Traced:
    """The spans of one traced RejectOrder, and what of it is personal data."""

    trace_id: str
    upstream_span: str
    spans: list[Received]
    personal: tuple[str, ...]


@pytest.fixture(scope="module")
async def traced(
    services: dict[str, ServiceProcess], stack: Any, prefix: str, run_id: str, collector: Collector
) -> Traced:
    """An order created and submitted, then rejected by a command that carries a trace."""
    order_id = uuid.uuid4()
    owner, buyer = person(Role.MEMBER, run_id), person(Role.CLIENT, run_id)
    create = c.command(
        CreateOrder, owner.party, order_id=order_id, parties=[owner, buyer], terms=c.managed_terms()
    )
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(
            topics.ORDERS_COMMANDS, create, c.command(SubmitOrder, owner.party, order_id=order_id)
        )
    # The traced command: an upstream span of the test's own is its parent.
    trace_id, upstream_span = secrets.token_hex(16), secrets.token_hex(8)
    reject = c.command(RejectOrder, c.OPERATOR, order_id=order_id, reason="Client unknown to us")
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send_record(
            topics.ORDERS_COMMANDS,
            reject.model_dump_json().encode(),
            key=reject.kafka_key(),
            headers=[("traceparent", f"00-{trace_id}-{upstream_span}-01".encode())],
        )
    assert owner.contact is not None and buyer.contact is not None  # made so by `person`
    await wait_for_mails(stack.maildir, str(owner.contact.email), timeout=60)
    announced = f"{prefix + topics.NOTIFICATIONS_EVENTS} publish"
    spans = await wait_for_spans(
        collector, trace_id, lambda ss: {"smtp send", announced} <= {s.name for s in ss}
    )
    personal = (
        *(str(p.contact.email) for p in (owner, buyer) if p.contact),
        *(p.contact.name for p in (owner, buyer) if p.contact),
        "Client unknown to us",
        "@",
    )
    return Traced(trace_id, upstream_span, spans, personal)


async def test_X08_one_command_s_trace_reaches_the_email_it_causes_parent_to_child(
    traced: Traced, prefix: str
) -> None:
    spans = traced.spans
    commands_topic, events_topic = prefix + topics.ORDERS_COMMANDS, prefix + topics.ORDERS_EVENTS
    consumed = only(spans, "ordering", f"{commands_topic} process")
    handled = only(spans, "ordering", "handle RejectOrder")
    published = only(spans, "ordering", f"{events_topic} publish")
    delivered = only(spans, "notifier", f"{events_topic} process")
    notified = only(spans, "notifier", "handle OrderRejected")
    sent = only(spans, "notifier", "smtp send")
    assert consumed.parent_id == traced.upstream_span
    assert handled.parent_id == consumed.span_id
    assert published.parent_id == handled.span_id  # through the outbox
    assert delivered.parent_id == published.span_id  # through the Kafka headers
    assert notified.parent_id == delivered.span_id
    assert sent.parent_id == notified.span_id  # through the delivery queue
    announced = only(spans, "notifier", f"{prefix + topics.NOTIFICATIONS_EVENTS} publish")
    assert announced.parent_id == notified.span_id
    stored = [s for s in spans if s.service == "ordering" and s.name.startswith("mongodb ")]
    assert stored and all(s.parent_id == handled.span_id for s in stored)
    assert sent.attributes["orderflow.template"] == "order_rejected"


async def test_X08_no_personal_data_in_the_spans_attributes(
    traced: Traced, collector: Collector
) -> None:
    """Addresses, names and the reason a person typed stay out of every span received."""
    assert len(traced.spans) >= 6
    for span in collector.spans:
        for key, value in span.attributes.items():
            text = f"{key}={value}"
            leaked = [p for p in traced.personal if p in text]
            assert not leaked, f"{span.service}:{span.name}: {text}"


def samples(text: str, name: str) -> dict[str, float]:
    """The samples of one metric on a /metrics page, by their label text."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) :].rsplit(" ", 1)
            found[labels] = float(value)
    return found


async def test_X07_X08_ops_read_rejections_lag_and_emails_on_metrics(
    traced: Traced, services: dict[str, ServiceProcess], stack: Any, prefix: str
) -> None:
    """A refused command counts by reason; lag is per topic and partition; emails count."""
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(
            topics.ORDERS_COMMANDS, c.command(SubmitOrder, c.OPERATOR, order_id=uuid.uuid4())
        )
    rejected = 'orderflow_commands_rejected_total{reason="unknown_order",service="ordering"}'
    deadline = time.monotonic() + 30
    while rejected not in (page := services["ordering"].metrics()):
        assert time.monotonic() < deadline, "no rejection counted"
        await asyncio.sleep(0.2)
    lag = samples(page, "orderflow_consumer_lag")
    assert any(f'topic="{topics.ORDERS_COMMANDS}"' in k and "partition=" in k for k in lag)
    emails = services["notifier"].metrics()
    assert samples(emails, "orderflow_emails_sent_total")
    assert "orderflow_emails_failed_total" in emails  # declared, for the alert
