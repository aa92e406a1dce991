"""Accounts of the billing system (seed 003), published upstream on `accounts.events`.

ordering keeps what it needs to judge A-01 and A-05 (the account exists, its creation
date, its oldest open bill cycle) and A-02 (search by name or email); invoicing bills
each account at its bill-cycle run (A-11).

    accounts.events    upstream ─▶ ordering, invoicing   AccountOpened, AccountUpdated
    accounts.answers   ordering ─▶ upstream              AccountRegistered, AccountRejected

The billing system acts as a `system` party (`actor.role` = `system`). ordering answers
each account event on `accounts.answers` (X-07), keyed by the account id: once the
`AccountRegistered` of an `AccountOpened` is there, orders for the account are judged by it.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from contracts.envelope import Contact, Event, MessageUnion
from contracts.reasons import published_codes


class AccountOpened(Event):
    """An account exists from `created_on`; its contact gets receipts (A-10).

    Published by the billing system as a `system` actor; ordering answers it on
    `accounts.answers` (`AccountRegistered`, or `AccountRejected` with a reason).
    """

    type: Literal["AccountOpened"] = "AccountOpened"
    key_field: ClassVar[str] = "account_id"

    account_id: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    contact: Contact
    created_on: date
    #: Day of the month the account's bill cycle runs (A-11), 1 to 28.
    bill_cycle_day: Annotated[int, Field(ge=1, le=28)] = 1
    #: A-05: start of the oldest bill cycle not yet run, if any.
    oldest_open_cycle_start: date | None = None


class AccountUpdated(AccountOpened):
    """The account's details changed; the whole record is restated."""

    type: Literal["AccountUpdated"] = "AccountUpdated"  # type: ignore[assignment]


AccountEvent = Annotated[AccountOpened | AccountUpdated, Field(discriminator="type")]
ACCOUNT_EVENTS: MessageUnion[AccountOpened] = MessageUnion(AccountOpened, AccountUpdated)


class AccountRejectionReason(StrEnum):
    """The stable, machine-readable codes of `AccountRejected.reason`."""

    NOT_AUTHORIZED = "not_authorized"


#: What each `AccountRejectionReason` means (published with the code in docs/asyncapi).
ACCOUNT_REJECTION_REASON_MEANINGS: dict[str, str] = {
    AccountRejectionReason.NOT_AUTHORIZED: (
        "Accounts come from the billing system: the event's `actor.role` must be `system`."
    ),
}
AccountReasonCode = Annotated[
    str, published_codes(AccountRejectionReason, ACCOUNT_REJECTION_REASON_MEANINGS)
]


class AccountAnswer(Event):
    """ordering's answer to one account event (X-07), keyed by the account id."""

    key_field: ClassVar[str] = "account_id"

    account_id: str
    #: The account event answered: its `message_id` and `type`.
    event_id: uuid.UUID
    event_type: str


class AccountRegistered(AccountAnswer):
    """ordering has the account as the event states it: orders may now name it (A-01)."""

    type: Literal["AccountRegistered"] = "AccountRegistered"
    #: A-05: the earliest order date ordering accepts for the account.
    earliest_order_date: date


class AccountRejected(AccountAnswer):
    """ordering refused the account event and keeps what it had (nothing, for a new one)."""

    type: Literal["AccountRejected"] = "AccountRejected"
    reason: AccountReasonCode
    message: str


ACCOUNT_ANSWERS: MessageUnion[AccountAnswer] = MessageUnion(AccountRegistered, AccountRejected)
