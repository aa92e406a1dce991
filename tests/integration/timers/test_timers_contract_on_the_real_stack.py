"""The timer service as upstream and downstream see it: X-13 answers and CloudEvents headers.

The timer service publishes expiries on its own batch path (not the outbox), so this
checks that path's headers as well as the answer to an invalid command.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from tests.integration.timers.timers_rig import Names, create_topics, drop, fast_env, names_for, now
from tests.support.kafka import Record, Upstream, read_topic
from tests.support.services import service_env, start
from tests.unit.timers.timers_kit import schedule

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def names(stack: Any, database_name: str, topic_prefix: str) -> AsyncIterator[Names]:
    names = names_for(database_name, topic_prefix)
    await create_topics(stack.kafka_bootstrap, names)
    yield names
    await drop(stack.mongodb_uri, names)


async def test_X13_an_invalid_timer_command_is_answered_and_an_expiry_carries_cloudevents_headers(
    stack: Any, names: Names, tmp_path: Path
) -> None:
    env = service_env(stack, names.prefix, names.database, **fast_env())
    process = await start("timers", env, tmp_path)
    try:
        valid = schedule("d-valid", now() + timedelta(seconds=1))
        invalid = json.loads(schedule("d-invalid", now()).model_dump_json())
        invalid["owner"] = "Not An Owner"
        async with Upstream(stack.kafka_bootstrap, names.prefix) as upstream:
            await upstream.send_raw(
                topics.TIMERS_COMMANDS, json.dumps(invalid).encode(), b"order-1"
            )
            await upstream.send(topics.TIMERS_COMMANDS, valid)

        def both(records: Sequence[Record]) -> bool:
            return {r.json()["type"] for r in records} >= {
                "TimerCommandRejected",
                "DeadlineExpired",
            }

        records = await read_topic(stack.kafka_bootstrap, names.events_topic, both, timeout=60)
    finally:
        process.terminate()

    by_type = {r.json()["type"]: r for r in records}
    rejected = by_type["TimerCommandRejected"].json()
    assert rejected["reason"] == "invalid"
    assert rejected["command_id"] == invalid["message_id"]
    assert [(e["field"], e["code"]) for e in rejected["errors"]] == [
        ("owner", "string_pattern_mismatch")
    ]
    expired = by_type["DeadlineExpired"]
    assert expired.headers["ce_type"] == "orderflow.timers.events.DeadlineExpired"
    assert expired.headers["ce_source"] == "/orderflow/timers"
    assert expired.headers["ce_id"] == expired.json()["message_id"]
    assert expired.headers["ce_specversion"] == "1.0"
    assert expired.headers["ce_time"].endswith("Z")
    assert by_type["TimerCommandRejected"].headers["ce_type"].endswith(".TimerCommandRejected")
