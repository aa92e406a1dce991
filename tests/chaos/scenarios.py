"""The orders the chaos run streams: each a seed path through one flow, and what it must end in.

Every scenario drives one order the way upstream does (commands on `*.commands`, the
gateway's payments and payout confirmations) and states its expectation up front: the
order's final status, the exact count of each event type it must have on each topic,
and the emails it must cause, by (recipient role, template). Windows are compressed to
seconds (`CHAOS_DURATIONS`), and every window a driver must act *inside* is long enough
to survive an outage of a service or a server; the ones meant to expire are short. A
post-paid appointment starts `Drive.appointment_lead` seconds after its booking.

    managed_completed        M-05 M-08 M-10 M-12 M-16: operator and client confirm, one
                             invoice drafted and issued, completed (the period has ended)
    managed_rejected         M-05 M-09: the operator rejects
    postpaid_lapsed          P-02: nobody confirms; cancelled by the clock
    postpaid_paid            P-06 P-12 P-13 P-15 P-18: done and confirmed by the clock,
                             paid, closed, paid out
    postpaid_captured        P-14 P-18: no payment stage: closed, price captured, paid out
    postpaid_cancelled_fee   P-11 P-18: cancelled by the customer inside 24 h: a 50 % fee,
                             charged, paid, paid out
    account_completed        A-07 A-10 A-11: placed and completed at once, receipt, billed
                             by the next bill-cycle run of its account
    gateway_rejected         X-09 M-05 M-09: created and submitted through the gateway's
                             HTTP API, each request retried with its Idempotency-Key
                             through a gateway killed mid-request; the operator rejects
                             (started by the gateway fault, not by the stream)

Deliberate poison (`POISONS`) goes to four topics: not JSON, an unknown type, an invalid
command, and not JSON on accounts.events (read by two services: two dead letters).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from contracts import topics
from contracts.envelope import Party, Role
from contracts.orders import (
    CancelOrder,
    ConfirmAsClient,
    ConfirmOrder,
    CreateOrder,
    Money,
    OrderParty,
    PlaceOrder,
    PlannedInvoice,
    RejectOrder,
    SubmitOrder,
)
from contracts.payments import ConfirmPayoutSent, RecordPayment
from orderflow import commands as c
from orderflow.kafka import Upstream
from tests.chaos.traffic import GatewayClient, Watcher
from tests.e2e.timeline import InvoiceCalendar

ORDERS = topics.ORDERS_COMMANDS
PAYMENTS = topics.PAYMENTS_COMMANDS

#: The services' settings for the run (see each service's config.py).
CHAOS_DURATIONS = {
    "ORDERFLOW_CONFIRMATION_WINDOW": "30",  # P-02: lapses on purpose; others confirm at once
    "ORDERFLOW_PROPOSAL_LAPSE": "30",  # P-09 (unused)
    "ORDERFLOW_AUTO_DONE_AFTER": "3",  # P-12: by the clock, nobody races it
    "ORDERFLOW_AUTO_CONFIRM_AFTER": "3",  # P-13: by the clock, nobody races it
    "ORDERFLOW_PAYMENT_WINDOW": "600",  # P-15: the gateway pays inside it, however late
    "ORDERFLOW_PAYOUT_DELAY": "3",  # P-18
    "ORDERFLOW_BILL_CYCLE_EVERY": "8",
    # A killed notifier's deliveries are taken over once their lease (here the least the
    # SMTP timeout allows: 2 x (2 x 3 s + 10 s)) has expired; looked for every 2 s.
    "ORDERFLOW_SMTP_TIMEOUT_SECONDS": "3",
    "ORDERFLOW_EMAIL_LEASE": "30",
    "ORDERFLOW_EMAIL_RECOVERY_INTERVAL": "2",
    # the retry budget the SMTP faults are measured against (EMAIL_BUDGET): an
    # email whose attempts all fall in an outage fails after 30 s, one refused with a 5xx
    # at once; any other email is sent exactly once.
    "ORDERFLOW_EMAIL_MAX_ATTEMPTS": "10",
    "ORDERFLOW_EMAIL_RETRY_FIRST_DELAY": "1",
    "ORDERFLOW_EMAIL_RETRY_MAX_DELAY": "5",
    "ORDERFLOW_EMAIL_RETRY_WITHIN": "30",
    # A killed timer replica's claims are fired by the next one after this lease.
    "ORDERFLOW_LEASE_SECONDS": "5",
    "ORDERFLOW_NUMBERING_REPAIR_SECONDS": "5",
    "ORDERFLOW_CONNECT_TIMEOUT_SECONDS": "120",
}

#: How long after an SMTP fault an email may still fail of it: the retry budget (no
#: attempt starts later than `within` after the first), its last delay and a margin.
EMAIL_BUDGET = 30.0 + 5.0 + 10.0
#: The timers' claim lease (ORDERFLOW_LEASE_SECONDS): a pause must outlast it.
LEASE = float(CHAOS_DURATIONS["ORDERFLOW_LEASE_SECONDS"])

#: Invoicing's compressed calendar: days of 6 s, drafts 3 s ahead of their date.
DAY, LEAD = 6.0, 3.0


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


@dataclass
class Expected:
    """What one order must end in, whatever the faults."""

    scenario: str
    order_id: str
    status: str
    viewer: Party
    order_events: Counter[str]
    payment_events: Counter[str] = field(default_factory=Counter)
    #: invoicing.events keyed by the order (a managed order's own invoices)
    invoicing_events: Counter[str] = field(default_factory=Counter)
    #: (recipient role, template) of every email about the order
    emails: Counter[tuple[str, str]] = field(default_factory=Counter)
    account_id: str | None = None
    #: a managed order's invoices: their issuer (the member) and how many
    issuer: str | None = None
    invoices: int = 0
    #: sent through the gateway with Idempotency-Keys: a command the order's service
    #: rejects is a request that reached it twice (a second effect refused), a duplicate
    via_gateway: bool = False


@dataclass
class Drive:
    """What a scenario drives and watches the system with."""

    upstream: Upstream
    watcher: Watcher
    run_id: str
    calendar: InvoiceCalendar
    #: One member for every managed order: its invoices share one gap-free series.
    member: OrderParty
    accounts: list[tuple[str, str]]
    timeout: float = 240.0
    #: Seconds a postpaid appointment starts after it is booked: a booking handled late
    #: (ordering killed, Kafka away, a backlog) must still find it in the future (P-01).
    appointment_lead: float = 60.0
    #: the gateway's API, when the run has the gateway fault
    gateway: GatewayClient | None = None

    def person(self, role: Role) -> OrderParty:
        tag = f"{role.value}-{uuid.uuid4().hex[:8]}"
        return c.party(tag, role, f"{tag}@{self.run_id}.chaos.example.com")

    async def wait(self, order_id: object, *types: str) -> dict[str, object]:
        return await self.watcher.first(order_id, *types, timeout=self.timeout)


Scenario = Callable[[Drive, Callable[[Expected], None]], Awaitable[None]]


def _counts(*types: str) -> Counter[str]:
    return Counter(types)


async def managed_completed(d: Drive, expect: Callable[[Expected], None]) -> None:
    client, order_id = d.person(Role.CLIENT), uuid.uuid4()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    terms = c.managed_terms(
        description="Chaos care",
        service_start=yesterday - timedelta(days=30),
        service_end=yesterday,
        planned_invoices=[
            PlannedInvoice(invoice_date=d.calendar.first_day(20), amount=eur("10.00"))
        ],
    )
    expect(
        Expected(
            "managed_completed",
            str(order_id),
            "completed",
            d.member.party,
            _counts(
                "OrderCreated",
                "OrderSubmitted",
                "OrderSentToClient",
                "OrderActivated",
                "ServicePeriodEnded",
                "InvoicingCompleted",
                "OrderCompleted",
            ),
            invoicing_events=_counts("InvoicePlanned", "InvoiceDrafted", "InvoiceIssued"),
            emails=Counter(
                [
                    ("client", "client_confirmation_request"),
                    ("client", "invoice_issued"),
                    ("member", "invoice_draft_ready"),
                    ("member", "order_activated"),
                ]
            ),
            issuer=d.member.id,
            invoices=1,
        )
    )
    member = d.member
    await d.upstream.send(
        ORDERS,
        c.command(
            CreateOrder, member.party, order_id=order_id, parties=[member, client], terms=terms
        ),
        c.command(SubmitOrder, member.party, order_id=order_id),
        c.command(ConfirmOrder, c.OPERATOR, order_id=order_id),
    )
    sent = await d.wait(order_id, "OrderSentToClient")
    token = str(sent["confirmation_token"])
    await d.upstream.send(
        ORDERS, c.command(ConfirmAsClient, client.party, order_id=order_id, token=token)
    )
    await d.wait(order_id, "OrderCompleted")


async def managed_rejected(d: Drive, expect: Callable[[Expected], None]) -> None:
    member, client, order_id = d.person(Role.MEMBER), d.person(Role.CLIENT), uuid.uuid4()
    expect(
        Expected(
            "managed_rejected",
            str(order_id),
            "rejected",
            member.party,
            _counts("OrderCreated", "OrderSubmitted", "OrderRejected"),
            emails=Counter([("member", "order_rejected")]),
        )
    )
    await d.upstream.send(
        ORDERS,
        c.command(
            CreateOrder,
            member.party,
            order_id=order_id,
            parties=[member, client],
            terms=c.managed_terms(description="Chaos refused"),
        ),
        c.command(SubmitOrder, member.party, order_id=order_id),
        c.command(RejectOrder, c.OPERATOR, order_id=order_id, reason="Out of our area"),
    )
    await d.wait(order_id, "OrderRejected")


def _booking(
    d: Drive, order_id: uuid.UUID, payment_stage: bool = True, lead: float | None = None
) -> tuple[OrderParty, OrderParty, CreateOrder]:
    customer, supplier = d.person(Role.CUSTOMER), d.person(Role.SUPPLIER)
    start = datetime.now(UTC) + timedelta(seconds=d.appointment_lead if lead is None else lead)
    terms = c.postpaid_terms(
        appointment_start=start,
        appointment_end=start + timedelta(seconds=1),
        payment_stage=payment_stage,
    )
    create = c.command(
        CreateOrder, customer.party, order_id=order_id, parties=[customer, supplier], terms=terms
    )
    return customer, supplier, create


async def postpaid_lapsed(d: Drive, expect: Callable[[Expected], None]) -> None:
    order_id = uuid.uuid4()
    customer, _, create = _booking(d, order_id, lead=3600)
    expect(
        Expected(
            "postpaid_lapsed",
            str(order_id),
            "cancelled",
            customer.party,
            _counts("OrderCreated", "OrderCancelled"),
            emails=Counter(
                [
                    ("supplier", "order_awaiting_confirmation"),
                    ("supplier", "order_cancelled"),  # X-11: P-02's automatic one too
                    ("customer", "order_cancelled"),
                ]
            ),
        )
    )
    await d.upstream.send(ORDERS, create)
    await d.wait(order_id, "OrderCancelled")


async def _pay(d: Drive, order_id: uuid.UUID, requested: dict[str, object], tag: str) -> None:
    """The gateway's payment of what was requested, then the payout it sends (P-18)."""
    amount = requested["amount"]
    assert isinstance(amount, dict)
    payment = c.command(
        RecordPayment,
        c.GATEWAY,
        order_id=order_id,
        payment_id=f"{tag}-{order_id}",
        amount=eur(str(amount["amount"])),
    )
    await d.upstream.send(PAYMENTS, payment)
    released = await d.wait(order_id, "PayoutRequested")
    sent = c.command(
        ConfirmPayoutSent,
        c.GATEWAY,
        order_id=order_id,
        payout_id=str(released["payout_id"]),
        reference=f"tr-{order_id.hex[:8]}",
    )
    await d.upstream.send(PAYMENTS, sent)
    await d.wait(order_id, "PayoutPaid")


