"""What a chaos run must have left behind, read from the topics, the store and the Maildir.

Delivery is at least once, so the same event (the same message id) may sit on a topic
twice after a crash or a rebalance: that is a copy, not a second effect, and every count
below is of *distinct* message ids. A duplicate is a second, distinct thing where the
rules allow one:

    orders.events          two events of one type for one order (each scenario's steps
                           happen once per order)
    invoicing.events       two InvoicePlanned / InvoiceDrafted / InvoiceIssued for one
                           invoice id; an issuer's invoice number given twice; an account
                           order in two bill-cycle runs
    payments.events        two PaymentRequested / ChargeRequested / PaymentSettled for one
                           request id, two PaymentReceived for one gateway payment id, two
                           RefundRequested for one payment, two PayoutScheduled /
                           PayoutRequested / PayoutPaid for one payout, two fees per order
    notifications.events   two EmailSent (or EmailFailed, or one of each) for one
                           delivery id
    emails                 two deliveries (distinct delivery ids, so distinct Message-IDs)
                           of one template to one role about one order. The same Message-ID
                           caught twice is the one email sent again after a crash between the
                           SMTP server's 250 and its record (the notifier's documented
                           at-least-once boundary): counted as *re-sent*, not as a duplicate
    the store              an event on orders.events or payments.events that the order's or
                           ledger's commits do not hold (published by a decision that was
                           never stored); rejections are stored as answers, not events

Lost is anything expected and missing: a final status not reached, an expected event,
email, invoice or payout absent, a stored event never published, an email announced but
not caught (or caught but never announced), an EmailFailed outside the SMTP faults (one
while the SMTP server was down, refusing or slow, or within the retry budget after, is
the notifier's documented outcome: the email is counted as failed, not lost). Through the
gateway (Idempotency-Key), a command the service rejected is a request that reached it
twice: a duplicate. Dead letters must be exactly
the deliberate poison: each (source record, consuming service) once, with its reason.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts import topics
from invoicing.queries import order_invoices
from notifier.queries import deliveries_of_order
from orderflow.kafka import Record, Sent
from ordering.queries import order_view
from ordering.store import orders_store
from payments.store import payments_store
from servicekit.aggregates import Document
from servicekit.deadletters import DLQ_ERROR, DLQ_REASON, DLQ_SERVICE, DLQ_SOURCE
from tests.chaos.scenarios import Expected, Poison

DELIVERY_HEADER = "X-Orderflow-Delivery"

#: payments.events: the field that names the one thing each type happens to once.
PAYMENT_IDENTITY = {
    "PaymentRequested": "request_id",
    "ChargeRequested": "request_id",
    "PaymentSettled": "request_id",
    "PaymentReceived": "payment_id",
    "RefundRequested": "payment_id",
    "PayoutScheduled": "payout_id",
    "PayoutRequested": "payout_id",
    "PayoutPaid": "payout_id",
    "CancellationFeeAssessed": "order_id",
}
INVOICE_ONCE = ("InvoicePlanned", "InvoiceDrafted", "InvoiceIssued")
#: EmailFailed reasons an SMTP fault may cause: a 5xx, or the retry budget used up.
FAILED_FOR_SMTP = ("refused", "retries_exhausted")


@dataclass(frozen=True)
class Finding:
    kind: str  # lost | duplicate | status | unexpected | dead letter
    subject: str
    detail: str

    def line(self) -> str:
        return f"[{self.kind}] {self.subject}: {self.detail}"


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    lost_orders: set[str] = field(default_factory=set)
    emails_caught: int = 0
    emails_resent: int = 0
    #: records on event topics whose message id another record already had
    republished: int = 0
    dead_letters_expected: int = 0
    dead_letters_found: int = 0
    #: distinct deliveries announced sent, and failed (during the SMTP faults)
    emails_sent: int = 0
    emails_failed: int = 0

    def add(self, kind: str, subject: str, detail: str) -> None:
        self.findings.append(Finding(kind, subject, detail))
        if kind in ("lost", "status"):
            self.lost_orders.add(subject)

    def count(self, kind: str) -> int:
        return sum(f.kind == kind for f in self.findings)

    @property
    def ok(self) -> bool:
        return not self.findings


class Events:
    """Distinct events (first copy of each message id) by topic, from the records."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.copies = 0
        seen: set[tuple[str, str]] = set()
        for record in records:
            body = record.body()
            key = (record.topic, str(body.get("message_id")))
            if key in seen:
                self.copies += 1
                continue
            seen.add(key)
            self.by_topic[record.topic].append(body)

    def of(self, topic: str, **where: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.by_topic.get(topic, [])
            if all(str(e.get(k)) == v for k, v in where.items())
        ]


