"""A producer the broker has put out of sequence ends the process (docs/chaos.md).

aiokafka's idempotent producer fails every send after an OutOfOrderSequenceNumber and
never recovers (aio-libs/aiokafka#1017); the chaos run found the notifier dead-lettering
every event after a broker restart while /readyz said it was fine. Any publish through
the broker that meets the error now ends the process at once, like a crash, so that its
supervisor starts it with a new producer.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber

from servicekit.deadletters import EXIT_PRODUCER_WEDGED, ConsumerGuard, GuardPolicy, producer_wedged


def guard() -> ConsumerGuard:
    async def never(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        raise AssertionError("nothing is published raw here")

    return ConsumerGuard(
        GuardPolicy("test", 1024, 3, 0.001),
        publish_raw=never,
        stopping=lambda: False,
        base_topic=lambda t: t,
    )


def test_producer_wedged_exits_with_its_own_status() -> None:
    exits: list[int] = []
    producer_wedged("test", exit=exits.append)
    assert exits == [EXIT_PRODUCER_WEDGED]


async def test_a_publish_out_of_sequence_ends_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("servicekit.deadletters.os._exit", exits.append)
    # The default argument was bound at definition: patch the function the scope calls.
    monkeypatch.setattr(
        "servicekit.deadletters.producer_wedged",
        lambda service: producer_wedged(service, exit=exits.append),
    )
    factory: Any = guard().middleware()
    middleware = factory(None, context=None)

    async def wedged(cmd: Any) -> Any:
        raise OutOfOrderSequenceNumber()

    async def fine(cmd: Any) -> str:
        return "sent"

    assert await middleware.publish_scope(fine, object()) == "sent"
    with pytest.raises(OutOfOrderSequenceNumber):
        await middleware.publish_scope(wedged, object())
    assert exits == [EXIT_PRODUCER_WEDGED]
