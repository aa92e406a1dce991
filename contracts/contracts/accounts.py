"""Accounts of the billing system (seed 003), published upstream on `accounts.events`.

ordering keeps what it needs to judge A-01 and A-05 (the account exists, its creation
date, its oldest open bill cycle) and A-02 (search by name or email); invoicing bills
each account at its bill-cycle run (A-11).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from contracts.envelope import Contact, Event, MessageUnion


class AccountOpened(Event):
    """An account exists from `created_on`; its contact gets receipts (A-10)."""

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
