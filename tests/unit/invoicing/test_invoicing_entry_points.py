"""invoicing decides like ordering and payments (issue 18): `(ledger, message, now, ctx)`,
its Step built inside the domain, its message ids the ones they always were
(`derived_id(cause, index, "invoicing")`), a refusal servicekit's `rejected` Decision."""

from __future__ import annotations

from contracts.envelope import derived_id
from contracts.invoicing import InvoicingCommandRejected, RequestInvoiceChanges, RunBillCycle
from invoicing.domain import INVOICING, NumberTaken, number_cause, on_command, on_number
from tests.unit.invoicing.invoicing_kit import (
    MEMBER,
    OPERATOR,
    Scenario,
    account_scenario,
    active_scenario,
    command,
    draft_deadline,
    invoice_id,
    issue_deadline,
    order_activated,
    order_created,
)


def test_X09_an_event_s_messages_have_ids_derived_from_it_salted_invoicing() -> None:
    sc = Scenario()
    sc.order(order_created())
    activated = order_activated()
    decision = sc.order(activated)
    ids = [e.message_id for e in decision.events]
    assert ids == [derived_id(activated.message_id, i, "invoicing") for i in range(len(ids))]
    assert all(e.correlation_id == activated.correlation_id for e in decision.events)
    assert all(e.causation_id == activated.message_id for e in decision.events)


def test_X07_a_refused_command_is_servicekit_s_rejected_decision_with_the_first_id() -> None:
    sc = active_scenario()
    sc.fire(draft_deadline(1))
    sc.fire(issue_deadline(1))  # issued: changes can no longer be asked for
    refused = command(RequestInvoiceChanges, MEMBER.party, invoice_id=invoice_id(1), message="no")
    decision = on_command(sc.ledger, refused, sc.now, sc.ctx)
    assert decision.rejection is not None and not decision.accepted
    assert decision.rejection.reason.value == "not_allowed_in_status"
    answer = decision.rejection_event
    assert isinstance(answer, InvoicingCommandRejected)
    assert answer.message_id == derived_id(refused.message_id, 0, "invoicing")
    assert (answer.correlation_id, answer.causation_id) == (
        refused.correlation_id,
        refused.message_id,
    )
    assert (answer.actor, answer.occurred_at) == (INVOICING, sc.now)
    assert (answer.invoice_id, answer.account_id) == (invoice_id(1), None)
    assert (answer.command_type, answer.command_id) == (refused.type, refused.message_id)
    assert not decision.events and not decision.changed


def test_X07_a_refused_bill_cycle_names_its_account() -> None:
    sc = account_scenario()
    refused = command(RunBillCycle, OPERATOR, account_id="nobody")
    answer = on_command(sc.ledger, refused, sc.now, sc.ctx).rejection_event
    assert isinstance(answer, InvoicingCommandRejected)
    assert (answer.reason, answer.account_id, answer.invoice_id) == (
        "unknown_account",
        "nobody",
        None,
    )
    assert answer.message_id == derived_id(refused.message_id, 0, "invoicing")


class Unnumbered(Scenario):
    """A scenario whose issued invoices wait for their numbers."""

    def number_pending(self) -> None:
        return None


def test_M12_a_number_s_messages_are_caused_by_the_number_in_the_invoice_s_correlation() -> None:
    sc = Unnumbered()
    sc.order(order_created())
    sc.order(order_activated())
    sc.fire(draft_deadline(1))
    sc.fire(issue_deadline(1))
    taken = NumberTaken(invoice_id(1), 7)
    [issued] = on_number(sc.ledger, taken, sc.now, sc.ctx).events
    cause = number_cause(invoice_id(1))
    assert issued.message_id == derived_id(cause, 0, "invoicing")
    assert (issued.causation_id, issued.correlation_id) == (cause, sc.invoice(1).correlation_id)
    assert getattr(issued, "number", None) == 7
    sc.apply(on_number(sc.ledger, taken, sc.now, sc.ctx))
    assert not on_number(sc.ledger, taken, sc.now, sc.ctx).events  # numbered already