#: X-11: what both parties hear of a booking confirmed and paid, and of its payout.
X11_PAID = (
    ("customer", "order_confirmed"),
    ("customer", "payment_settled"),
    ("supplier", "payment_settled"),
    ("supplier", "payout_scheduled"),
)

PAID_OUT = (
    "PaymentReceived",
    "PaymentSettled",
    "PayoutScheduled",
    "PayoutRequested",
    "PayoutPaid",
)


async def postpaid_paid(d: Drive, expect: Callable[[Expected], None]) -> None:
    order_id = uuid.uuid4()
    customer, supplier, create = _booking(d, order_id)
    expect(
        Expected(
            "postpaid_paid",
            str(order_id),
            "closed",
            customer.party,
            _counts(
                "OrderCreated",
                "OrderConfirmed",
                "ServiceMarkedDone",
                "ExecutionConfirmed",
                "OrderPaid",
            ),
            payment_events=_counts("PaymentRequested", *PAID_OUT),
            emails=Counter(
                [
                    ("supplier", "order_awaiting_confirmation"),
                    ("supplier", "payout_sent"),
                    ("customer", "execution_to_confirm"),
                    ("customer", "payment_due"),
                    ("customer", "review_invitation"),
                    *X11_PAID,
                ]
            ),
        )
    )
    await d.upstream.send(
        ORDERS, create, c.command(ConfirmOrder, supplier.party, order_id=order_id)
    )
    requested = await d.wait(order_id, "PaymentRequested")
    await _pay(d, order_id, requested, "pay")


