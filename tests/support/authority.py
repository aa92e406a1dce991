"""The one loop behind every domain's authority-matrix test (docs/authority.md): send a
command as every role in every relation to the order and compare each answer with the
matrix read from the table (servicekit.authority)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from contracts.envelope import Party, Role
from servicekit.authority import PARTY_ROLES, Answer, Relation, answer
from servicekit.tables import Table

#: Sends the command as the party given, from a fresh aggregate in a status where the
#: command has a row, and returns the rejection's reason (None when not refused).
Send = Callable[[Party], StrEnum | None]


def actor(role: Role, relation: Relation, own: Mapping[Role, Party], system: Party) -> Party | None:
    """Who sends: the order's own party of `role` (None if it has none), a party of
    another order, an id nobody knows, or the platform."""
    if relation is Relation.SYSTEM:
        return system
    if relation is Relation.OWN:
        return own.get(role)
    if relation is Relation.OTHER:
        return Party(id=f"{role.value}-of-another-order", role=role)
    return Party(id="someone-nobody-knows", role=role)


def check_matrix(
    table: Table[Any],
    command: str,
    send: Send,
    *,
    own: Mapping[Role, Party],
    system: Party,
    not_authorized: StrEnum,
) -> None:
    """Every role and relation gets the matrix's answer for `command`; someone may send it."""
    allowed = 0
    for relation in Relation:
        for role in (Role.SYSTEM,) if relation is Relation.SYSTEM else PARTY_ROLES:
            expected = answer(table, command, role, relation)
            who = actor(role, relation, own, system)
            if who is None:  # no order has a party in that role: only staff may be named
                assert expected is Answer.NOT_AUTHORIZED or role in table.staff, role
                continue
            reason = send(who)
            refused = reason is not None and reason.value == not_authorized.value
            assert refused == (expected is Answer.NOT_AUTHORIZED), (role, relation, reason)
            allowed += expected is Answer.ALLOWED
    assert allowed, f"nobody may send {command}"