def _compare(
    verdict: Verdict, subject: str, what: str, expected: Counter[Any], found: Counter[Any]
) -> None:
    for item, n in sorted((expected - found).items(), key=str):
        verdict.add("lost", subject, f"{what}: {n} x {item} missing")
    for item, n in sorted((found - expected).items(), key=str):
        if item in expected:
            verdict.add("duplicate", subject, f"{what}: {expected[item] + n} x {item}")
        else:
            verdict.add("unexpected", subject, f"{what}: {n} x {item}")


def _once_each(
    verdict: Verdict, events: list[dict[str, Any]], identity: dict[str, str], what: str
) -> None:
    ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in events:
        name = identity.get(str(e.get("type")))
        if name is not None and e.get(name) is not None:
            ids[(str(e["type"]), str(e[name]))].add(str(e["message_id"]))
    for (kind, value), message_ids in sorted(ids.items()):
        if len(message_ids) > 1:
            verdict.add("duplicate", value, f"{what}: {len(message_ids)} distinct {kind}")


#: A service's own database in the store (`servicekit.config.service_database`).
Databases = Callable[[str], AsyncDatabase[Document]]


async def check_orders(
    verdict: Verdict, db: Databases, events: Events, orders: list[Expected]
) -> None:
    """Per order: final status, events per topic, the store's events, its invoices."""
    for e in orders:
        view = await order_view(db("ordering"), e.order_id, e.viewer)
        status = None if view is None else view.order.status.value
        if status != e.status:
            verdict.add("status", e.order_id, f"{e.scenario}: status {status}, expected {e.status}")
        for topic, expected in (
            (topics.ORDERS_EVENTS, e.order_events),
            (topics.PAYMENTS_EVENTS, e.payment_events),
            (topics.INVOICING_EVENTS, e.invoicing_events),
        ):
            found = Counter(str(x["type"]) for x in events.of(topic, order_id=e.order_id))
            if e.via_gateway:
                for kind in [k for k in found if k.endswith("CommandRejected")]:
                    verdict.add(
                        "duplicate",
                        e.order_id,
                        f"{e.scenario}: {found.pop(kind)} command(s) sent again with another "
                        "message id despite the Idempotency-Key, rejected",
                    )
            _compare(verdict, e.order_id, f"{e.scenario} {topic}", expected, found)
        for topic, store in (
            (topics.ORDERS_EVENTS, orders_store(db("ordering"))),
            (topics.PAYMENTS_EVENTS, payments_store(db("payments"))),
        ):
            kept = {str(x["message_id"]) for x in await store.events(e.order_id)}
            # A rejection changes nothing: its commit holds it as an answer, not an event.
            published = {
                str(x["message_id"])
                for x in events.of(topic, order_id=e.order_id)
                if not str(x["type"]).endswith("CommandRejected")
            }
            if kept - published:
                verdict.add("lost", e.order_id, f"{len(kept - published)} stored, never on {topic}")
            if published - kept:
                verdict.add(
                    "duplicate", e.order_id, f"{len(published - kept)} on {topic}, not stored"
                )
        if e.issuer is not None:
            invoices = await order_invoices(db("invoicing"), e.order_id)
            states = [(i.status.value, i.number is not None) for i in invoices]
            if states != [("issued", True)] * e.invoices:
                verdict.add("lost", e.order_id, f"invoices in the store: {states}")