async def postpaid_captured(d: Drive, expect: Callable[[Expected], None]) -> None:
    order_id = uuid.uuid4()
    customer, supplier, create = _booking(d, order_id, payment_stage=False)
    expect(
        Expected(
            "postpaid_captured",
            str(order_id),
            "closed",
            customer.party,
            _counts("OrderCreated", "OrderConfirmed", "ServiceMarkedDone", "ExecutionConfirmed"),
            payment_events=_counts("ChargeRequested", *PAID_OUT),
            emails=Counter(
                [
                    ("supplier", "order_awaiting_confirmation"),
                    ("supplier", "payout_sent"),
                    ("customer", "execution_to_confirm"),
                    ("customer", "review_invitation"),
                    ("customer", "charge_requested"),
                    *X11_PAID,
                ]
            ),
        )
    )
    await d.upstream.send(
        ORDERS, create, c.command(ConfirmOrder, supplier.party, order_id=order_id)
    )
    charge = await d.wait(order_id, "ChargeRequested")
    await _pay(d, order_id, charge, "capture")


async def postpaid_cancelled_fee(d: Drive, expect: Callable[[Expected], None]) -> None:
    order_id = uuid.uuid4()
    customer, supplier, create = _booking(d, order_id, lead=3600)
    expect(
        Expected(
            "postpaid_cancelled_fee",
            str(order_id),
            "cancelled",
            customer.party,
            _counts("OrderCreated", "OrderConfirmed", "OrderCancelled"),
            payment_events=_counts("CancellationFeeAssessed", "ChargeRequested", *PAID_OUT),
            emails=Counter(
                [
                    ("supplier", "order_awaiting_confirmation"),
                    ("supplier", "payout_sent"),
                    ("supplier", "order_cancelled"),
                    ("supplier", "cancellation_fee"),
                    ("customer", "cancellation_fee"),
                    ("customer", "charge_requested"),
                    *X11_PAID,
                ]
            ),
        )
    )
    await d.upstream.send(
        ORDERS,
        create,
        c.command(ConfirmOrder, supplier.party, order_id=order_id),
        c.command(CancelOrder, customer.party, order_id=order_id, reason="Plans changed"),
    )
    charge = await d.wait(order_id, "ChargeRequested")
    await _pay(d, order_id, charge, "fee")


