"""The shared runtime on the real broker: bad input is dead-lettered, the consumer goes on.

Issue 3 (X-08): malformed JSON, a schema-invalid command, an unknown message type and an
oversized message each land in `<topic>.dlq` with the original bytes and the error, while
a valid message sent after them is still processed; `/metrics` counts them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from contracts.envelope import Command, Party, Role
from devstack.services import metric_value
from servicekit.config import ServiceSettings
from servicekit.runtime import ServiceRuntime
from tests.support.kafka import Upstream, count, read_topic

TOPIC = "probe.commands"


class Ping(Command):
    type: Literal["Ping"] = "Ping"
    order_id: str
    n: int


class Explode(Command):
    type: Literal["Explode"] = "Explode"
    order_id: str
    failures: int


ProbeCommand = Annotated[Ping | Explode, Field(discriminator="type")]


def ping(order_id: str, n: int) -> Ping:
    return Ping(
        message_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
        actor=Party(id="upstream-1", role=Role.SYSTEM),
        order_id=order_id,
        n=n,
    )


def explode(order_id: str, failures: int) -> Explode:
    return Explode(
        message_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
        actor=Party(id="upstream-1", role=Role.SYSTEM),
        order_id=order_id,
        failures=failures,
    )


class Probe:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.seen: list[int] = []
        self.attempts: dict[str, int] = {}


@pytest.fixture
async def probe(stack: Any, topic_prefix: str) -> AsyncIterator[Probe]:
    service = f"probe-{uuid.uuid4().hex[:6]}"
    settings = ServiceSettings(
        kafka_bootstrap_servers=stack.kafka_bootstrap,
        mongodb_uri=stack.mongodb_uri,
        topic_prefix=topic_prefix + service + ".",
        max_message_bytes=10_000,
        handler_retries=2,
        retry_backoff_seconds=0.05,
        connect_timeout_seconds=20,
    )
    runtime = ServiceRuntime(service, settings)
    probe = Probe(runtime)

    @runtime.subscriber(TOPIC)
    async def handle(command: ProbeCommand) -> None:
        if isinstance(command, Ping):
            probe.seen.append(command.n)
            return
        key = str(command.message_id)
        probe.attempts[key] = probe.attempts.get(key, 0) + 1
        if probe.attempts[key] <= command.failures:
            raise RuntimeError("downstream hiccup")

    await runtime.start()
    yield probe
    await runtime.stop()


async def until_seen(probe: Probe, n: int, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while n not in probe.seen:
            await asyncio.sleep(0.05)


async def test_unreadable_messages_go_to_the_dead_letter_topic_and_the_consumer_goes_on(
    probe: Probe, stack: Any
) -> None:
    prefix = probe.runtime.settings.topic_prefix
    bad = {
        "malformed": b'{"type": "Ping", "order_id": ',
        "invalid": ping("o-1", 1).model_dump_json().replace('"n":1', '"n":"one"').encode(),
        "unknown_type": ping("o-1", 1).model_dump_json().replace('"Ping"', '"Pong"').encode(),
        "oversized": b'{"pad": "' + b"x" * 20_000 + b'"}',
    }
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        for value in bad.values():
            await upstream.send_raw(TOPIC, value, key=b"o-1")
        await upstream.send(TOPIC, ping("o-1", 42))

    await until_seen(probe, 42)
    letters = await read_topic(stack.kafka_bootstrap, prefix + TOPIC + ".dlq", count(4))

    assert sorted(r.headers["x-dlq-reason"] for r in letters) == sorted(bad)
    for letter in letters:
        reason = letter.headers["x-dlq-reason"]
        assert letter.value == bad[reason], "the original bytes are kept"
        assert letter.headers["x-dlq-service"] == probe.runtime.name
        assert letter.headers["x-dlq-error"]
        assert letter.headers["x-dlq-source"].startswith(prefix + TOPIC + "/")
    assert probe.seen == [42]

    port = probe.runtime.ops.port
    text = await asyncio.to_thread(_metrics, port)
    name = probe.runtime.name
    for reason in bad:
        assert (
            metric_value(
                text, "orderflow_messages_dead_lettered_total", service=name, reason=reason
            )
            == 1
        )
    assert metric_value(text, "orderflow_messages_consumed_total", service=name) == 5
    assert metric_value(text, "orderflow_messages_processed_total", service=name, outcome="ok") == 1


async def test_a_schema_invalid_command_with_an_unknown_field_is_dead_lettered(
    probe: Probe, stack: Any
) -> None:
    prefix = probe.runtime.settings.topic_prefix
    sneaky = ping("o-2", 7).model_dump_json()[:-1] + ', "admin": true}'
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send_raw(TOPIC, sneaky.encode(), key=b"o-2")
        await upstream.send(TOPIC, ping("o-2", 8))
    await until_seen(probe, 8)
    letters = await read_topic(stack.kafka_bootstrap, prefix + TOPIC + ".dlq", count(1))
    assert [r.headers["x-dlq-reason"] for r in letters] == ["invalid"]
    assert "admin" in letters[0].headers["x-dlq-error"]
    assert probe.seen == [8]


async def test_a_handler_that_fails_briefly_is_retried_and_one_that_keeps_failing_is_dead_lettered(
    probe: Probe, stack: Any
) -> None:
    prefix = probe.runtime.settings.topic_prefix
    flaky, broken = explode("o-3", failures=1), explode("o-3", failures=99)
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(TOPIC, flaky, broken, ping("o-3", 9))
    await until_seen(probe, 9)
    letters = await read_topic(stack.kafka_bootstrap, prefix + TOPIC + ".dlq", count(1))
    assert [r.headers["x-dlq-reason"] for r in letters] == ["handler_failed"]
    assert letters[0].json()["message_id"] == str(broken.message_id)
    assert probe.attempts[str(flaky.message_id)] == 2, "one failure, then success"
    assert probe.attempts[str(broken.message_id)] == 3, "first try and two retries"


def _metrics(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return str(r.read().decode())
