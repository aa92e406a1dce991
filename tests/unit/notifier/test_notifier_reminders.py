"""X-12: before a party's window closes it is reminded once, at a configurable lead; the
reminder is a timer deadline the notifier schedules, cancels when the party acts, and
ignores when it fires stale. The domain (`remind`) and the handlers, without a broker."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.envelope import Event, Role
from contracts.orders import OrderStatus
from contracts.timers import CancelDeadline, DeadlineExpired, ScheduleDeadline
from notifier import handlers
from notifier.domain import Email, EmailPolicy, OrderFacts
from notifier.domain.reminders import Close, Open, Window, remind, reminder_due, window_id
from notifier.rendering import Renderer
from tests.unit.notifier import notifier_kit as k
from tests.unit.notifier import x11_kit as x
from tests.unit.notifier.test_notifier_dispatch import MemoryFacts

LEADS = {
    "P-02": timedelta(hours=4),
    "M-09": timedelta(days=1),
    "P-13": timedelta(days=1),
    "P-15": timedelta(hours=12),
}
POLICY = dataclasses.replace(EmailPolicy(), reminder_leads=LEADS)
RENDERER = Renderer()
S = OrderStatus


def one_open(event: Event, facts: OrderFacts | None = k.POSTPAID_FACTS) -> Open:
    [action] = remind(event, facts, POLICY)
    assert isinstance(action, Open)
    return action


# -- the domain ------------------------------------------------------------------------------


def test_X12_P02_a_new_order_reminds_the_supplier_4_hours_before_its_24_hours_end() -> None:
    event = k.postpaid_created()
    reminder = one_open(event)
    assert reminder.window_id == f"notifier:P-02:{k.ORDER_ID}"
    assert reminder.due_at == k.T0 + timedelta(hours=20)
    email = reminder.email
    assert (email.template, email.recipient.address) == ("reminder_respond", "supplier@example.com")
    mail = RENDERER.render(email)
    assert mail.subject == "Reminder: please answer by Tue 4 Mar 2025, 09:00 UTC: Piano lesson"
    assert "cancelled automatically" in mail.text


def test_X12_P05_a_counter_edit_moves_the_reminder_to_the_party_now_awaited() -> None:
    reminder = one_open(k.edited(awaiting=Role.CUSTOMER))
    assert reminder.window_id == f"notifier:P-02:{k.ORDER_ID}", "the same window, replaced"
    assert reminder.email.recipient.address == "customer@example.com"


def test_X12_P06_the_party_confirming_closes_the_window() -> None:
    assert remind(x.confirmed(), k.POSTPAID_FACTS, POLICY) == [
        Close(f"notifier:P-02:{k.ORDER_ID}", k.ORDER_ID)
    ]


def test_X12_P02_a_cancellation_closes_every_window_its_flow_has() -> None:
    closed = remind(x.postpaid_cancelled(), k.POSTPAID_FACTS, POLICY)
    assert {a.window_id for a in closed} == {window_id(w, k.ORDER_ID) for w in ("P-02", "P-13")}
    assert all(isinstance(a, Close) for a in closed)
    managed = remind(k.cancelled(), k.MANAGED_FACTS, POLICY)
    assert managed == [Close(window_id("M-09", k.ORDER_ID), k.ORDER_ID)]


def test_X12_M09_the_client_is_reminded_a_day_before_the_offer_expires_with_its_link() -> None:
    event = k.sent_to_client(x.PARIS.model_copy(update={"role": Role.CLIENT}))
    reminder = one_open(event, k.MANAGED_FACTS)
    assert reminder.due_at == event.offer_valid_until - timedelta(days=1)
    mail = RENDERER.render(reminder.email)
    assert mail.subject == "Reminder: the offer expires Mon 10 Mar 2025, 10:00 CET"
    assert event.confirmation_token in mail.text


def test_X12_M09_the_client_answering_or_the_offer_expiring_closes_the_window() -> None:
    for event in (x.activated(Role.CLIENT), k.rejected("client"), x.expired(S.CLIENT_CONFIRMATION)):
        assert remind(event, k.MANAGED_FACTS, POLICY) == [
            Close(f"notifier:M-09:{k.ORDER_ID}", k.ORDER_ID)
        ]


def test_X12_P13_the_customer_is_reminded_to_confirm_the_service() -> None:
    reminder = one_open(k.service_done())
    assert reminder.due_at == k.T0 + timedelta(days=4)
    assert reminder.email.template == "reminder_confirm_service"
    assert reminder.email.recipient.role is Role.CUSTOMER
    [closed] = remind(k.execution_confirmed(S.PAYMENT), k.POSTPAID_FACTS, POLICY)
    assert closed == Close(f"notifier:P-13:{k.ORDER_ID}", k.ORDER_ID)


def test_X12_P15_the_payment_reminder_is_keyed_by_its_request_and_closed_by_payment() -> None:
    reminder = one_open(k.payment_requested())
    assert reminder.window_id == f"notifier:P-15:{k.ORDER_ID}:req-1"
    assert reminder.due_at == k.T0 + timedelta(hours=60)
    mail = RENDERER.render(reminder.email)
    assert mail.subject == "Reminder: 40.00 EUR due by Thu 6 Mar 2025, 09:00 UTC"
    for closing in (x.settled(), k.payment_overdue()):
        assert remind(closing, k.POSTPAID_FACTS, POLICY) == [
            Close(f"notifier:P-15:{k.ORDER_ID}:req-1", k.ORDER_ID)
        ]


def test_X12_P21_the_money_given_up_ends_the_payment_reminder_of_its_request() -> None:
    """P-21: a claim written off or lapsed names the request, and closes its window; the
    order closed unpaid names none, so it asks no cancel of a window it cannot name."""
    for closing in (x.claim_written_off(), x.claim_lapsed()):
        assert remind(closing, k.POSTPAID_FACTS, POLICY) == [
            Close(f"notifier:P-15:{k.ORDER_ID}:req-1", k.ORDER_ID)
        ]
    assert remind(x.closed_unpaid(), k.POSTPAID_FACTS, POLICY) == []


def test_X12_M18_M19_A13_a_return_withdrawal_or_refusal_opens_and_closes_no_window() -> None:
    """They happen before any party's window opens (operator_review, an account order)."""
    for event, facts in (
        (x.returned(), k.MANAGED_FACTS),
        (x.withdrawn(), k.MANAGED_FACTS),
        (x.discarded(), k.MANAGED_FACTS),
        (x.approval_refused(), x.AGENT_FACTS),
        (x.approval_overdue(), x.AGENT_FACTS),
    ):
        assert remind(event, facts, POLICY) == [], event.type


