"""X-11: every party hears of what concerns it, once, with the facts it needs (what
happened, why, what it costs, what to do, by when in its own zone); and M-09's expiry is
told apart from the client's silence. On real event payloads, rendered."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from contracts.envelope import Contact, Event, Role
from contracts.invoicing import INVOICING_EVENTS
from contracts.orders import ORDER_EVENTS, OrderParty, OrderStatus
from contracts.payments import PAYMENT_EVENTS, Purpose
from contracts.suppliers import SUPPLIER_EVENTS
from notifier import handlers
from notifier.domain import CATALOGUE, Email, OrderFacts, plan
from notifier.domain.catalogue import SILENT
from notifier.domain.orders import REJECTION_CAUSES
from notifier.rendering import Rendered, Renderer
from tests.unit.notifier import notifier_kit as k
from tests.unit.notifier import x11_kit as x
from tests.unit.notifier.test_notifier_dispatch import Harness, MemoryFacts

RENDERER = Renderer()
S = OrderStatus


def emails(event: Event, facts: OrderFacts | None = k.POSTPAID_FACTS) -> list[Email]:
    return plan(event, facts, k.POLICY)


def to(event: Event, role: Role, facts: OrderFacts | None = k.POSTPAID_FACTS) -> Email:
    [email] = [e for e in emails(event, facts) if e.recipient.role is role]
    return email


def rendered(email: Email) -> Rendered:
    return RENDERER.render(email)


def text(email: Email) -> str:
    return rendered(email).text


# -- the table is complete -----------------------------------------------------------------


def test_X11_every_event_of_the_contracts_is_emailed_or_silent_for_a_stated_reason() -> None:
    names = {
        *ORDER_EVENTS.names(),
        *INVOICING_EVENTS.names(),
        *PAYMENT_EVENTS.names(),
        *SUPPLIER_EVENTS.names(),
    }
    emailed = {r.event_type for r in CATALOGUE.notices}
    missing = names - emailed - set(SILENT)
    assert not missing, f"add a row to the notifier's NOTICES or a reason to SILENT: {missing}"
    assert not emailed & set(SILENT)
    assert set(SILENT) <= names, "SILENT names an event no contract has"


# -- post-paid: confirmations, edits, cancellations, proposals -------------------------------


def test_X11_P06_the_customer_hears_that_the_supplier_confirmed_with_the_terms() -> None:
    [email] = emails(x.confirmed(by=k.SUPPLIER))
    assert (email.template, email.recipient.address) == ("order_confirmed", "customer@example.com")
    mail = rendered(email)
    assert mail.subject == "Order confirmed: Piano lesson"
    assert "The supplier confirmed the order" in mail.text
    assert "Price: 40.00 EUR" in mail.text
    assert "Appointment: Wed 5 Mar 2025, 09:00 UTC to Wed 5 Mar 2025, 10:00 UTC" in mail.text


def test_X11_P05_the_supplier_hears_that_the_customer_confirmed_its_changes() -> None:
    [email] = emails(x.confirmed(by=k.CUSTOMER))
    assert (email.template, email.recipient.role) == ("order_confirmed", Role.SUPPLIER)
    assert "The customer confirmed the order" in text(email)


def test_X11_P02_the_automatic_cancellation_tells_both_parties_why() -> None:
    sent = emails(x.postpaid_cancelled())
    assert sorted(e.recipient.role for e in sent) == [Role.CUSTOMER, Role.SUPPLIER]
    for email in sent:
        body = text(email)
        assert rendered(email).subject == "Order cancelled: Piano lesson"
        assert "was cancelled automatically" in body
        assert "nobody confirmed the order within the confirmation window (P-02)" in body


def test_X11_P11_a_customer_cancellation_tells_the_supplier_and_that_a_fee_may_follow() -> None:
    event = x.postpaid_cancelled(k.CUSTOMER, S.IN_PROGRESS, fee=True, reason="Ill")
    [email] = emails(event)
    assert email.recipient.role is Role.SUPPLIER, "the customer did it: it is not told"
    body = text(email)
    assert "was cancelled by the customer" in body
    assert "Reason given: Ill" in body
    assert "A cancellation fee may be charged to the customer" in body


def test_X11_P10_a_supplier_cancellation_tells_the_customer_with_its_reason() -> None:
    [email] = emails(x.postpaid_cancelled(k.SUPPLIER, S.IN_PROGRESS, reason="Van broke down"))
    assert email.recipient.role is Role.CUSTOMER
    assert "cancelled by the supplier" in text(email)
    assert "Reason given: Van broke down" in text(email)


@pytest.mark.parametrize(
    ("event", "outcome", "roles"),
    [
        (x.proposal_accepted, "accepted", [Role.SUPPLIER]),
        (x.proposal_rejected, "rejected", [Role.SUPPLIER]),
        (x.proposal_lapsed, "lapsed", [Role.SUPPLIER, Role.CUSTOMER]),
    ],
)
def test_X11_P09_a_proposals_outcome_reaches_the_parties_it_concerns(
    event: object, outcome: str, roles: list[Role]
) -> None:
    sent = emails(event())  # type: ignore[operator]
    assert [e.recipient.role for e in sent] == roles
    for email in sent:
        assert rendered(email).subject == f"Proposed change {outcome}: Piano lesson"
    if outcome == "accepted":
        assert "Price: 55.00 EUR" in text(sent[0])
    if outcome == "rejected":
        assert "Their comment: Too dear" in text(sent[0])
        assert "propose another change, or cancel" in text(sent[0])


# -- money: charges, fees, payments, payouts -----------------------------------------------


def test_X11_seed004_the_customer_hears_of_the_charge_before_anything_is_overdue() -> None:
    [email] = emails(x.charge_requested())
    assert (email.template, email.recipient.role) == ("charge_requested", Role.CUSTOMER)
    assert rendered(email).subject == "Payment to be taken: 40.00 EUR"
    assert "with your payment method (card)" in text(email)


def test_X11_a_failed_charge_says_why_what_is_owed_and_by_when_in_the_customers_zone() -> None:
    [email] = emails(x.charge_failed(customer=x.PARIS), x.PARIS_FACTS)
    assert email.recipient.address == "paris@example.com"
    mail = rendered(email)
    # 72 hours after Monday 09:00 UTC is Thursday 09:00 UTC: 10:00 in Paris (CET).
    assert mail.subject == "Payment failed: 40.00 EUR still due by Thu 6 Mar 2025, 10:00 CET"
    assert "the card was declined" in mail.text
    assert "Still due: 40.00 EUR" in mail.text
    assert "update your payment method or pay the amount" in mail.text


def test_X11_a_deadline_is_shown_in_the_business_zone_when_the_party_names_none() -> None:
    [email] = emails(x.charge_failed())
    assert email.context["due_at"] == "Thu 6 Mar 2025, 09:00 UTC"


def test_X11_P11_the_cancellation_fee_shows_its_computation_to_both_parties() -> None:
    sent = emails(x.fee_assessed())
    assert sorted(e.recipient.role for e in sent) == [Role.CUSTOMER, Role.SUPPLIER]
    customer = next(e for e in sent if e.recipient.role is Role.CUSTOMER)
    mail = rendered(customer)
    assert mail.subject == "Cancellation fee: 8.00 EUR (Piano lesson)"
    for fact in (
        "You cancelled the order",
        "36.00 hours before the appointment",
        "Price: 40.00 EUR",
        "less than 24 hours before: 50% of the price",
        "less than 48 hours before: 20% of the price",
        'Applied: the tier "less than 48 hours before", 20%',
        "Fee: 20% of 40.00 EUR = 8.00 EUR",
    ):
        assert fact in mail.text, fact
    assert "8.00 EUR" in mail.html and "&ldquo;less than 48 hours before&rdquo;" in mail.html


def test_X11_a_settled_payment_tells_the_customer_and_the_supplier() -> None:
    sent = emails(x.settled())
    assert sorted(e.recipient.role for e in sent) == [Role.CUSTOMER, Role.SUPPLIER]
    assert all(rendered(e).subject == "Payment received: 40.00 EUR" for e in sent)


def test_X11_a_part_payment_says_what_is_still_owed_and_a_full_one_sends_nothing() -> None:
    [email] = emails(x.received("15"))
    assert "Still due: 15.00 EUR" in text(email)
    assert emails(x.received("0")) == []


def test_X11_P18_the_supplier_hears_its_payout_scheduled_with_gross_fee_net_and_dates() -> None:
    [email] = emails(x.payout_scheduled())
    assert (email.template, email.recipient.role) == ("payout_scheduled", Role.SUPPLIER)
    body = text(email)
    for fact in ("Price paid: 40.00 EUR", "(9%): 3.60 EUR", "You receive: 36.40 EUR"):
        assert fact in body
    assert "released on Wed 19 Mar 2025, 09:00 UTC" in body
    assert "credited by Wed 26 Mar 2025, 09:00 UTC" in body


@pytest.mark.parametrize(
    ("event", "roles"),
    [
        (x.claim_paid, [Role.CUSTOMER, Role.SUPPLIER]),
        (x.claim_withdrawn, [Role.CUSTOMER]),
        (x.claim_written_off, [Role.CUSTOMER, Role.SUPPLIER]),
    ],
)
def test_X11_P16_a_claims_end_reaches_the_parties_it_concerns(
    event: object, roles: list[Role]
) -> None:
    sent = emails(event())  # type: ignore[operator]
    assert [e.recipient.role for e in sent] == roles
    assert all(e.template == "claim_closed" for e in sent)


def test_X11_a_refund_tells_the_customer_why() -> None:
    [email] = emails(x.refund())
    assert "We are refunding 40.00 EUR" in text(email) and "already paid" in text(email)


# -- managed orders: activation, cancellation, rejection -----------------------------------


def test_X11_M08_the_member_hears_the_client_confirmed_and_the_order_is_active() -> None:
    [email] = emails(x.activated(Role.CLIENT), k.MANAGED_FACTS)
    assert (email.template, email.recipient.role) == ("order_activated", Role.MEMBER)
    body = text(email)
    assert "The client confirmed your order" in body
    assert "- Tue 1 Apr 2025: 100.00 EUR" in body


def test_X11_M05_M06_skipping_client_confirmation_tells_member_and_client_and_the_flag() -> None:
    sent = emails(x.activated(Role.OPERATOR, guarantee=False), k.MANAGED_FACTS)
    assert [e.recipient.role for e in sent] == [Role.MEMBER, Role.CLIENT]
    assert "No payment guarantee" in text(sent[0])
    assert "the member chose to skip client confirmation" in text(sent[1])


def test_X11_M13_the_client_hears_the_order_was_cancelled_and_its_invoices_voided() -> None:
    email = to(k.cancelled(), Role.CLIENT, k.MANAGED_FACTS)
    assert email.template == "order_cancelled"
    assert "Reason given: The client closed its office for good" in text(email)
    assert "voided by a credit note" in text(email)


def test_X11_M09_an_offer_that_expired_awaiting_the_client_says_the_client_did_not_answer() -> None:
    member, client = emails(x.expired(S.CLIENT_CONFIRMATION), k.MANAGED_FACTS)
    assert member.recipient.role is Role.MEMBER
    assert "without the client's answer" in text(member)
    assert (client.template, client.recipient.address) == ("offer_expired", "client@example.com")
    assert "confirmation link no longer works" in text(client)


def test_X11_M09_a_client_never_asked_is_not_told_of_an_offer_it_never_saw() -> None:
    for previous in (S.OPERATOR_REVIEW, None):
        assert [e.recipient.role for e in emails(x.expired(previous), k.MANAGED_FACTS)] == [
            Role.MEMBER
        ]


def test_X11_M09_an_offer_that_expired_in_review_does_not_blame_the_client() -> None:
    [email] = emails(x.expired(S.OPERATOR_REVIEW), k.MANAGED_FACTS)
    assert email.recipient.role is Role.MEMBER
    body = text(email)
    assert "client's answer" not in body
    assert "before the member support team finished reviewing it" in body
    assert "never sent to the client" in body


def test_X11_M09_without_the_field_what_the_notifier_saw_tells_the_two_apart() -> None:
    asked = dataclasses.replace(k.MANAGED_FACTS, client_asked=True)
    [awaiting] = emails(x.expired(None), asked)
    [in_review] = emails(x.expired(None), k.MANAGED_FACTS)
    assert awaiting.context["cause_text"] == REJECTION_CAUSES["offer_expired"]
    assert in_review.context["cause_text"] == REJECTION_CAUSES["offer_expired_in_review"]


async def test_X11_M09_the_handler_remembers_the_client_was_asked() -> None:
    facts, harness = MemoryFacts(), Harness()
    deps = handlers.Deps(facts=facts, dispatcher=harness.dispatcher, policy=k.POLICY)
    harness.start()
    try:
        await handlers.handle_event(k.managed_created(), deps)
        await handlers.handle_event(k.sent_to_client(), deps)
        await handlers.handle_event(x.expired(None), deps)
        await harness.until(lambda: len(harness.smtp.accepted) == 2)
    finally:
        await harness.stop()
    rejected = [
        m for m, _, _ in harness.smtp.accepted if m["X-Orderflow-Template"] == "order_rejected"
    ]
    body = rejected[0].parsed().get_body(("plain",))
    assert body is not None
    assert "without the client's answer" in str(body.get_content())


# -- once ----------------------------------------------------------------------------------


async def test_X11_an_email_delivered_twice_is_sent_once() -> None:
    facts, harness = MemoryFacts(), Harness()
    await facts.remember(k.POSTPAID_FACTS)
    deps = handlers.Deps(facts=facts, dispatcher=harness.dispatcher, policy=k.POLICY)
    harness.start()
    try:
        event = x.fee_assessed()
        await handlers.handle_event(event, deps)
        await handlers.handle_event(event, deps)
        marker = x.payout_scheduled()  # a later email: once it is out, the first two were
        await handlers.handle_event(marker, deps)
        # Claims are taken before handle_event returns: nothing queued is still to come.
        await harness.until(
            lambda: len(harness.smtp.accepted) >= 3 and harness.dispatcher.holding == 0
        )
    finally:
        await harness.stop()
    templates = [str(m["X-Orderflow-Template"]) for m, _, _ in harness.smtp.accepted]
    assert sorted(templates) == ["cancellation_fee", "cancellation_fee", "payout_scheduled"]
    assert sorted(r for _, _, r in harness.smtp.accepted) == [
        "customer@example.com",
        "supplier@example.com",
        "supplier@example.com",
    ]


def test_X11_the_charge_for_a_cancellation_fee_says_so() -> None:
    [email] = emails(x.charge_requested(Purpose.CANCELLATION_FEE))
    assert "for the cancellation fee of the order" in text(email)


def test_X11_P02_the_supplier_reads_its_24_hours_in_its_own_zone() -> None:
    tokyo = OrderParty(
        id="supplier-t",
        role=Role.SUPPLIER,
        contact=Contact(email="tokyo@example.com", timezone="Asia/Tokyo"),
    )
    [email] = emails(k.postpaid_created(supplier=tokyo), None)
    assert email.context["respond_by"] == "Tue 4 Mar 2025, 18:00 JST"
    assert "by Tue 4 Mar 2025, 18:00 JST" in text(email)


def test_X11_an_unknown_zone_falls_back_to_the_business_zone() -> None:
    nowhere = OrderParty(
        id="supplier-n",
        role=Role.SUPPLIER,
        contact=Contact(email="n@example.com", timezone="Mars/Olympus_Mons"),
    )
    [email] = emails(k.postpaid_created(supplier=nowhere), None)
    assert email.context["respond_by"] == "Tue 4 Mar 2025, 09:00 UTC"


@pytest.mark.parametrize(
    ("make", "facts", "role", "subject"),
    [
        (lambda: x.activated(Role.CLIENT), k.MANAGED_FACTS, Role.MEMBER,
         "Order active: Quarterly maintenance"),
        (lambda: x.expired(S.CLIENT_CONFIRMATION), k.MANAGED_FACTS, Role.CLIENT,
         "Offer expired: Quarterly maintenance"),
        (k.cancelled, k.MANAGED_FACTS, Role.CLIENT, "Order cancelled: Quarterly maintenance"),
        (x.received, k.POSTPAID_FACTS, Role.CUSTOMER,
         "Part payment received: 15.00 EUR still due"),
        (x.refund, k.POSTPAID_FACTS, Role.CUSTOMER, "Refund of 40.00 EUR"),
        (x.claim_written_off, k.POSTPAID_FACTS, Role.SUPPLIER, "Claim written off: Piano lesson"),
        (x.claim_paid, k.POSTPAID_FACTS, Role.CUSTOMER, "Claim paid: Piano lesson"),
        (x.payout_scheduled, k.POSTPAID_FACTS, Role.SUPPLIER, "Payout scheduled: 36.40 EUR"),
    ],
)  # fmt: skip
def test_X11_each_new_email_names_what_happened_in_its_subject(
    make: Any, facts: OrderFacts, role: Role, subject: str
) -> None:
    assert rendered(to(make(), role, facts)).subject == subject


# -- M-18, A-13, P-21: returned, refused, closed unpaid ------------------------------------


def test_M18_the_member_hears_its_order_was_returned_with_the_comment_and_what_to_do() -> None:
    [email] = emails(x.returned("Which site is it for?"), k.MANAGED_FACTS)
    assert (email.template, email.recipient.address) == ("order_returned", "member@example.com")
    mail = rendered(email)
    assert mail.subject == "Order returned with a question: Quarterly maintenance"
    assert "Their comment: Which site is it for?" in mail.text
    assert "It is a draft again" in mail.text
    assert "editing the draft, then submit it again" in mail.text
    assert "Which site is it for?" in mail.html


def test_M18_a_comment_cannot_inject_markup_into_the_html() -> None:
    [email] = emails(x.returned("<b>Call us</b>"), k.MANAGED_FACTS)
    assert "&lt;b&gt;Call us&lt;/b&gt;" in rendered(email).html


def test_A13_the_agent_hears_the_approval_was_refused_with_the_reason_and_what_to_do() -> None:
    [email] = emails(x.approval_refused("Over this month's budget"), x.AGENT_FACTS)
    assert (email.template, email.recipient.address) == ("approval_refused", "agent@example.com")
    mail = rendered(email)
    assert mail.subject.startswith("Approval refused")
    assert "Reason given: Over this month's budget" in mail.text
    assert "The order is a draft again" in mail.text
    assert "change the order as the reason asks and place it again" in mail.text


@pytest.mark.parametrize(
    ("cause", "why"),
    [
        ("claim_written_off", "the claim for the payment was written off"),
        ("claim_withdrawn", "withdrew its claim for the payment and did not open it again"),
    ],
)
def test_P21_an_order_closed_unpaid_tells_supplier_and_customer_why(cause: str, why: str) -> None:
    sent = emails(x.closed_unpaid(cause))
    assert [e.recipient.role for e in sent] == [Role.SUPPLIER, Role.CUSTOMER]
    for email in sent:
        mail = rendered(email)
        assert mail.subject == "Order closed unpaid: Piano lesson"
        assert "is closed and marked unpaid" in mail.text and why in mail.text


def test_P17_P21_the_customer_of_an_order_closed_unpaid_may_review_it_and_the_supplier_not() -> (
    None
):
    supplier, customer = emails(x.closed_unpaid())
    review = f"https://example.test/orders/{k.ORDER_ID}/review"
    assert review in text(customer) and review in rendered(customer).html
    assert "nothing more is needed from you" in text(customer)
    assert review not in text(supplier)
    assert "no payout follows" in text(supplier)


def test_P21_a_lapsed_claim_tells_the_supplier_the_debt_is_given_up_in_its_own_zone() -> None:
    tokyo = OrderParty(
        id="supplier-1",
        role=Role.SUPPLIER,
        contact=Contact(email="tokyo@example.com", timezone="Asia/Tokyo"),
    )
    [email] = emails(x.claim_lapsed(supplier=tokyo))
    assert (email.template, email.recipient.address) == ("claim_lapsed", "tokyo@example.com")
    mail = rendered(email)
    assert mail.subject == "Claim lapsed: 40.00 EUR given up (Piano lesson)"
    # 14 days after Monday 3 March 09:00 UTC: 18:00 in Tokyo.
    assert "did not open it again by Mon 17 Mar 2025, 18:00 JST" in mail.text
    assert "The debt of 40.00 EUR is now given up" in mail.text
    assert "the order is closed unpaid" in mail.text


def test_P21_the_customer_hears_of_a_lapsed_claim_once_through_the_order_closed_unpaid() -> None:
    """The lapse closes the order (OrderClosedUnpaid follows): that email tells the customer,
    with the review link; a second one for the claim would say the same again."""
    assert [e.recipient.role for e in emails(x.claim_lapsed())] == [Role.SUPPLIER]
    assert Role.CUSTOMER in [e.recipient.role for e in emails(x.closed_unpaid("claim_withdrawn"))]


def test_M09_an_offer_expired_in_review_never_says_the_client_did_not_answer() -> None:
    """The event's `previous_status` (ordering fills it) wins over what the notifier saw."""
    asked = dataclasses.replace(k.MANAGED_FACTS, client_asked=True)
    old_reason = "the offer's validity passed without an answer"  # ordering's, before
    event = x.expired(S.OPERATOR_REVIEW).model_copy(update={"reason": old_reason})
    [email] = emails(event, asked)
    body = text(email)
    assert "without an answer" not in body
    assert "client's answer" not in body and "did not answer" not in body
    assert "never sent to the client" in body


