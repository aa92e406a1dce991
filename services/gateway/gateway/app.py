"""gateway: the HTTP front door of orderflow, over its own read model of every event topic.

The composition root: builds the runtime, the stores, the projection's subscribers (one
per event topic), the command topics it publishes to, and the HTTP API, which uvicorn
serves beside the runtime's /metrics and /readyz. Nothing else in the service wires
anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import uvicorn
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from faststream.kafka import KafkaMessage

from contracts import topics
from contracts.channels import BY_TOPIC
from contracts.envelope import Message
from gateway import handlers
from gateway.api import create_api
from gateway.api.context import ApiDeps
from gateway.auth import Verifier
from gateway.config import GatewaySettings
from gateway.domain import Position
from gateway.store import Commands, Directory, Views, create_indexes
from servicekit.composition import settings_as
from servicekit.config import ServiceSettings
from servicekit.runtime import ServiceRuntime, run_service

NAME = "gateway"

#: Every event topic (what each carries: `contracts.channels`).
PROJECTED = (
    topics.ORDERS_EVENTS,
    topics.INVOICING_EVENTS,
    topics.PAYMENTS_EVENTS,
    topics.NOTIFICATIONS_EVENTS,
    topics.TIMERS_EVENTS,
    topics.ACCOUNTS_EVENTS,
    topics.SUPPLIERS_EVENTS,
    topics.ACCOUNTS_ANSWERS,
)
#: The command topics the API publishes to.
SENDS = (
    topics.ORDERS_COMMANDS,
    topics.INVOICING_COMMANDS,
    topics.PAYMENTS_COMMANDS,
    topics.SUPPLIERS_COMMANDS,
)


def wire(settings: ServiceSettings | None = None) -> tuple[ServiceRuntime, FastAPI]:
    """The runtime (projection, publishers) and the API app, not yet served."""
    config = settings_as(GatewaySettings, settings)
    runtime = ServiceRuntime(NAME, config)
    for topic in SENDS:
        body = BY_TOPIC[topic].messages.annotation
        runtime.output(topic, body, f"Commands sent over HTTP to {topic}")
    deps = handlers.Deps(
        views=Views(runtime.db),
        commands=Commands(runtime.db),
        directory=Directory(runtime.db),
        clock=lambda: datetime.now(UTC),
    )
    runtime.on_start(lambda: create_indexes(runtime.db))
    for topic in PROJECTED:
        _subscribe(runtime, topic, deps, config.projection_group or None)

    async def publish(topic: str, message: Message) -> None:
        await runtime.publish(topic, message)

    api = create_api(
        ApiDeps(
            settings=config,
            verifier=Verifier(config),
            views=deps.views,
            commands=deps.commands,
            directory=deps.directory,
            waiters=deps.waiters,
            publish=publish,
            clock=deps.clock,
        )
    )
    return runtime, api


def _subscribe(runtime: ServiceRuntime, topic: str, deps: handlers.Deps, group: str | None) -> None:
    body: Any = BY_TOPIC[topic].messages.annotation

    async def on_event(event: body, message: KafkaMessage) -> None:
        record: ConsumerRecord[bytes, bytes] = message.raw_message
        at = Position(
            topic=runtime.base_topic(record.topic), partition=record.partition, offset=record.offset
        )
        await handlers.project(event, at, deps)

    on_event.__annotations__["event"] = body
    runtime.subscriber(topic, group=group, title=f"gateway:{topic}")(on_event)


class _Server(uvicorn.Server):
    """uvicorn inside the runtime: the runtime, not uvicorn, handles SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the gateway and serve its API for the life of the runtime."""
    config = settings_as(GatewaySettings, settings)
    runtime, api = wire(config)
    server = _Server(
        uvicorn.Config(
            api, host=config.api_host, port=config.api_port, log_config=None, access_log=False
        )
    )

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            server.should_exit = True
            await task
            raise

    async def api_up() -> bool:
        return server.started  # /readyz says ready once the API listens too

    runtime.ops.checks["api"] = api_up
    runtime.background(serve)
    return runtime


def main() -> None:
    run_service(build)
