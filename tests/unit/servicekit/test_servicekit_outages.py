"""A store or broker outage is waited out, not dead-lettered (the consumer guard).

PyMongo pauses its pool after a server goes away and fails fast with ``AutoReconnect``
until the server answers again; three quick retries used to dead-letter every message in
flight during a FerretDB restart. The guard retries such errors for its outage patience
without using up the handler's retries; a real bug in a handler still gets its N retries.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from pymongo.errors import AutoReconnect

from servicekit.deadletters import ConsumerGuard, GuardPolicy, is_outage


class Guard(ConsumerGuard):
    """The real guard, with dead letters recorded instead of published."""

    def __init__(self, *, retries: int, patience: float) -> None:
        super().__init__(
            GuardPolicy("test", 1024, retries, 0.001, outage_patience_seconds=patience),
            publish_raw=self._never,
            stopping=lambda: False,
            base_topic=lambda t: t,
        )
        self.dead: list[str] = []

    async def _never(
        self, topic: str, value: bytes, key: bytes | None, headers: dict[str, str]
    ) -> None:
        raise AssertionError("nothing is published raw in these tests")

    async def dead_letter(self, record: Any, topic: str, reason: str, error: str) -> None:
        self.dead.append(error)


def failing(errors: list[BaseException]) -> Any:
    """A handler that raises each of `errors` in turn, then returns "done"."""
    calls = iter(errors)

    async def handler(msg: Any) -> str:
        error = next(calls, None)
        if error is not None:
            raise error
        return "done"

    return handler


RECORD: Any = SimpleNamespace(value=b"{}")


async def test_a_handler_failing_while_the_store_restarts_is_retried_until_it_is_back() -> None:
    guard = Guard(retries=1, patience=30.0)
    handler = failing([AutoReconnect("connection pool paused")] * 6)

    outcome = await guard._attempt(handler, None, RECORD, {"type": "X"}, "orders.events")  # type: ignore[arg-type]

    assert outcome == ("ok", "done")
    assert guard.dead == []


async def test_a_broker_outage_is_waited_out_like_a_store_outage() -> None:
    guard = Guard(retries=0, patience=30.0)
    handler = failing([KafkaConnectionError("no broker")] * 3)

    assert await guard._attempt(handler, None, RECORD, {}, "t") == ("ok", "done")  # type: ignore[arg-type]


async def test_an_outage_longer_than_the_patience_dead_letters_the_message() -> None:
    guard = Guard(retries=3, patience=0.01)
    handler = failing([AutoReconnect("connection pool paused")] * 10_000)

    assert await guard._attempt(handler, None, RECORD, {}, "t") == ("dead_lettered", None)  # type: ignore[arg-type]
    assert guard.dead == ["AutoReconnect: connection pool paused"]


async def test_a_real_handler_bug_still_gets_only_its_retries() -> None:
    guard = Guard(retries=2, patience=30.0)
    handler = failing([RuntimeError("bug")] * 3)

    assert await guard._attempt(handler, None, RECORD, {}, "t") == ("dead_lettered", None)  # type: ignore[arg-type]
    assert guard.dead == ["RuntimeError: bug"]


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (AutoReconnect("x"), True),
        (KafkaConnectionError("x"), True),
        (RuntimeError("x"), False),
        (ValueError("x"), False),
    ],
)
def test_only_unreachable_servers_count_as_an_outage(error: BaseException, outage: bool) -> None:
    assert is_outage(error) is outage
