"""timers: keeps every deadline of the order flows and says when one falls due (X-02, X-03).

The composition root: builds the runtime, the schedule store, the scheduler and the
handlers' dependencies, and registers the command handler. Nothing else wires anything.

    timers.commands ──▶ handle_command ──▶ MongoScheduleStore ◀── Scheduler ──▶ timers.events
                              │ notify (a sooner deadline)            ▲
                              └────────────────────────────────────────┘
"""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from typing import Any

from contracts import topics
from contracts.timers import DeadlineExpired
from servicekit.composition import Input, Output, settings_as, wire
from servicekit.config import ServiceSettings
from servicekit.metrics import PUBLISHED
from servicekit.runtime import ServiceRuntime, run_service
from timers import handlers
from timers.config import TimersSettings
from timers.scheduler import Scheduler, pipelined, utc_now
from timers.store import MongoScheduleStore

NAME = "timers"
OUTPUTS = (Output(topics.TIMERS_EVENTS, "Expired deadlines, rejections"),)
INPUTS = (Input(topics.TIMERS_COMMANDS, handlers.handle_command, invalid=handlers.invalid_command),)


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the timer service. `settings` overrides the environment (tests, docs)."""
    config = settings_as(TimersSettings, settings)
    runtime = ServiceRuntime(NAME, config)
    store = MongoScheduleStore(runtime.db, runtime.mongo[config.wheel_database_name], config)

    events_topic = runtime.topic(topics.TIMERS_EVENTS)

    async def enqueue(event: DeadlineExpired) -> Awaitable[Any]:
        # Not awaiting the acknowledgement here lets a whole batch share one round trip.
        delivery = await runtime.broker.publish(
            event.model_dump_json().encode(),
            topic=events_topic,
            key=event.kafka_key(),
            headers=runtime.headers(topics.TIMERS_EVENTS, event),
            correlation_id=str(event.correlation_id),
            no_confirm=True,
        )
        PUBLISHED.labels(NAME, topics.TIMERS_EVENTS).inc()
        return delivery

    scheduler = Scheduler(store, pipelined(enqueue), config, clock=utc_now)
    deps = handlers.Deps(
        store=store,
        limits=config.limits(),
        clock=utc_now,
        notify=scheduler.notify,
        publish_rejection=partial(runtime.publish, topics.TIMERS_EVENTS),
    )
    # The fixed collections exist before anything is consumed or reported ready (a new
    # store: a few hundred of them); the scheduler's own `prepare` then finds them all.
    runtime.on_start(store.prepare)
    runtime.background(scheduler.run)
    return wire(runtime, deps, OUTPUTS, INPUTS)


def main() -> None:
    run_service(build)
