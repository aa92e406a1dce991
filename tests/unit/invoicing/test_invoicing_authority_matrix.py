"""The authority matrix (docs/authority.md) holds for invoicing: every invoice command,
sent as every role in every relation to the order, is refused `not_authorized` exactly
where the matrix says so. The matrix is read from the table; the answers from `decide`."""

from __future__ import annotations

import pytest

from contracts.envelope import Party, Role
from contracts.invoicing import InvoiceStatus, InvoicingCommandRejected, InvoicingRejectionReason
from invoicing.domain import TABLE
from servicekit.authority import command_rows
from tests.support.authority import check_matrix
from tests.unit.invoicing.invoicing_kit import CLIENT, MEMBER, PAYMENTS, command, invoice_id
from tests.unit.invoicing.test_invoicing_table import COMMANDS, invoice_in

OWN: dict[Role, Party] = {Role.MEMBER: MEMBER.party, Role.CLIENT: CLIENT.party}


def test_every_invoice_command_of_the_table_is_in_the_matrix() -> None:
    assert set(command_rows(TABLE)) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_X07_each_role_and_relation_gets_the_answer_the_matrix_gives(name: str) -> None:
    cls, fields = COMMANDS[name]
    (row, *_) = command_rows(TABLE)[name]
    assert isinstance(row.source, InvoiceStatus)
    status = row.source

    def send(who: Party) -> InvoicingRejectionReason | None:
        sc = invoice_in(status)
        decision = sc.do(command(cls, who, invoice_id=invoice_id(1), **fields))
        rejected = decision.rejection_event
        assert rejected is None or isinstance(rejected, InvoicingCommandRejected)
        return None if rejected is None else InvoicingRejectionReason(rejected.reason)

    check_matrix(
        TABLE,
        name,
        send,
        own=OWN,
        system=PAYMENTS,
        not_authorized=InvoicingRejectionReason.NOT_AUTHORIZED,
    )