def test_M19_A13_the_members_own_acts_and_ops_signals_email_nobody() -> None:
    own = [x.withdrawn(), x.discarded(), x.approval_overdue()]
    assert all(e.type in SILENT for e in own)
    assert [emails(e, k.MANAGED_FACTS) for e in own] == [[], [], []]


async def test_P21_an_order_closed_unpaid_delivered_twice_is_sent_once() -> None:
    facts, harness = MemoryFacts(), Harness()
    await facts.remember(k.POSTPAID_FACTS)
    deps = handlers.Deps(facts=facts, dispatcher=harness.dispatcher, policy=k.POLICY)
    harness.start()
    try:
        event = x.closed_unpaid()
        await handlers.handle_event(event, deps)
        await handlers.handle_event(event, deps)
        marker = x.payout_scheduled()  # a later email: once it is out, the first two were
        await handlers.handle_event(marker, deps)
        await harness.until(
            lambda: len(harness.smtp.accepted) >= 3 and harness.dispatcher.holding == 0
        )
    finally:
        await harness.stop()
    sent = sorted((m["X-Orderflow-Template"], r) for m, _, r in harness.smtp.accepted)
    assert sent == [
        ("order_closed_unpaid", "customer@example.com"),
        ("order_closed_unpaid", "supplier@example.com"),
        ("payout_scheduled", "supplier@example.com"),
    ]