def test_X12_a_window_shorter_than_its_lead_or_a_lead_of_zero_reminds_nobody() -> None:
    short = dataclasses.replace(POLICY, reminder_leads={**LEADS, "P-02": timedelta(days=2)})
    assert remind(k.postpaid_created(), None, short) == []
    off = dataclasses.replace(POLICY, reminder_leads={**LEADS, "P-15": timedelta(0)})
    assert remind(k.payment_requested(), k.POSTPAID_FACTS, off) == []


def test_X12_the_reminder_email_has_one_id_per_opening_so_it_is_sent_once() -> None:
    event = k.postpaid_created()
    assert one_open(event, None).email.key == one_open(event, None).email.key
    assert one_open(k.postpaid_created(), None).email.key != one_open(event, None).email.key


# -- the handlers ------------------------------------------------------------------------------


class MemoryWindows:
    def __init__(self) -> None:
        self.windows: dict[str, Window] = {}

    async def open(self, window: Open) -> None:
        self.windows[window.window_id] = Window(
            window.window_id, True, str(window.opened_by), window.closes_at, window.email
        )

    async def close(self, window_id: str) -> None:
        if window_id in self.windows:
            self.windows[window_id] = dataclasses.replace(self.windows[window_id], open=False)

    async def get(self, window_id: str) -> Window | None:
        return self.windows.get(window_id)


class Rig:
    def __init__(self) -> None:
        self.facts = MemoryFacts()
        self.windows = MemoryWindows()
        self.submitted: list[Email] = []
        self.commands: list[Any] = []
        self.now = datetime(2025, 3, 3, 9, tzinfo=UTC)
        self.deps = handlers.Deps(
            facts=self.facts,
            dispatcher=self,
            policy=POLICY,
            windows=self.windows,
            publish=self.publish,
            clock=lambda: self.now,
        )

    @property
    def reminded(self) -> list[Email]:
        return [e for e in self.submitted if e.template.startswith("reminder_")]

    async def submit(self, emails: Any) -> int:
        self.submitted.extend(emails)
        return len(emails)

    async def publish(self, topic: str, *messages: Any) -> None:
        assert topic == "timers.commands"
        self.commands.extend(messages)

    async def fire(self, command: ScheduleDeadline, generation: int = 1) -> None:
        await handlers.handle_deadline(
            DeadlineExpired(
                message_id=uuid.uuid4(),
                occurred_at=command.due_at,
                correlation_id=command.correlation_id,
                actor=command.actor,
                deadline_id=command.deadline_id,
                order_id=command.order_id,
                owner=command.owner,
                kind=command.kind,
                generation=generation,
                payload=command.payload,
                due_at=command.due_at,
                fired_at=command.due_at,
                lateness_ms=0,
                late=False,
            ),
            self.deps,
        )


