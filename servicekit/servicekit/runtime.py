"""`ServiceRuntime`: how every orderflow service connects, consumes, publishes and stops.

A service's composition root (its `app.py`) builds one runtime, registers its handlers
with `subscriber(...)`, and calls `run()`. The runtime owns:

    ServiceRuntime
    ├── broker       FastStream KafkaBroker: idempotent producer, batched guarded consumers
    ├── db           the service's own database, `<database>_<service>` (PyMongo async)
    ├── ops          /metrics, /livez and /readyz (and /health, its old name) on its own port
    ├── background   long-running tasks (schedulers, relays), stopped before the broker
    └── run()        start with retries and backoff; on SIGTERM finish in-flight, exit

Every Kafka client (the broker, the admin client) is built from the settings'
`servicekit.kafka.KafkaSettings` part, so TLS and SASL apply to all of them alike.

Consuming is batched (issue 19): each subscriber takes what its partitions hold, up to
`max_in_flight` records at a time (one `getmany`), and FastStream's per-message machinery
(parser, decoder, dependency injection, middleware stack) runs once per batch, not per
record. Each record is decoded and validated once, by the runtime, and handed to the
`Dispatcher` under the consumer guard exactly as a single message was before:

    getmany ─▶ FastStream, once per batch ─▶ `_Batches` middleware (never calls the handler
         through FastStream) ─▶ per record, in offset order: dispatcher.submit(guard.consume(
         decode ─▶ validate against the handler's first parameter ─▶ handler))

Concurrent handlers of one batch share their store writes (servicekit/batching.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import signal
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord, TopicPartition
from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from pydantic import TypeAdapter, ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import Message
from contracts.topics import DLQ_SUFFIX, dlq
from servicekit import cloudevents, metrics, tracing
from servicekit.aggregates import forget_cached
from servicekit.config import ServiceSettings, service_database
from servicekit.deadletters import ConsumerGuard, GuardPolicy, describe
from servicekit.dispatch import Dispatcher, SettleOnRevoke
from servicekit.invalid import InvalidCommands
from servicekit.kafka import KafkaLoginError
from servicekit.logs import configure_logging

log = logging.getLogger("servicekit.runtime")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
Document = dict[str, Any]


#: How long a subscriber's `getmany` waits for a first record (and, FastStream's loop,
#: sleeps after an empty one): the most an idle subscriber adds to a message's latency.
#: Under load batches are there at once; idle, each subscriber wakes 25 times a second.
BATCH_WAIT_MS = 20


@dataclass
class Delivered:
    """One record of a batch as the consumer guard and a handler see it (the shape of
    FastStream's `KafkaMessage` that they use: `raw_message`, `consumer`, `decode()`)."""

    raw_message: ConsumerRecord[bytes, bytes]
    consumer: Any

    async def decode(self) -> Any:
        """The record's JSON, or its bytes if it is no JSON (then invalid, dead-lettered)."""
        return self.body

    @functools.cached_property
    def body(self) -> Any:  # decoded once: the guard reads it, then the handler's schema
        value = self.raw_message.value or b""
        try:
            return json.loads(value)
        except ValueError:  # also UnicodeDecodeError
            return value


@dataclass(frozen=True)
class Route:
    """A subscriber's handler and the schema its first parameter names."""

    handler: Callable[..., Awaitable[Any]]
    schema: TypeAdapter[Any]
    #: The handler takes the record too (its second parameter: a `Delivered`).
    with_record: bool

    @classmethod
    def of(cls, handler: Callable[..., Awaitable[Any]]) -> Route:
        params = list(inspect.signature(handler).parameters)
        hints = typing.get_type_hints(handler, include_extras=True)
        return cls(handler, TypeAdapter(hints[params[0]]), len(params) > 1)

    async def __call__(self, delivered: Delivered) -> Any:
        """Validate the record once (a `ValidationError` is the guard's to answer) and
        call the handler with the message."""
        message = self.schema.validate_python(await delivered.decode())
        if self.with_record:
            return await self.handler(message, delivered)
        return await self.handler(message)


class StartupError(RuntimeError):
    """Kafka or the store stayed unreachable for the whole connect timeout."""


async def retry_until(
    what: str, attempt: Callable[[], Awaitable[Any]], within: float, first_delay: float = 0.5
) -> Any:
    """Call `attempt` until it succeeds, backing off exponentially for up to `within` seconds.

    A refused login (KafkaLoginError) is not retried: a wrong password stays wrong, and a
    service that kept retrying would look alive while it can never work.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    delay = first_delay
    while True:
        try:
            return await attempt()
        except KafkaLoginError as e:
            raise StartupError(f"{what}: {e}") from e
        except Exception as e:
            if loop.time() + delay > deadline:
                raise StartupError(f"{what} unreachable after {within:.0f}s: {e}") from e
            log.warning("waiting for %s", what, extra={"error": f"{type(e).__name__}: {e}"})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


class ServiceRuntime:
    """Everything a service needs around its handlers. See the module docstring."""

    def __init__(self, name: str, settings: ServiceSettings) -> None:
        self.name = name
        self.settings = settings
        self._stopping = False
        self._consumed_topics: list[str] = []
        self._outputs: dict[str, Any] = {}
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._committer: asyncio.Task[None] | None = None
        self.dispatcher = Dispatcher(settings.max_in_flight, settings.commit_interval_seconds)
        # Aggregates kept in memory are of the partitions this process owns (a stale one
        # only costs a failed insert and a reload, but after a rebalance most would be).
        self.dispatcher.on_revoke.append(lambda _: forget_cached())
        self.guard = ConsumerGuard(
            GuardPolicy(
                service=name,
                max_message_bytes=settings.max_message_bytes,
                handler_retries=settings.handler_retries,
                retry_backoff_seconds=settings.retry_backoff_seconds,
                outage_patience_seconds=settings.outage_patience_seconds,
                consumption_log=settings.consumption_log.replace("{service}", name),
            ),
            publish_raw=self.publish_raw,
            stopping=lambda: self._stopping,
            base_topic=self.base_topic,
            publish=self.publish,
        )
        self._listeners: list[SettleOnRevoke] = []
        self._groups: list[str] = []
        #: The handler of each real topic consumed.
        self._routes: dict[str, Route] = {}
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            security=settings.broker_security(),
            client_id=name,
            # Idempotent producer: a retried send never duplicates a record (acks=all).
            enable_idempotence=True,
            # The first is the outermost: batches never reach the guard's own consume
            # scope; its publish scope still watches every publish.
            middlewares=[self._batches(), self.guard.middleware()],
            graceful_timeout=settings.shutdown_timeout_seconds,
            logger=logging.getLogger(f"{name}.faststream"),
            log_level=logging.DEBUG,
            # Room for the largest message a topic takes to reach its dead-letter topic
            # intact, with the error headers (servicekit/config.py: the size limits).
            max_request_size=settings.dlq_max_message_bytes,
        )
        # Before the clients: the store's command listener exists only with tracing on.
        tracing.setup(name)
        self.mongo: AsyncMongoClient[Document] = AsyncMongoClient(
            settings.mongodb_uri,
            tz_aware=True,
            serverSelectionTimeoutMS=5000,
            connect=False,
            event_listeners=tracing.store_listeners(),
        )
        self.db: AsyncDatabase[Document] = self.mongo[service_database(settings.database, name)]
        self.ops = metrics.OpsServer(
            settings.http_host,
            settings.http_port,
            {"kafka": self._kafka_ok, "store": self._store_ok, "partitions": self._assigned},
        )

    # -- topics ----------------------------------------------------------------------------

    def topic(self, name: str) -> str:
        """The real topic name of a contracts topic (with this deployment's prefix)."""
        return self.settings.topic_prefix + name

    def base_topic(self, real: str) -> str:
        prefix = self.settings.topic_prefix
        return real[len(prefix) :] if prefix and real.startswith(prefix) else real

    # -- consuming -------------------------------------------------------------------------

    def subscriber(
        self,
        topic: str,
        *,
        group: str | None = None,
        title: str | None = None,
        invalid: InvalidCommands | None = None,
    ) -> Callable[[F], F]:
        """Register a handler for one contracts topic; its first parameter's type is the schema.

        Records are consumed in batches (see the module docstring); the handler is
        called with one validated message at a time (and, if it takes a second
        parameter, the record as `Delivered`).

        Delivery: a message's offset is committed only after its handler returned, i.e.
        after its effects are stored and its output published, and never past a message
        still in flight: at least once. FastStream does not commit (AckPolicy.MANUAL); the
        runtime's `Dispatcher` (servicekit/dispatch.py) runs handlers of different keys
        concurrently and commits each partition's finished prefix every
        `commit_interval_seconds`. FastStream's own policies commit once per message (a
        broker round trip each) and only with one handler running at a time; ACK_FIRST
        would commit before the effects exist.

        `invalid` (command topics): X-13, how the service answers a command whose envelope
        reads but whose content does not (servicekit/invalid.py); without it such a
        message is dead-lettered like any unreadable one.
        """
        real = self.topic(topic)
        self._consumed_topics.append(topic)
        if invalid is not None:
            if invalid.answer_topic not in self._outputs:  # else answering would never succeed
                raise KeyError(f"{self.name}: declare {invalid.answer_topic!r} as an output first")
            self.guard.invalid_commands[topic] = invalid
        listener = self.dispatcher.rebalance_listener(self.settings.shutdown_timeout_seconds)
        self._listeners.append(listener)
        self._groups.append(self.topic(group or self.name))
        decorator = self.broker.subscriber(
            real,
            group_id=self._groups[-1],
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            listener=listener,
            title=title or f"{self.name}:{topic}",
            batch=True,
            max_records=self.settings.max_in_flight,
            batch_timeout_ms=BATCH_WAIT_MS,
        )

        def register(handler: F) -> F:
            self._routes[real] = Route.of(handler)
            decorator(handler)  # FastStream documents it (AsyncAPI); `consume` calls it
            return handler

        return register

    def _batches(self) -> type[BaseMiddleware]:
        """The FastStream middleware that takes each batch to `consume`."""
        runtime = self

        class _Batches(BaseMiddleware):
            async def consume_scope(
                self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
            ) -> Any:
                await runtime.consume(msg.raw_message, getattr(msg, "consumer", None))

        return _Batches

    async def consume(self, records: Sequence[ConsumerRecord[bytes, bytes]], consumer: Any) -> None:
        """Hand a batch's records, in order, to the dispatcher, each under the guard;
        returns once the last has started (per-key order is the dispatcher's)."""
        for record in records:
            delivered = Delivered(record, consumer)
            route = self._routes[record.topic]

            async def work(delivered: Delivered = delivered, route: Route = route) -> None:
                await self.guard.consume(route, delivered)  # type: ignore[arg-type]

            tp = TopicPartition(record.topic, record.partition)
            await self.dispatcher.submit(consumer, tp, record.offset, record.key, work)

    # -- publishing ------------------------------------------------------------------------

    def output(self, topic: str, schema: Any, description: str = "") -> None:
        """Declare that this service publishes `schema` messages to a contracts topic.

        Declared outputs are what the service's AsyncAPI document lists as `send`
        operations, and the topics the service creates at startup.
        """
        self._outputs[topic] = self.broker.publisher(
            self.topic(topic),
            schema=schema,
            title=f"{self.name}:{topic}",
            description=description or None,
        )

    async def publish(self, topic: str, *messages: Message) -> None:
        """Publish messages in order, each keyed by its aggregate id (the order id)."""
        publisher = self._outputs.get(topic)
        if publisher is None:
            raise KeyError(f"{self.name} has not declared {topic!r} as an output")
        for message in messages:
            headers = self.headers(topic, message)
            with tracing.publishing(self.topic(topic), message.type, headers):
                await publisher.publish(
                    message.model_dump_json().encode(),
                    key=message.kafka_key(),
                    headers=headers,
                    correlation_id=str(message.correlation_id),
                )
            metrics.PUBLISHED.labels(self.name, topic).inc()
            metrics.count_rejection(self.name, message.type, getattr(message, "reason", None))

    async def publish_outbox(self, entries: Sequence[Document]) -> None:
        """Publish stored outbox entries (see `servicekit.aggregates.outbox_entry`) in order.

        All are handed to the producer first, then their acknowledgements awaited
        together: one broker round trip for the lot, not one each. The idempotent
        producer keeps them in order; the caller goes on (writes the snapshot, lets the
        offset be committed) only once every one is acknowledged."""
        sent: list[asyncio.Future[Any]] = []
        for entry in entries:
            publisher = self._outputs.get(entry["topic"])
            if publisher is None:
                raise KeyError(f"{self.name} has not declared {entry['topic']!r} as an output")
            headers = cloudevents.for_outbox(self.name, entry)
            # The span's parent is the handling that wrote the entry, however late this is.
            parent = entry.get("trace")
            with tracing.publishing(self.topic(entry["topic"]), entry["type"], headers, parent):
                sent.append(
                    await publisher.publish(
                        entry["value"].encode(),
                        key=entry["key"].encode(),
                        headers=headers,
                        correlation_id=entry["correlation_id"],
                        no_confirm=True,
                    )
                )
        await asyncio.gather(*sent)
        for entry in entries:
            metrics.PUBLISHED.labels(self.name, entry["topic"]).inc()
            if entry["type"].endswith("CommandRejected"):
                reason = json.loads(entry["value"]).get("reason")
                metrics.count_rejection(self.name, entry["type"], reason)

    def headers(self, topic: str, message: Message) -> dict[str, str]:
        """The headers of a message this service publishes to `topic`: CloudEvents' binary
        mode and orderflow's `message-type` (servicekit/cloudevents.py)."""
        return cloudevents.for_message(self.name, topic, message)

    async def publish_raw(
        self, topic: str, value: bytes, key: bytes | None, headers: dict[str, str]
    ) -> None:
        """Publish bytes as they are (dead letters, replays); `topic` is the real name."""
        await self.broker.publish(value, topic=topic, key=key, headers=headers)
        metrics.PUBLISHED.labels(self.name, self.base_topic(topic)).inc()

    # -- lifecycle -------------------------------------------------------------------------

    def on_start(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` after the store and Kafka are reachable, before consuming starts."""
        self._on_start.append(hook)

    def background(self, task: Callable[[], Awaitable[None]]) -> None:
        """Run `task` for the life of the service; it is cancelled first on shutdown."""
        self._background.append(task)

    @property
    def consumed_topics(self) -> tuple[str, ...]:
        """The contracts names of the topics this service reads."""
        return tuple(self._consumed_topics)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def kafka_acls(self) -> list[tuple[str, str, str]]:
        """The ALLOW ACLs this service needs on a secured cluster, as (resource, name,
        operation): read and commit what it consumes, write what it publishes and its
        dead letters, create those topics; nothing else (docs/operations.md)."""
        consumed = [self.topic(t) for t in self._consumed_topics]
        written = [self.topic(t) for t in self._outputs]
        acls: list[tuple[str, str, str]] = []
        for real in dict.fromkeys([*consumed, *written]):
            for topic in (real, dlq(real)):
                acls.append(("TOPIC", topic, "CREATE"))
        acls += [("TOPIC", t, "READ") for t in dict.fromkeys(consumed)]
        acls += [("TOPIC", dlq(t), "WRITE") for t in dict.fromkeys(consumed)]
        acls += [("TOPIC", t, "WRITE") for t in dict.fromkeys(written)]
        acls += [("GROUP", g, "READ") for g in dict.fromkeys(self._groups)]
        return list(dict.fromkeys(acls))

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        """Create missing topics (and their dead-letter twins) with the configured partitions
        and their size limit (`max.message.bytes`); existing topics are left as they are."""
        wanted = {self.topic(t) for t in topics}
        wanted |= {dlq(t) for t in list(wanted)}
        settings = self.settings

        def new_topic(name: str) -> NewTopic:
            limit = (
                settings.dlq_max_message_bytes
                if name.endswith(DLQ_SUFFIX)
                else settings.topic_max_message_bytes
            )
            configs = {"max.message.bytes": str(limit)}
            return NewTopic(name, settings.topic_partitions, 1, topic_configs=configs)

        async def create() -> None:
            admin = AIOKafkaAdminClient(**self.settings.client_kwargs())
            await admin.start()
            try:
                missing = wanted - set(await admin.list_topics())
                if missing:
                    new = [new_topic(t) for t in sorted(missing)]
                    with contextlib.suppress(Exception):  # a racing replica created them
                        await admin.create_topics(new)
            finally:
                await admin.close()

        await retry_until("kafka", create, self.settings.connect_timeout_seconds)

    async def start(self, extra_topics: Iterable[str] = ()) -> None:
        """Connect everything (with retries), then start consuming and background tasks."""
        timeout = self.settings.connect_timeout_seconds
        port = await self.ops.start()
        log.info("ops endpoints up", extra={"http_port": port})
        await retry_until("store", lambda: self.mongo.admin.command("ping"), timeout)
        await retry_until("kafka", self.settings.check_login, timeout)
        await self.ensure_topics([*self._consumed_topics, *self._outputs, *extra_topics])
        for hook in self._on_start:
            await hook()
        await retry_until("kafka", self.broker.start, timeout)
        self._committer = asyncio.create_task(self.dispatcher.run_committer())
        self._tasks = [asyncio.create_task(self._supervise(t)) for t in self._background]
        log.info("started", extra={"topics": [self.topic(t) for t in self._consumed_topics]})

    async def stop(self) -> None:
        """Stop background tasks, finish in-flight messages, commit, close connections."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # In-flight handlers finish and their offsets are committed while the consumers
        # still run; what was not started is delivered again after the restart.
        await self.dispatcher.close(self.settings.shutdown_timeout_seconds)
        if self._committer is not None:
            self._committer.cancel()
            await asyncio.gather(self._committer, return_exceptions=True)
        await self.broker.stop()
        await self.mongo.close()
        await self.ops.stop()
        log.info("stopped")

    async def _supervise(self, task: Callable[[], Awaitable[None]]) -> None:
        """Keep a background task alive: log and restart it if it crashes."""
        while not self._stopping:
            try:
                await task()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task crashed; restarting")
                await asyncio.sleep(1)

    async def run_until_signalled(self) -> None:
        """Start, then serve until SIGTERM or SIGINT, then stop cleanly."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        log.info("signal received; draining")
        await self.stop()

    async def _kafka_ok(self) -> bool:
        return bool(await self.broker.ping(timeout=2))

    async def _store_ok(self) -> bool:
        await self.mongo.admin.command("ping")
        return True

    async def _assigned(self) -> bool:
        """Every consumer has joined its group and been given its partitions."""
        return self.broker.running and all(listener.assigned for listener in self._listeners)


def run_service(build: Callable[[], ServiceRuntime]) -> None:
    """The `main()` of every service: JSON logs, build the runtime, run until signalled."""
    try:
        runtime = build()
    except (ValidationError, tracing.TracingSettingsError) as e:  # bad settings: one line
        configure_logging("orderflow")
        log.error("invalid settings", extra={"error": describe(e)})
        raise SystemExit(2) from e
    configure_logging(runtime.name, runtime.settings.log_level)
    try:
        asyncio.run(runtime.run_until_signalled())
    except StartupError as e:
        log.error("could not start", extra={"error": str(e)})
        raise SystemExit(1) from e
    finally:
        tracing.shutdown()  # the last spans are exported before the process ends