def check_numbers(verdict: Verdict, events: Events) -> None:
    """Invoices once each; every issuer's numbers exactly 1..N (gap-free, no repeat)."""
    invoicing = events.of(topics.INVOICING_EVENTS)
    _once_each(verdict, invoicing, dict.fromkeys(INVOICE_ONCE, "invoice_id"), "invoicing.events")
    numbers: dict[str, list[int]] = defaultdict(list)
    for e in invoicing:
        if e["type"] == "InvoiceIssued":
            numbers[str(e["issuer_id"])].append(int(e["number"]))
    for issuer, given in numbers.items():
        if sorted(given) != list(range(1, len(given) + 1)):
            repeated = sorted(n for n, k in Counter(given).items() if k > 1)
            kind = "duplicate" if repeated else "lost"
            verdict.add(kind, f"issuer {issuer}", f"invoice numbers {sorted(given)}")


def check_billing(verdict: Verdict, events: Events, orders: list[Expected]) -> None:
    """A-11: every account order in exactly one bill-cycle run; one bill per run."""
    runs = events.of(topics.INVOICING_EVENTS, type="BillCycleRun")
    _once_each(
        verdict,
        [{**r, "run": f"{r['account_id']}#{r['cycle']}"} for r in runs],
        {"BillCycleRun": "run"},
        "invoicing.events",
    )
    billed = Counter(str(o) for r in runs for o in r.get("order_ids", []))
    for e in orders:
        if e.account_id is None:
            continue
        if billed[e.order_id] == 0:
            verdict.add("lost", e.order_id, "account order never billed")
        elif billed[e.order_id] > 1:
            verdict.add("duplicate", e.order_id, f"billed by {billed[e.order_id]} runs")


def check_payments(verdict: Verdict, events: Events) -> None:
    _once_each(verdict, events.of(topics.PAYMENTS_EVENTS), PAYMENT_IDENTITY, "payments.events")


async def check_emails(
    verdict: Verdict,
    db: Databases,
    events: Events,
    orders: list[Expected],
    mails: list[EmailMessage],
    smtp_faults: list[tuple[datetime, datetime]],
) -> None:
    """One delivery per expected email, announced once, caught (maybe re-sent); failed
    only while the SMTP server was faulted (each window runs to the end of the retry
    budget after the fault), and then not caught and not also sent."""
    outcomes = events.of(topics.NOTIFICATIONS_EVENTS)
    _once_each(
        verdict,
        [{**e, "type": "EmailOutcome"} for e in outcomes],
        {"EmailOutcome": "delivery_id"},
        "notifications.events (EmailSent or EmailFailed)",
    )
    failed: dict[str, dict[str, Any]] = {}
    for x in (x for x in outcomes if x["type"] == "EmailFailed"):
        at = datetime.fromisoformat(str(x["failed_at"]))
        during = any(begin <= at <= end for begin, end in smtp_faults)
        if during and x["reason"] in FAILED_FOR_SMTP:
            failed[str(x["delivery_id"])] = x
        else:
            verdict.add(
                "lost", str(x.get("order_id")), f"EmailFailed {x['template']}: {x['reason']}"
            )
    verdict.emails_failed = len(failed)
    sent = {str(e["delivery_id"]): e for e in outcomes if e["type"] == "EmailSent"}
    verdict.emails_sent = len(sent)
    caught = Counter(str(m[DELIVERY_HEADER]) for m in mails)
    verdict.emails_caught = len(caught)
    verdict.emails_resent = sum(n - 1 for n in caught.values())
    for delivery in sorted(set(sent) - set(caught)):
        verdict.add(
            "lost", str(sent[delivery].get("order_id")), f"email {delivery} announced, not caught"
        )
    for delivery in sorted(set(caught) - set(sent)):
        verdict.add("lost", delivery, "email caught, never announced (EmailSent)")
    settled = {**failed, **sent}
    for e in orders:
        mine = [x for x in settled.values() if str(x.get("order_id")) == e.order_id]
        found = Counter((str(x["recipient_role"]), str(x["template"])) for x in mine)
        _compare(verdict, e.order_id, f"{e.scenario} emails (sent or failed)", e.emails, found)
        for d in await deliveries_of_order(db("notifier"), e.order_id):
            announced = "failed" if str(d.delivery_id) in failed else "sent"
            if d.status != announced:
                verdict.add(
                    "lost", e.order_id, f"delivery {d.template} is {d.status} in the store, "
                    f"announced {announced}",
                )  # fmt: skip
    issued = Counter(
        str(i["account_id"])
        for i in events.of(topics.INVOICING_EVENTS, type="InvoiceIssued")
        if i.get("account_id")
    )
    mailed = Counter(
        str(x["account_id"])
        for x in settled.values()
        if x["template"] == "invoice_issued" and x.get("account_id")
    )
    _compare(verdict, "accounts", "invoice_issued emails per account", issued, mailed)