async def test_X12_opening_a_window_schedules_one_deadline_again_on_redelivery() -> None:
    rig = Rig()
    event = k.postpaid_created()
    await handlers.handle_event(event, rig.deps)
    await handlers.handle_event(event, rig.deps)
    schedules = [c for c in rig.commands if isinstance(c, ScheduleDeadline)]
    assert len(schedules) == 2 and schedules[0] == schedules[1], "the same command, same id"
    [command] = schedules[:1]
    assert (command.owner, command.kind, command.deadline_id) == (
        "notifier",
        "reminder.P-02",
        f"notifier:P-02:{k.ORDER_ID}",
    )
    assert command.due_at == k.T0 + timedelta(hours=20)
    assert command.order_id == str(k.ORDER_ID)


async def test_X12_a_reminder_that_fires_while_the_window_is_open_is_sent_once() -> None:
    rig = Rig()
    await handlers.handle_event(k.postpaid_created(), rig.deps)
    [command] = rig.commands
    await rig.fire(command)
    await rig.fire(command, generation=2)  # the timer fired twice
    assert [e.template for e in rig.reminded] == ["reminder_respond"] * 2
    assert rig.reminded[0].key == rig.reminded[1].key, "one delivery: claimed once"


async def test_X12_the_party_acting_cancels_the_deadline_and_a_late_firing_sends_nothing() -> None:
    rig = Rig()
    await rig.facts.remember(k.POSTPAID_FACTS)
    await handlers.handle_event(k.postpaid_created(), rig.deps)
    confirmed = x.confirmed()
    await handlers.handle_event(confirmed, rig.deps)
    schedule, cancel = rig.commands[0], rig.commands[-1]
    assert isinstance(cancel, CancelDeadline)
    assert (cancel.deadline_id, cancel.order_id) == (schedule.deadline_id, schedule.order_id)
    await rig.fire(schedule)  # fired before the cancellation reached the timer service
    assert rig.reminded == []
    assert rig.submitted[-1].template == "order_confirmed"


async def test_X12_a_reminder_of_a_replaced_window_is_stale() -> None:
    rig = Rig()
    await rig.facts.remember(k.POSTPAID_FACTS)
    await handlers.handle_event(k.postpaid_created(), rig.deps)
    first = rig.commands[0]
    await handlers.handle_event(k.edited(awaiting=Role.CUSTOMER), rig.deps)
    second = rig.commands[-1]
    assert second.deadline_id == first.deadline_id and second.payload != first.payload
    await rig.fire(first)
    assert rig.reminded == []
    await rig.fire(second)
    [reminder] = rig.reminded
    assert reminder.recipient.address == "customer@example.com"


async def test_X12_other_owners_deadlines_are_not_the_notifiers() -> None:
    rig = Rig()
    await handlers.handle_event(k.postpaid_created(), rig.deps)
    [command] = rig.commands
    await rig.fire(command.model_copy(update={"owner": "ordering"}))
    assert rig.reminded == []


async def test_X12_a_reminder_firing_after_its_window_closed_by_time_is_stale() -> None:
    rig = Rig()
    await handlers.handle_event(k.postpaid_created(), rig.deps)
    [command] = rig.commands
    rig.now = k.T0 + timedelta(hours=25)  # the notifier was behind: the window is over
    await rig.fire(command)
    assert rig.reminded == []


def test_X12_reminder_due_only_for_the_open_window_its_deadline_was_set_for() -> None:
    opened = one_open(k.postpaid_created())
    by = str(opened.opened_by)
    window = Window(opened.window_id, True, by, opened.closes_at, opened.email)
    assert reminder_due(window, by, opened.due_at) == opened.email
    assert reminder_due(window, "another opening", opened.due_at) is None
    assert reminder_due(dataclasses.replace(window, open=False), by, opened.due_at) is None
    assert reminder_due(window, by, opened.closes_at) is None
    assert reminder_due(None, by, opened.due_at) is None
