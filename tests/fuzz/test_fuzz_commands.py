"""X-07, X-13 under fuzzed input: whatever lands on a command topic, the services answer it
(its events, or a rejection with a reason) or dead-letter it, and go on.

Each example is a batch of records of any command topic, generated from the published
schemas (tests/fuzz/schemas.py) and mutated or not (tests/fuzz/messages.py). After the
batch a valid sentinel goes to every command topic; once each sentinel is answered (the
later marker: the consumers did not stall), every record of the batch must have an answer
or a dead letter, every consumer group must have committed past it, and every service
process must still run.
"""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from tests.fuzz.conftest import PROFILE, TIMEOUT, FuzzSystem
from tests.fuzz.harness import Sent, unhandled
from tests.fuzz.messages import Recipe, expected_id, is_valid, recipes
from tests.fuzz.schemas import COMMAND_TOPICS

#: The dead-letter reason of a handler that kept raising (servicekit/deadletters.py).
HANDLER_FAILED = "handler_failed"

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz, pytest.mark.timeout(TIMEOUT)]


async def send_batch(system: FuzzSystem, batch: list[Recipe]) -> list[Sent]:
    """Send each recipe's record; where it landed, and the id it can be answered by."""
    sent = []
    for recipe in batch:
        key, value = recipe.record()
        landed = await system.upstream.send_raw(recipe.topic, value, key)
        sent.append(
            Sent(
                landed.topic,
                landed.partition,
                landed.offset,
                expected_id(value),
                recipe.mutation,
                recipe.type,
                is_valid(recipe.topic, value),
            )
        )
    return sent


async def check_batch(system: FuzzSystem, batch: list[Recipe]) -> None:
    """Send the batch, then the sentinels; every record answered, handled, nobody down."""
    sent = await send_batch(system, batch)
    sentinels = [await system.sentinel(topic) for topic in COMMAND_TOPICS]
    for message in sentinels:
        try:
            await system.observer.answer(str(message.message_id), timeout=60)
        except TimeoutError:
            pytest.fail(f"{message.type} (sentinel) not answered: {system.crashed()}")
    lost = await system.observer.settle(sent, timeout=60)
    assert not lost, "neither answered nor dead-lettered: " + "; ".join(map(str, lost))
    outcomes = {record: system.observer.outcome(record) or "accepted silently" for record in sent}
    for record, outcome in outcomes.items():  # shown by --hypothesis-show-statistics
        if currently_in_test_context():  # not in the regression tests' plain batches
            event(f"{record.mutation}: {outcome}")
    # Bad input is refused or dead-lettered for what it is; a handler that raised until its
    # retries ran out is a bug of the service, whatever the input.
    failed = [
        r for r, outcome in outcomes.items() if outcome == f"dead-lettered ({HANDLER_FAILED})"
    ]
    assert not failed, "handlers failed (see the service logs): " + "; ".join(map(str, failed))
    # a valid command is answered, accepted or refused; never a dead letter (a
    # handler raising a ValidationError of its own is dead-lettered as `invalid`).
    dropped = [r for r, outcome in outcomes.items() if r.valid and outcome.startswith("dead")]
    assert not dropped, "valid commands dead-lettered: " + "; ".join(
        f"{r} {outcomes[r]}" for r in dropped
    )
    stalled = await unhandled(system.stack.kafka_bootstrap, system.prefix, sent)
    assert not stalled, "no consumer committed past: " + "; ".join(map(str, stalled))
    assert not system.crashed(), f"services down: {system.crashed()}"


@PROFILE
@given(batch=st.lists(recipes(), min_size=1, max_size=16))
async def test_X07_X13_every_fuzzed_command_is_answered_or_dead_lettered_and_the_next_is_processed(
    fuzz_system: FuzzSystem, batch: list[Recipe]
) -> None:
    await check_batch(fuzz_system, batch)
