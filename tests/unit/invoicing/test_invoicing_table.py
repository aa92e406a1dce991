"""Every (status, command) pair, legal or not, against an expectation written out here
independently of the table."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.envelope import Party
from contracts.invoicing import (
    DeclineInvoiceChanges,
    InvoiceCommand,
    InvoiceLine,
    InvoiceStatus,
    RecordInvoicePayment,
    RequestInvoiceChanges,
    ReviseInvoiceDraft,
)
from invoicing.domain import TABLE
from tests.unit.invoicing.invoicing_kit import (
    MEMBER,
    OPERATOR,
    PAYMENTS,
    Scenario,
    active_scenario,
    command,
    draft_deadline,
    eur,
    invoice_id,
    issue_deadline,
    order_cancelled,
)

S = InvoiceStatus

#: (status, command) -> (statuses it may lead to, roles that may send it)
EXPECTED: dict[tuple[str, str], tuple[set[str], set[str]]] = {
    ("draft", "RequestInvoiceChanges"): ({"changes_requested"}, {"member"}),
    ("changes_requested", "ReviseInvoiceDraft"): ({"draft", "issued"}, {"operator"}),
    ("changes_requested", "DeclineInvoiceChanges"): ({"draft", "issued"}, {"operator"}),
    ("issued", "RecordInvoicePayment"): ({"issued"}, {"operator", "system"}),
}

LINE = InvoiceLine(description="x", unit_price=eur("1").amount, amount=eur("1").amount)
COMMANDS: dict[str, tuple[type[InvoiceCommand], dict[str, Any]]] = {
    "RequestInvoiceChanges": (RequestInvoiceChanges, {"message": "please"}),
    "ReviseInvoiceDraft": (ReviseInvoiceDraft, {"lines": [LINE], "total": eur("1")}),
    "DeclineInvoiceChanges": (DeclineInvoiceChanges, {"reason": "no"}),
    "RecordInvoicePayment": (RecordInvoicePayment, {"payment_id": "p", "amount": eur("1")}),
}
ACTORS: dict[str, Party] = {"member": MEMBER.party, "operator": OPERATOR, "system": PAYMENTS}


def invoice_in(status: InvoiceStatus) -> Scenario:
    sc = active_scenario()
    if status is S.PLANNED:
        return sc
    if status is S.CANCELLED:
        sc.order(order_cancelled())
        return sc
    sc.fire(draft_deadline(1))
    if status is S.CHANGES_REQUESTED:
        sc.do(command(RequestInvoiceChanges, MEMBER.party, invoice_id=invoice_id(1), message="m"))
    if status in (S.ISSUED, S.VOIDED):
        sc.fire(issue_deadline(1))
    if status is S.VOIDED:
        sc.order(order_cancelled())
    assert sc.invoice(1).status is status
    return sc


def test_the_table_lists_exactly_the_expected_commands() -> None:
    found = {
        (e.source.value, e.trigger): (
            {t.value for t in e.targets if t is not None},
            {r.value for r in e.roles},
        )
        for e in TABLE.rows
        if e.roles and e.source is not None
    }
    assert found == EXPECTED


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("role", sorted(ACTORS))
def test_every_status_command_and_role_is_accepted_or_refused_as_expected(
    status: InvoiceStatus, name: str, role: str
) -> None:
    sc = invoice_in(status)
    cls, fields = COMMANDS[name]
    sc.do(command(cls, ACTORS[role], invoice_id=invoice_id(1), **fields))
    targets, roles = EXPECTED.get((status.value, name), (set(), set()))
    if not targets:
        assert sc.last_rejection() == "not_allowed_in_status"
    elif role not in roles:
        assert sc.last_rejection() == "not_authorized"
    else:
        assert not sc.rejections, sc.rejections
        assert sc.invoice(1).status.value in targets


def test_cancelled_and_voided_are_terminal() -> None:
    assert TABLE.terminal == {S.CANCELLED, S.VOIDED}