async def account_completed(d: Drive, expect: Callable[[Expected], None]) -> None:
    agent, order_id = d.person(Role.AGENT), uuid.uuid4()
    account_id, _ = d.accounts[uuid.uuid4().int % len(d.accounts)]
    expect(
        Expected(
            "account_completed",
            str(order_id),
            "completed",
            agent.party,
            _counts("OrderCreated", "OrderPlaced", "OrderCompleted"),
            emails=Counter([("customer", "receipt")]),
            account_id=account_id,
        )
    )
    await d.upstream.send(
        ORDERS,
        c.command(
            CreateOrder,
            agent.party,
            order_id=order_id,
            parties=[agent],
            terms=c.account_terms(account_id),
        ),
        c.command(PlaceOrder, agent.party, order_id=order_id),
    )
    await d.wait(order_id, "OrderCompleted")
    await d.watcher.matching(
        account_id,
        lambda e: e.get("type") == "BillCycleRun" and str(order_id) in e.get("order_ids", []),
        d.timeout,
        f"a bill-cycle run billing {order_id}",
    )


async def gateway_rejected(d: Drive, expect: Callable[[Expected], None]) -> None:
    """X-09: two commands over HTTP, each retried with its Idempotency-Key until answered
    while the gateway is killed mid-request; one effect each (M-05), then M-09."""
    member, client, order_id = d.person(Role.MEMBER), d.person(Role.CLIENT), uuid.uuid4()
    expect(
        Expected(
            "gateway_rejected",
            str(order_id),
            "rejected",
            member.party,
            _counts("OrderCreated", "OrderSubmitted", "OrderRejected"),
            emails=Counter([("member", "order_rejected")]),
            via_gateway=True,
        )
    )
    assert d.gateway is not None, "the gateway scenario needs the gateway"
    caller = (member.id, Role.MEMBER.value)
    create = {
        "type": "CreateOrder",
        "order_id": str(order_id),
        "parties": [member.model_dump(mode="json"), client.model_dump(mode="json")],
        "terms": c.managed_terms(description="Chaos through the gateway").model_dump(mode="json"),
    }
    await d.gateway.send(caller, create, f"create-{order_id}")
    submit = {"type": "SubmitOrder", "order_id": str(order_id)}
    await d.gateway.send(caller, submit, f"submit-{order_id}")
    await d.upstream.send(
        ORDERS, c.command(RejectOrder, c.OPERATOR, order_id=order_id, reason="Out of our area")
    )
    await d.wait(order_id, "OrderRejected")


