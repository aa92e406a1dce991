"""Checks more than one flow uses."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.envelope import Party, Role
from contracts.orders import OrderParty


def parties_problem(
    parties: Iterable[OrderParty],
    creator: Party,
    roles: frozenset[Role],
    needs_contact: frozenset[Role] = frozenset(),
) -> str | None:
    """Why `parties` cannot be an order's parties, if they cannot: one party per role of
    `roles` and no other, the creator among them, contacts where emails will go."""
    listed = list(parties)
    seen = [p.role for p in listed]
    for role in sorted(roles):
        if seen.count(role) != 1:
            return f"an order needs exactly one {role.value}"
    if extra := {r for r in seen if r not in roles}:
        return f"an order of this kind has no {', '.join(sorted(r.value for r in extra))}"
    if not any(p.party == creator for p in listed):
        return "the creator must be one of the order's parties"
    for p in listed:
        if p.role in needs_contact and p.contact is None:
            return f"the {p.role.value} needs an email address"
    return None


def replace_party(parties: tuple[OrderParty, ...], new: OrderParty) -> tuple[OrderParty, ...]:
    """`parties` with the party in `new`'s role swapped for `new`."""
    return tuple(new if p.role is new.role else p for p in parties)
