"""Command handlers: parse, load, decide, save, wake the scheduler. No rule lives here.

X-09: a refused command's rejection is recorded by its message id, and a command found
refused before is answered with that rejection again, never decided again (the deadline
may have changed since, or time passed, so that it would now be accepted). The record is
read at the same time as the deadline, so the common path waits for no extra round trip.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter

from contracts.envelope import SYSTEM, derived_id
from contracts.timers import (
    AggregateKey,
    CancelDeadline,
    DeadlineId,
    RescheduleDeadline,
    ScheduleDeadline,
    TimerCommand,
    TimerCommandRejected,
)
from servicekit.decisions import Rejection, rejection_fields
from servicekit.invalid import InvalidCommand
from timers import metrics
from timers.domain import Decision, Limits, decide_cancel, decide_reschedule, decide_schedule
from timers.store import Outcome, ScheduleStore

log = logging.getLogger("timers.handlers")


@dataclass(frozen=True)
class Deps:
    store: ScheduleStore
    limits: Limits
    clock: Callable[[], datetime]
    #: Wakes the firing loop when a deadline sooner than its next wake-up was scheduled.
    notify: Callable[[datetime], None]
    publish_rejection: Callable[[TimerCommandRejected], Awaitable[None]]


async def handle_command(command: TimerCommand, deps: Deps) -> Outcome:
    """Apply one timer command; a refused one is answered with `TimerCommandRejected`."""
    now = deps.clock()
    current, refused = await asyncio.gather(
        deps.store.get(command.deadline_id, now),
        deps.store.refusal_of(command.message_id, command.occurred_at),
    )
    if refused is not None:
        await deps.publish_rejection(TimerCommandRejected.model_validate_json(refused))
        return Outcome.NOTHING
    match command:
        case ScheduleDeadline():
            decision = decide_schedule(current, command, now, deps.limits)
        case RescheduleDeadline():
            decision = decide_reschedule(current, command, now, deps.limits)
        case CancelDeadline():
            decision = decide_cancel(current, command, now)
        case _:
            raise TypeError(f"not a timer command: {command.type}")
    return await _apply(command, decision, now, deps)


async def _apply(command: TimerCommand, decision: Decision, now: datetime, deps: Deps) -> Outcome:
    if (refusal := decision.rejection) is not None:
        metrics.REJECTED.labels(refusal.reason.value).inc()
        log.info(
            "timer command rejected",
            extra={"deadline_id": command.deadline_id, "reason": refusal.reason.value},
        )
        answer = rejected(command, refusal, now).model_dump_json()
        first = await deps.store.record_refusal(command.message_id, command.occurred_at, answer)
        await deps.publish_rejection(TimerCommandRejected.model_validate_json(first))
        return Outcome.NOTHING
    outcome = await deps.store.save(decision, now)
    deadline = decision.deadline
    if deadline is not None and outcome is Outcome.SAVED:
        deps.notify(deadline.due_at)
    if deadline is not None and not decision.repeat:
        if outcome is Outcome.SAVED:
            metrics.SCHEDULED.labels(deadline.owner).inc()
        elif outcome is Outcome.CANCELLED:
            metrics.CANCELLED.labels(deadline.owner).inc()
    log.debug(
        "timer command applied",
        extra={"deadline_id": command.deadline_id, "type": command.type, "outcome": outcome.value},
    )
    return outcome


def rejected(command: TimerCommand, refusal: Rejection, now: datetime) -> TimerCommandRejected:
    message_id = derived_id(command.message_id, 0, "rejected")
    return TimerCommandRejected(
        **rejection_fields(command, refusal, message_id=message_id, now=now, actor=SYSTEM),
        deadline_id=command.deadline_id,
        order_id=command.order_id,
    )


def invalid_command(command: InvalidCommand) -> TimerCommandRejected:
    """X-13: the answer to a command whose content is invalid (its deadline id and key
    must read)."""
    body = command.body
    return TimerCommandRejected(
        **command.answer_fields(SYSTEM),
        deadline_id=TypeAdapter(DeadlineId).validate_python(body.get("deadline_id")),
        order_id=TypeAdapter(AggregateKey).validate_python(body.get("order_id")),
    )
