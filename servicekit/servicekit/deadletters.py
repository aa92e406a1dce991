"""The consumer guard: what happens to every message a service takes off a topic.

    take message ─┬─ too large ────────────────────────────────┐
                  ├─ not JSON / not valid / unknown type ──────┤──▶ <topic>.dlq (original bytes,
                  ├─ handler raises ─ retry with backoff, N times ┘     headers, error, service)
                  │   (the store or Kafka unreachable: retried until it is back, within
                  │    the outage patience, without using up those N retries)
                  ├─ a command, invalid, its envelope readable ─▶ `…CommandRejected` (X-13,
                  │                                               servicekit/invalid.py)
                  └─ handler returns ─▶ offset handled (committed by the dispatcher)

Each message is handed to the `Dispatcher` (servicekit/dispatch.py), which runs the
guard and the handler concurrently with messages of other keys.

A command that parses but cannot be applied is not a dead letter: its handler answers it
with a rejection event and returns normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiokafka.errors import (
    KafkaConnectionError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    RequestTimedOutError,
)
from aiokafka.structs import TopicPartition
from faststream import BaseMiddleware
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from contracts.envelope import Message
from servicekit import clocks, metrics, tracing
from servicekit.invalid import InvalidCommands, answer_invalid
from servicekit.logs import log_context

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord
    from faststream.message import StreamMessage

log = logging.getLogger("servicekit.consumer")

#: Header names on a dead letter, beside the original message's own headers.
DLQ_ERROR = "x-dlq-error"
DLQ_REASON = "x-dlq-reason"
DLQ_SERVICE = "x-dlq-service"
DLQ_SOURCE = "x-dlq-source"  # topic/partition/offset of the original
DLQ_VALUE_DROPPED = "x-dlq-value-dropped"  # bytes of an original its DLQ topic could not take


#: Sends bytes as they are: (topic, value, key, headers).
RawPublisher = Callable[[str, bytes, bytes | None, dict[str, str]], Awaitable[None]]


@dataclass(frozen=True)
class GuardPolicy:
    service: str
    max_message_bytes: int
    handler_retries: int
    retry_backoff_seconds: float
    #: How long an outage of the store or Kafka is waited out before dead-lettering.
    outage_patience_seconds: float = 120.0
    #: Where each handled record's topic, partition and offset is appended, in the order
    #: handled ("": nowhere): what a replay plays again (tests/determinism).
    consumption_log: str = ""


#: Errors that say a server is unreachable for now, not that the message is bad: a store
#: restarting (PyMongo pauses its pool and fails fast with AutoReconnect until the server
#: answers again), a broker leader moving.
OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    KafkaConnectionError,
    RequestTimedOutError,
)


#: The exit status of a service whose producer cannot publish any more (EX_TEMPFAIL).
EXIT_PRODUCER_WEDGED = 75


def producer_wedged(service: str, exit: Callable[[int], object] = os._exit) -> None:
    """aiokafka's idempotent producer, once the broker answers OutOfOrderSequenceNumber
    (a broker restart with sends in flight), fails every later send and never recovers
    (aio-libs/aiokafka#1017). Found by the chaos run (docs/chaos.md): the notifier
    dead-lettered every event after a broker restart while reporting ready. So the
    process ends at once, as if killed (nothing drained, nothing dead-lettered, no offset
    committed past the failed work), and its supervisor starts it again with a new
    producer; the outbox and the at-least-once delivery redo what was cut."""
    log.critical(
        "the Kafka producer is out of sequence with the broker and cannot recover; exiting",
        extra={"service": service, "exit_status": EXIT_PRODUCER_WEDGED},
    )
    with contextlib.suppress(Exception):
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        sys.stderr.flush()
    exit(EXIT_PRODUCER_WEDGED)


def is_outage(error: BaseException) -> bool:
    """True when `error` means "a server is unreachable", so a retry later may succeed."""
    return isinstance(error, OUTAGES)


def classify(error: ValidationError, body: Any) -> str:
    """A stable reason code for a message that could not be read."""
    if not isinstance(body, dict):
        return "malformed"
    kinds = {e["type"] for e in error.errors()}
    if "union_tag_invalid" in kinds:
        return "unknown_type"
    return "invalid"


def describe(error: BaseException) -> str:
    """The error as text without the offending input (it may hold personal data)."""
    if isinstance(error, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in error.errors(include_input=False, include_url=False)
        ]
        return f"{error.title}: " + "; ".join(parts)
    return f"{type(error).__name__}: {error}"


def _peek(body: Any) -> dict[str, Any]:
    """Ids worth logging, read from a decoded body without validating it."""
    if not isinstance(body, dict):
        return {}
    return {
        k: body[k]
        for k in ("message_id", "correlation_id", "order_id", "account_id", "deadline_id", "type")
        if isinstance(body.get(k), str)
    }


@dataclass(eq=False)
class ConsumerGuard:
    """Parses, retries and dead-letters around every handler call of one service."""

    policy: GuardPolicy
    publish_raw: RawPublisher
    stopping: Callable[[], bool]
    base_topic: Callable[[str], str]
    publish: Callable[[str, Message], Awaitable[None]] | None = None
    #: X-13: command topics (contracts names) whose invalid commands are answered.
    invalid_commands: dict[str, InvalidCommands] = field(default_factory=dict, init=False)

    def middleware(self) -> type[BaseMiddleware]:
        """A FastStream middleware class bound to this guard: it watches publishing (the
        runtime's batch middleware takes consuming, and calls `consume` per record)."""
        guard = self

        class _Guard(BaseMiddleware):
            async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: Any) -> Any:  # fmt: skip
                try:
                    return await call_next(cmd)
                except OutOfOrderSequenceNumber:
                    producer_wedged(guard.policy.service)
                    raise

        return _Guard

    async def consume(
        self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        record: ConsumerRecord[bytes, bytes] = msg.raw_message
        topic = self.base_topic(record.topic)
        service = self.policy.service
        body = await msg.decode()
        started = time.perf_counter()
        ids = _peek(body)
        with (
            tracing.consuming(
                record.topic, record.partition, record.offset, record.headers or (), ids
            ),
            log_context(
                topic=record.topic, partition=record.partition, offset=record.offset, **ids
            ),
            clocks.handling_record(record.timestamp),
        ):
            metrics.CONSUMED.labels(service, topic).inc()
            self._record_lag(msg, record, topic)
            outcome, result = await self._attempt(call_next, msg, record, body, topic)
            if self.policy.consumption_log:
                self._log_consumed(record)
            metrics.PROCESSED.labels(service, topic, outcome).inc()
            metrics.HANDLER_SECONDS.labels(service, topic).observe(time.perf_counter() - started)
            log.info("handled", extra={"outcome": outcome})
            return result

    def _log_consumed(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Append the record to the consumption log (one short line, flushed at once)."""
        with open(self.policy.consumption_log, "a", encoding="utf-8") as log_file:
            log_file.write(f"{record.topic}\t{record.partition}\t{record.offset}\n")

    async def _attempt(
        self,
        call_next: Callable[[Any], Awaitable[Any]],
        msg: StreamMessage[Any],
        record: ConsumerRecord[bytes, bytes],
        body: Any,
        topic: str,
    ) -> tuple[str, Any]:
        size = len(record.value or b"")
        if size > self.policy.max_message_bytes:
            error = f"message of {size} bytes exceeds the limit of {self.policy.max_message_bytes}"
            await self.dead_letter(record, topic, "oversized", error)
            return "dead_lettered", None
        message_type = str(body.get("type", "unknown")) if isinstance(body, dict) else "unknown"
        attempt = outage_tries = 0
        outage_since: float | None = None
        while True:
            try:
                with tracing.handling(message_type, attempt + 1):
                    return "ok", await call_next(msg)
            except ValidationError as e:
                # Deterministic: no retry can make a malformed message valid.
                if await self.answer_invalid(topic, body):
                    return "rejected_invalid", None
                await self.dead_letter(record, topic, classify(e, body), describe(e))
                return "dead_lettered", None
            except Exception as e:
                metrics.FAILED.labels(self.policy.service, topic).inc()
                log.warning("handler failed", extra={"attempt": attempt + 1, "error": describe(e)})
                if self.stopping():
                    raise  # not committed: redelivered after the restart
                if is_outage(e):
                    now = time.monotonic()
                    outage_since = now if outage_since is None else outage_since
                    if now - outage_since < self.policy.outage_patience_seconds:
                        await asyncio.sleep(min(self._backoff(outage_tries), 5.0))
                        outage_tries += 1
                        continue
                if attempt >= self.policy.handler_retries or is_outage(e):
                    await self.dead_letter(record, topic, "handler_failed", describe(e))
                    return "dead_lettered", None
                await asyncio.sleep(self._backoff(attempt))
                attempt += 1

    async def answer_invalid(self, topic: str, body: Any) -> bool:
        """X-13: answer an invalid command whose envelope reads; False: dead-letter it."""
        policy = self.invalid_commands.get(topic)
        if policy is None or self.publish is None:
            return False
        answer = answer_invalid(
            policy, body, datetime.now(UTC), max_bytes=self.policy.max_message_bytes
        )
        if answer is None:
            return False
        publish = self.publish
        await self._until_published(lambda: publish(policy.answer_topic, answer))
        fields = sorted({e.field for e in getattr(answer, "errors", [])})
        log.info("command rejected", extra={"reason": "invalid", "fields": fields[:20]})
        return True

    async def _until_published(self, send: Callable[[], Awaitable[None]]) -> None:
        """Keep trying until Kafka takes it: the offset is committed only afterwards."""
        delay = self.policy.retry_backoff_seconds
        while True:
            try:
                await send()
                return
            except Exception as e:
                if self.stopping():
                    raise
                log.error("publish failed; retrying", extra={"error": describe(e)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _backoff(self, attempt: int) -> float:
        base: float = self.policy.retry_backoff_seconds * (2**attempt)
        return base * (0.5 + random.random())  # jitter, not crypto

    async def dead_letter(
        self, record: ConsumerRecord[bytes, bytes], topic: str, reason: str, error: str
    ) -> None:
        """Send the original bytes and headers to `<topic>.dlq`; keep trying until it lands.

        The offset is committed only after this returns, so a dead letter is never lost:
        if Kafka is down, the consumer waits here (or stops and is redelivered on restart).
        """
        headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}
        headers |= {
            DLQ_ERROR: error[:2000],
            DLQ_REASON: reason,
            DLQ_SERVICE: self.policy.service,
            DLQ_SOURCE: f"{record.topic}/{record.partition}/{record.offset}",
        }
        delay = self.policy.retry_backoff_seconds
        value = record.value or b""
        while True:
            try:
                await self.publish_raw(record.topic + ".dlq", value, record.key, headers)
                break
            except MessageSizeTooLargeError:
                if not value:
                    raise
                # The dead-letter topic takes less than the original and its headers (it
                # was made outside orderflow, see the README's sizes): keep the headers,
                # which say where the original is, rather than retry for ever.
                value = b""
                headers[DLQ_VALUE_DROPPED] = str(len(record.value or b""))
                log.error("dead letter too large for its topic; its value is dropped")
            except Exception as e:
                if self.stopping():
                    raise
                log.error("dead-letter publish failed; retrying", extra={"error": describe(e)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        metrics.DEAD_LETTERED.labels(self.policy.service, topic, reason).inc()
        log.warning("dead-lettered", extra={"reason": reason, "error": error[:500]})

    def _record_lag(
        self, msg: StreamMessage[Any], record: ConsumerRecord[bytes, bytes], topic: str
    ) -> None:
        consumer = getattr(msg, "consumer", None)
        if consumer is None:
            return
        with contextlib.suppress(Exception):
            high = consumer.highwater(TopicPartition(record.topic, record.partition))
            if high is not None:
                lag = max(high - record.offset - 1, 0)
                metrics.CONSUMER_LAG.labels(self.policy.service, topic, str(record.partition)).set(
                    lag
                )
