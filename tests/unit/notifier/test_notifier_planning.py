"""Which event sends which email to whom (X-06): `plan`, on real event payloads."""

from __future__ import annotations

from contracts.envelope import Contact, Role
from contracts.orders import Flow, OrderStatus
from notifier.domain import plan
from notifier.domain.catalogue import needs_facts
from notifier.domain.model import EmailPolicy
from tests.unit.notifier import notifier_kit as k

POLICY = k.POLICY


def only(event: object, facts: object = None) -> tuple[str, Role, str | None, str | None]:
    [email] = plan(event, facts, POLICY)  # type: ignore[arg-type]
    return email.template, email.recipient.role, email.recipient.party_id, email.recipient.address


def test_M05_M08_the_client_gets_the_confirmation_link_from_the_event_itself() -> None:
    event = k.sent_to_client()
    [email] = plan(event, None, POLICY)
    assert (email.template, email.recipient.address) == (
        "client_confirmation_request",
        "client@example.com",
    )
    assert email.rules == ("M-05", "M-08")
    link = email.context["confirmation_url"]
    assert (
        link == f"https://example.test/confirm?order={k.ORDER_ID}&token={event.confirmation_token}"
    )
    assert email.context["offer_valid_until"] == "Mon 10 Mar 2025, 09:00 UTC"


def test_M08_the_link_is_built_from_the_configured_url_with_the_token_quoted() -> None:
    policy = EmailPolicy(confirmation_url="https://app.test/c/{order_id}?t={token}")
    event = k.sent_to_client()
    [email] = plan(event, None, policy)
    assert email.context["confirmation_url"] == (
        f"https://app.test/c/{k.ORDER_ID}?t={event.confirmation_token}"
    )


def test_M05_M09_M15_a_rejected_order_emails_the_member_named_when_it_was_created() -> None:
    template, role, party_id, address = only(k.rejected("offer_expired"), k.MANAGED_FACTS)
    assert (template, role, party_id, address) == (
        "order_rejected",
        Role.MEMBER,
        "member-1",
        "member@example.com",
    )


def test_X06_without_the_order_s_parties_the_email_is_planned_without_an_address() -> None:
    [email] = plan(k.rejected(), None, POLICY)
    assert email.recipient.role is Role.MEMBER
    assert email.recipient.address is None, "never a guess: the delivery fails visibly instead"


def test_M13_an_approved_cancellation_request_emails_the_member_and_X11_the_client() -> None:
    emails = plan(k.cancelled(), k.MANAGED_FACTS, POLICY)
    assert [(e.template, e.recipient.role) for e in emails] == [
        ("cancellation_approved", Role.MEMBER),
        ("order_cancelled", Role.CLIENT),
    ]
    assert only(k.cancellation_refused(), k.MANAGED_FACTS)[:2] == (
        "cancellation_refused",
        Role.MEMBER,
    )


def test_M13_other_cancellations_are_not_a_decision_on_a_request() -> None:
    postpaid = plan(k.cancelled(Flow.POSTPAID, OrderStatus.CONFIRMATION), k.POSTPAID_FACTS, POLICY)
    assert {e.template for e in postpaid} == {"order_cancelled"}  # both parties hear
    managed = plan(k.cancelled(Flow.MANAGED, OrderStatus.DRAFT), k.MANAGED_FACTS, POLICY)
    assert "cancellation_approved" not in {e.template for e in managed}


def test_P02_a_new_postpaid_order_emails_the_supplier_who_must_confirm_within_24h() -> None:
    event = k.postpaid_created()
    [email] = plan(event, None, POLICY)
    assert (email.template, email.recipient.party_id) == (
        "order_awaiting_confirmation",
        "supplier-1",
    )
    assert email.context["respond_by"] == "Tue 4 Mar 2025, 09:00 UTC"
    assert email.context["price"] == "40.00 EUR"


def test_M01_A03_a_new_managed_or_account_order_emails_nobody() -> None:
    assert plan(k.managed_created(), None, POLICY) == []
    assert plan(k.account_created(), None, POLICY) == []


def test_P05_an_edit_emails_the_party_it_awaits_with_what_changed() -> None:
    [email] = plan(k.edited(Role.CUSTOMER), k.POSTPAID_FACTS, POLICY)
    assert (email.template, email.recipient.party_id) == (
        "order_edit_awaiting_confirmation",
        "customer-1",
    )
    assert email.context["changes"] == [
        {"label": "Appointment starts", "value": "Thu 6 Mar 2025, 09:00 UTC"},
        {"label": "Appointment ends", "value": "Thu 6 Mar 2025, 10:00 UTC"},
        {"label": "Price", "value": "45.50 EUR"},
    ]
    assert email.context["price_changed"] is True
    [back] = plan(k.edited(Role.SUPPLIER), k.POSTPAID_FACTS, POLICY)
    assert back.recipient.party_id == "supplier-1"


def test_P09_a_proposal_in_progress_emails_the_customer() -> None:
    assert only(k.change_proposed(), k.POSTPAID_FACTS)[:3] == (
        "change_proposed",
        Role.CUSTOMER,
        "customer-1",
    )


