"""Messages about suppliers' settings, owned by ordering (P-11, P-14).

    SupplierCommand (Command)     on suppliers.commands; strict; keyed by `supplier_id`
    └── SetSupplierSettings       a new version of the supplier's settings, in force from
                                  `effective_from` (from the platform, role system, or the
                                  supplier itself)
    SupplierEvent (Event)         on suppliers.events; tolerant; keyed by `supplier_id`
    ├── SupplierSettingsSet       the version recorded (every version is kept)
    └── SupplierCommandRejected   the answer to a refused command, with a reason code

An order takes the version in force when it is booked (`PostpaidTerms.payment_stage` and
`PostpaidTerms.cancellation_policy` on `OrderCreated`); a later version never changes it.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime

from contracts.envelope import Command, Event, FieldError, MessageUnion
from contracts.orders.values import CancellationPolicy, Name
from contracts.reasons import published_codes


class SupplierRejectionReason(StrEnum):
    """The stable, machine-readable codes of `SupplierCommandRejected.reason`."""

    NOT_AUTHORIZED = "not_authorized"
    INVALID = "invalid"


#: What each `SupplierRejectionReason` means (published with the code in docs/asyncapi).
SUPPLIER_REJECTION_REASON_MEANINGS: dict[str, str] = {
    SupplierRejectionReason.NOT_AUTHORIZED: (
        "Only the platform (role `system`) or the supplier itself (role `supplier`, the "
        "same id) sets a supplier's settings."
    ),
    SupplierRejectionReason.INVALID: (
        "X-13: the command's content does not match its schema; `errors` says where."
    ),
}
SupplierReasonCode = Annotated[
    str, published_codes(SupplierRejectionReason, SUPPLIER_REJECTION_REASON_MEANINGS)
]


class SupplierCommand(Command):
    key_field: ClassVar[str] = "supplier_id"

    supplier_id: Name


class SetSupplierSettings(SupplierCommand):
    """P-11/P-14: the supplier's settings from `effective_from` on. `cancellation_policy`
    None: the supplier has none of its own (payments applies its default)."""

    type: Literal["SetSupplierSettings"] = "SetSupplierSettings"
    effective_from: AwareDatetime
    payment_stage: bool
    cancellation_policy: CancellationPolicy | None = None


class SupplierEvent(Event):
    key_field: ClassVar[str] = "supplier_id"

    supplier_id: str


class SupplierSettingsSet(SupplierEvent):
    """A version recorded; `settings_id` names it (the id of the command that set it)."""

    type: Literal["SupplierSettingsSet"] = "SupplierSettingsSet"
    settings_id: str
    effective_from: AwareDatetime
    payment_stage: bool
    cancellation_policy: CancellationPolicy | None = None


class SupplierCommandRejected(SupplierEvent):
    """X-07: a command was refused; `reason` is a `SupplierRejectionReason` value."""

    type: Literal["SupplierCommandRejected"] = "SupplierCommandRejected"
    command_type: str
    command_id: uuid.UUID
    reason: SupplierReasonCode
    message: str
    #: X-13: what is wrong with an invalid command, field by field.
    errors: list[FieldError] = []


SUPPLIER_COMMANDS: MessageUnion[SupplierCommand] = MessageUnion(SetSupplierSettings)
SUPPLIER_EVENTS: MessageUnion[SupplierEvent] = MessageUnion(
    SupplierSettingsSet, SupplierCommandRejected
)