def check_dead_letters(
    verdict: Verdict, records: Iterable[Record], prefix: str, sent: list[tuple[Poison, Sent]]
) -> None:
    """The dead-letter topics hold the deliberate poison, each (poison, service) once.

    A dead letter keeps the original bytes, so a poison is known by its value: a copy of
    it that the upstream producer's retry left on the topic (at least once, like any
    upstream send through a broker restart) is the same poison, and so is one source
    dead-lettered twice (redelivered before its offset was committed).
    """
    where = {p.value: f"{prefix}{s.topic}/{s.partition}/{s.offset}" for p, s in sent}
    expected: dict[tuple[bytes | str, str], str] = {
        (poison.value, service): poison.reason for poison, _ in sent for service in poison.services
    }
    found: dict[tuple[bytes | str, str], list[Record]] = defaultdict(list)
    for r in records:
        if r.topic.endswith(topics.DLQ_SUFFIX):
            what: bytes | str = r.value if r.value in where else r.headers.get(DLQ_SOURCE, "?")
            found[(what, r.headers.get(DLQ_SERVICE, "?"))].append(r)
    verdict.dead_letters_expected = len(expected)
    verdict.dead_letters_found = len(found)

    def name(what: bytes | str) -> str:
        return where[what] if isinstance(what, bytes) else what

    for missing in sorted(set(expected) - set(found), key=str):
        verdict.add(
            "dead letter", name(missing[0]), f"deliberate poison not dead-lettered by {missing[1]}"
        )
    for key, letters in sorted(found.items(), key=str):
        headers = letters[0].headers
        if key not in expected:
            body = letters[0].body()
            about = body.get("type", "?"), body.get("order_id") or body.get("account_id")
            verdict.add(
                "dead letter",
                name(key[0]),
                f"unexpected, by {key[1]}: {headers.get(DLQ_REASON)} {about} "
                f"{headers.get(DLQ_ERROR, '')[:300]}",
            )
        elif headers.get(DLQ_REASON) != expected[key]:
            verdict.add(
                "dead letter",
                name(key[0]),
                f"reason {headers.get(DLQ_REASON)}, expected {expected[key]}",
            )


async def check_all(
    db: Databases,
    records: list[Record],
    orders: list[Expected],
    mails: list[EmailMessage],
    prefix: str,
    poison: list[tuple[Poison, Sent]],
    smtp_faults: list[tuple[datetime, datetime]] = [],  # noqa: B006 (never changed)
) -> Verdict:
    verdict = Verdict()
    events = Events(r for r in records if not r.topic.endswith(topics.DLQ_SUFFIX))
    verdict.republished = events.copies
    await check_orders(verdict, db, events, orders)
    check_numbers(verdict, events)
    check_billing(verdict, events, orders)
    check_payments(verdict, events)
    await check_emails(verdict, db, events, orders, mails, smtp_faults)
    check_dead_letters(verdict, records, prefix, poison)
    return verdict