def test_P13_the_customer_is_asked_to_confirm_the_execution() -> None:
    [email] = plan(k.service_done(automatic=True), k.POSTPAID_FACTS, POLICY)
    assert (email.template, email.recipient.party_id) == ("execution_to_confirm", "customer-1")
    assert email.context["confirm_by"] == "Sat 8 Mar 2025, 09:00 UTC"


def test_P17_a_closed_order_invites_the_customer_to_review_it_once() -> None:
    assert only(k.order_paid(), k.POSTPAID_FACTS)[0] == "review_invitation"
    assert (
        only(k.execution_confirmed(OrderStatus.CLOSED), k.POSTPAID_FACTS)[0] == "review_invitation"
    )
    assert plan(k.execution_confirmed(OrderStatus.PAYMENT), k.POSTPAID_FACTS, POLICY) == []


def test_A10_a_completed_account_order_emails_its_receipt_to_the_account() -> None:
    assert k.ACCOUNT.contact is not None
    [email] = plan(k.completed(receipt_to=k.ACCOUNT.contact), None, POLICY)
    assert (email.template, email.recipient.address) == ("receipt", "billing@example.com")
    assert email.context["total"] == "60.02 EUR"
    assert email.context["resent"] is False


def test_A10_a_resent_receipt_is_a_new_email_with_the_total_the_terms_give() -> None:
    [email] = plan(k.receipt_resent(), k.ACCOUNT_FACTS, POLICY)
    assert (email.template, email.recipient.party_id) == ("receipt", "acc-1")
    assert (email.context["resent"], email.context["total"]) == (True, "60.02 EUR")


def test_M16_a_completed_managed_order_has_no_receipt_and_sends_nothing() -> None:
    assert plan(k.completed(receipt_to=None, flow=Flow.MANAGED), k.MANAGED_FACTS, POLICY) == []


def test_M10_M11_M12_M14_invoicing_emails_go_to_the_parties_the_events_carry() -> None:
    assert only(k.invoice_drafted())[:3] == ("invoice_draft_ready", Role.MEMBER, "member-1")
    assert only(k.invoice_revised())[:2] == ("invoice_draft_revised", Role.MEMBER)
    assert only(k.invoice_declined())[:2] == ("invoice_changes_declined", Role.MEMBER)
    assert only(k.invoice_issued())[:3] == ("invoice_issued", Role.CLIENT, "client-1")
    assert only(k.invoice_voided())[:2] == ("invoice_voided", Role.CLIENT)


def test_P15_P16_P18_payment_emails_go_to_the_parties_the_events_carry() -> None:
    assert only(k.payment_requested())[:3] == ("payment_due", Role.CUSTOMER, "customer-1")
    overdue = plan(k.payment_overdue(), None, POLICY)
    assert sorted((e.template, e.recipient.party_id) for e in overdue) == [
        ("payment_overdue", "customer-1"),
        ("payment_overdue_supplier", "supplier-1"),
    ]
    assert only(k.claim_opened())[:3] == ("claim_opened", Role.CUSTOMER, "customer-1")
    assert only(k.payout_paid())[:3] == ("payout_sent", Role.SUPPLIER, "supplier-1")


def test_X06_a_delivery_key_is_event_recipient_and_template_and_the_same_on_redelivery() -> None:
    event = k.payment_overdue()
    first = plan(event, None, POLICY)
    again = plan(k.wire(event), None, POLICY)
    assert [e.key for e in first] == [e.key for e in again]
    assert [e.delivery_id for e in first] == [e.delivery_id for e in again]
    assert len({e.key for e in first}) == 2
    for email in first:
        event_id, recipient, template = email.key.split("|")
        assert (event_id, template) == (str(event.message_id), email.template)
        assert "@" not in recipient, "keys appear in logs: no address in them"


def test_X06_the_recipient_key_does_not_depend_on_the_address_s_case() -> None:
    upper = k.party("client-1", Role.CLIENT, "Client@Example.COM")
    assert plan(k.sent_to_client(upper), None, POLICY)[0].recipient.token == (
        plan(k.sent_to_client(), None, POLICY)[0].recipient.token
    )


def test_X06_events_read_the_stored_parties_only_when_an_email_needs_them() -> None:
    assert needs_facts(k.rejected())
    assert needs_facts(k.edited())
    assert not needs_facts(k.completed(receipt_to=Contact(email="a@example.com")))
    assert not needs_facts(k.managed_created())
    assert not needs_facts(k.execution_confirmed(OrderStatus.PAYMENT))


def test_M01_a_draft_edit_that_changes_the_client_changes_who_later_emails_go_to() -> None:
    new_client = k.party("client-2", Role.CLIENT, "new-client@example.com")
    facts = k.facts_of(k.draft_edited(new_client))
    assert facts.party(Role.CLIENT) == new_client
    assert facts.title == "Yearly maintenance"


def test_A10_the_facts_of_an_account_order_total_its_items_exactly() -> None:
    assert k.ACCOUNT_FACTS.total == k.money("60.02")
