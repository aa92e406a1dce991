"""What every stateful domain fuzzer (tests/unit/*/test_*_stateful.py) checks the same
way, so that each machine keeps only its own rules (issue 20):

    DomainMachine                 a hypothesis machine that keeps the steps it took
      .decided(decide, what)      X-09: the same message decided again on the same state
                                  gives the same decision (a redelivery's duplicate)
      .answered(decision, ...)    X-07: events, or a refusal answering the very command with
                                  a machine-readable reason, and nothing else
      .moved(table, ...)          X-01: the table allows the move
    ways_out(table, status, ...)  X-10: the rows that lead out of a status
    machine_test(machine)         the machine's TestCase under the fuzz run's budget
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from hypothesis import event
from hypothesis.stateful import RuleBasedStateMachine

from contracts.envelope import Message
from servicekit.decisions import Decision
from servicekit.tables import Row, Table, Via
from tests.fuzz.stateful import machine_settings

D = TypeVar("D", bound=Decision[Any, Any])
S = TypeVar("S", bound=StrEnum)


class DomainMachine(RuleBasedStateMachine):
    """One aggregate moved by random valid messages; `steps` says how it got here."""

    #: The fields two decisions of the same message on the same state must agree on.
    SAME: ClassVar[tuple[str, ...]] = (
        "events",
        "deadlines",
        "commands",
        "rejection",
        "rejection_event",
    )

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[str] = []

    def decided(self, decide: Callable[[], D], what: str) -> D:
        """X-09: `decide()` twice gives the same answer, ids, commands and deadlines (the
        handler's dedupe relies on it: a redelivery re-publishes the duplicate)."""
        one, again = decide(), decide()
        same = all(getattr(one, name) == getattr(again, name) for name in self.SAME)
        assert same, f"X-09: {what} decided twice differently"
        return one

    def answered(
        self,
        decision: Decision[Any, Any],
        message: Message,
        rejected: type[Message],
        reasons: Collection[str],
    ) -> bool:
        """X-07: whether `message` was refused; accepted, it has events, refused, only a
        rejection of the very command with one of `reasons` (its `rejected` event)."""
        if decision.rejection is None and decision.rejection_event is None:
            assert decision.events, f"X-07: {message.type} accepted with no event"
            return False
        assert decision.events == [] and decision.deadlines == [] and not decision.commands
        assert isinstance(decision.rejection_event, rejected)
        answer: Any = decision.rejection_event
        assert answer.command_id == message.message_id
        reason = decision.rejection.reason.value if decision.rejection else answer.reason
        assert reason in reasons
        event(f"{message.type}: {reason}")
        return True

    def moved(
        self, table: Table[S], source: S | None, trigger: str, target: S | None, what: str
    ) -> None:
        """X-01: `trigger` may lead `what` from `source` to `target`."""
        assert table.allows(source, trigger, target), (
            f"X-01: {trigger} led {what} from {source} to {target}"
        )


def ways_out(table: Table[S], status: S, waits: Callable[[str], bool]) -> list[Row[S]]:
    """X-10: the rows that lead out of `status`: a command someone may send, an event, or a
    deadline trigger the aggregate `waits` for."""
    return [
        r
        for r in table.rows
        if r.source is status
        and r.targets - {status}
        and (
            (r.via is Via.COMMAND and r.roles)
            or (r.via is Via.DEADLINE and waits(r.trigger))
            or r.via is Via.EVENT
        )
    ]


def machine_test(machine: type[RuleBasedStateMachine]) -> Any:
    """The machine's TestCase, run under the fuzz run's budget (tests/fuzz/stateful.py)."""
    machine.TestCase.settings = machine_settings()
    return machine.TestCase
