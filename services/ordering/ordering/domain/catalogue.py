"""Read-only snapshots the handler passes in for account orders (A-01 to A-07).

The domain never fetches them: the handler reads what the command needs (the account,
the catalogue) and hands it over as plain data, so `decide` stays pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from contracts.envelope import Contact


@dataclass(frozen=True)
class AccountRecord:
    account_id: str
    name: str
    contact: Contact
    created_on: date
    #: A-05: the start of the oldest bill cycle not yet run, if there is one.
    oldest_open_cycle_start: date | None = None

    @property
    def earliest_order_date(self) -> date:
        """A-05: an order may be backdated to here and no further."""
        if self.oldest_open_cycle_start is None:
            return self.created_on
        return max(self.created_on, self.oldest_open_cycle_start)


@dataclass(frozen=True)
class AccountDirectory:
    accounts: Mapping[str, AccountRecord] = field(default_factory=dict)

    def get(self, account_id: str) -> AccountRecord | None:
        return self.accounts.get(account_id)

    def search(self, text: str) -> list[AccountRecord]:
        """A-02: accounts whose name or email contains `text`, case-insensitively."""
        needle = text.strip().casefold()
        if not needle:
            return []
        return sorted(
            (
                a
                for a in self.accounts.values()
                if needle in a.name.casefold() or needle in a.contact.email.casefold()
            ),
            key=lambda a: a.name.casefold(),
        )


@dataclass(frozen=True)
class Product:
    product_id: str
    available: bool = True
    #: A-07: orders with this product need approval before completion.
    needs_approval: bool = False
    #: A-06: configuration names an item of this product must have to complete.
    required_configurations: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Catalogue:
    products: Mapping[str, Product] = field(default_factory=dict)
    currencies: frozenset[str] = frozenset()
    #: A-04: payment method -> the currencies its gateway is configured for.
    payment_methods: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: A-07: every order of this catalogue needs approval.
    approval_required: bool = False
