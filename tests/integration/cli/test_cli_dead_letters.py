"""`orderflow dlq`: a dead letter is listed and replayed to its topic, bytes unchanged."""

from __future__ import annotations

from typing import Any

from orderflow.deadletters import list_letters, replay_letter
from tests.support.kafka import Upstream, count, read_topic


async def test_a_dead_letter_is_replayed_to_its_source_topic_with_its_original_bytes(
    stack: Any, topic_prefix: str
) -> None:
    source, dlq = f"{topic_prefix}cli.orders.commands", f"{topic_prefix}cli.orders.commands.dlq"
    async with Upstream(stack.kafka_bootstrap) as upstream:
        await upstream.send_record(
            dlq,
            b'{"type": "SubmitOrder"}',
            key=b"order-1",
            headers=[
                ("x-dlq-reason", b"invalid"),
                ("x-dlq-error", b"order_id: Field required"),
                ("x-dlq-service", b"ordering"),
                ("x-dlq-source", f"{source}/0/41".encode()),
                ("trace", b"abc"),
            ],
        )

    [letter] = await list_letters(stack.kafka_bootstrap, dlq)
    assert "invalid" in letter.summary() and "ordering" in letter.summary()
    target = await replay_letter(stack.kafka_bootstrap, dlq, letter.offset)
    assert target == source

    [replayed] = await read_topic(stack.kafka_bootstrap, source, count(1))
    assert replayed.value == b'{"type": "SubmitOrder"}'
    assert replayed.key == b"order-1"
    assert replayed.headers["trace"] == "abc"
    assert "x-dlq-reason" not in replayed.headers
    assert replayed.headers["x-replayed-from"] == f"{dlq}/{letter.partition}/{letter.offset}"