SCENARIOS: list[Scenario] = [
    managed_completed,
    postpaid_paid,
    account_completed,
    postpaid_lapsed,
    postpaid_captured,
    managed_rejected,
    postpaid_cancelled_fee,
]


@dataclass(frozen=True)
class Poison:
    """A message no consumer can read, sent on purpose: it must end in `<topic>.dlq`."""

    topic: str
    value: bytes
    reason: str
    #: every service that consumes `topic` dead-letters it once
    services: tuple[str, ...]


def poisons(marker: str, gateway: bool = False) -> list[Poison]:
    """The run's deliberate dead letters; each value carries `marker` to be told apart.
    The gateway, when it runs, reads accounts.events too (its projection)."""
    accounts = ("invoicing", "ordering", "gateway") if gateway else ("invoicing", "ordering")
    return [
        Poison(ORDERS, f'{{"type": "CreateOrder", "chaos": "{marker}-1", '.encode(), "malformed", ("ordering",)),
        Poison(PAYMENTS, f'{{"type": "TeleportOrder", "chaos": "{marker}-2"}}'.encode(), "unknown_type", ("payments",)),
        Poison(topics.INVOICING_COMMANDS, f'{{"type": "RunBillCycle", "chaos": "{marker}-3"}}'.encode(), "invalid", ("invoicing",)),
        Poison(topics.ACCOUNTS_EVENTS, f"not json {marker}-4".encode(), "malformed", accounts),
    ]  # fmt: skip
