"""X-09 on the real broker and store: a refusal survives a crash of ordering.

ordering is killed (SIGKILL) after it refused a command but before it committed the
command's offset (the commit interval is an hour, and a killed process commits nothing),
and the order moves on before the crash so that deciding the command again would accept
it. After the restart the command is delivered again: it must get the same rejection (the
same message id), and have no effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import Party, Role
from contracts.orders import ConfirmOrder, SubmitOrder
from orderflow import commands as c
from tests.integration.ordering.test_ordering_on_the_real_stack import (
    create_managed,
    exchange,
    for_order,
    snapshot,
)
from tests.support.kafka import Record, read_topic
from tests.support.services import service_env, start

pytestmark = pytest.mark.timeout(240)

OPERATOR = Party(id="operator-1", role=Role.OPERATOR)


async def test_X09_a_refusal_redelivered_after_a_crash_is_the_same_refusal_and_changes_nothing(
    stack: Any, topic_prefix: str, database_name: str, tmp_path: Path
) -> None:
    prefix, database = f"{topic_prefix}x09.", f"{database_name}_x09"
    env = service_env(stack, prefix, database, ORDERFLOW_COMMIT_INTERVAL_SECONDS="3600")
    order_id = uuid.uuid4()
    create = create_managed(order_id)
    confirm = c.command(ConfirmOrder, OPERATOR, order_id=order_id)  # a draft: not yet theirs
    submit = c.command(SubmitOrder, create.actor, order_id=order_id)

    first = await start("ordering", env, tmp_path, name="ordering-1")
    try:
        await exchange(stack, prefix, order_id, create, answers=1)
        refusal = (await exchange(stack, prefix, order_id, confirm, answers=2))[1]
        assert refusal["type"] == "OrderCommandRejected"
        assert refusal["causation_id"] == str(confirm.message_id)
        submitted = (await exchange(stack, prefix, order_id, submit, answers=3))[2]
        assert submitted["type"] == "OrderSubmitted"  # the confirm would now be accepted
    finally:
        first.kill()

    second = await start("ordering", env, tmp_path, name="ordering-2")
    try:
        # Behind the redelivered commands in the order's partition: once it is answered,
        # every command before it has been handled again.
        marker = c.command(SubmitOrder, create.actor, order_id=order_id)
        await exchange(stack, prefix, order_id, marker, answers=4)
        records = await read_topic(
            stack.kafka_bootstrap,
            prefix + topics.ORDERS_EVENTS,
            answered(order_id, marker.message_id),
        )
    finally:
        second.terminate()

    answers = for_order(records, order_id)
    to_confirm = [a for a in answers if a["causation_id"] == str(confirm.message_id)]
    assert len(to_confirm) == 2, "the confirm was delivered again after the crash"
    assert {(a["type"], a["message_id"]) for a in to_confirm} == {
        ("OrderCommandRejected", refusal["message_id"])
    }
    assert "OrderSentToClient" not in [a["type"] for a in answers]
    stored = await snapshot(stack, database, order_id, "operator_review")
    assert [e["type"] for e in stored["events"]] == ["OrderCreated", "OrderSubmitted"]


def answered(order_id: uuid.UUID, command_id: uuid.UUID) -> Any:
    def until(records: Sequence[Record]) -> bool:
        return any(a["causation_id"] == str(command_id) for a in for_order(records, order_id))

    return until
