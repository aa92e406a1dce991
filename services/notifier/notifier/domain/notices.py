"""The shape of the notifier's table: which event sends which email to whom. Data.

    Notice          one row: an event class, a condition, a recipient, a template, rules
    └── recipient   how the address is found, always from what events told:
        ├── PartyOf(field)       the event carries the party with its contact
        ├── ContactOf(field)     the event carries a bare contact (a receipt's address)
        ├── OtherParty()         the event's parties, the one not in the actor's role
        ├── StoredParty(role)    the order's party in that role, from OrderCreated and
        │                        DraftEdited (`OrderFacts`)
        └── AwaitingParty()      the stored party in the role the event waits for

The email table in docs/notifier.md is rendered from the rows; `plan` turns an event
into its emails by walking them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from contracts.envelope import Contact, Event, Role
from contracts.orders import OrderParty
from notifier.domain.formatting import one_line
from notifier.domain.model import EmailPolicy, OrderFacts, Recipient
from servicekit.tables import message_type

E = TypeVar("E", bound=Event)

Context = Callable[[Any, OrderFacts | None, EmailPolicy], Mapping[str, Any]]


class RecipientRule(Protocol):
    @property
    def needs_facts(self) -> bool:
        """Whether the rule reads the stored `OrderFacts` (the handler looks them up)."""
        ...

    def resolve(self, event: Any, facts: OrderFacts | None) -> Recipient: ...

    def describe(self) -> str: ...


def _recipient(party: OrderParty | None, role: Role) -> Recipient:
    if party is None:
        return _addressed(role, None, None)
    return _addressed(party.role, party.id, party.contact)


def _addressed(role: Role, party_id: str | None, contact: Contact | None) -> Recipient:
    return Recipient(
        role=role,
        party_id=party_id,
        address=str(contact.email) if contact else None,
        name=one_line(contact.name) if contact else "",
        timezone=contact.timezone if contact else None,
    )


@dataclass(frozen=True)
class PartyOf:
    """The event carries the recipient as a party with its contact."""

    field: str
    role: Role
    needs_facts = False

    def resolve(self, event: Any, facts: OrderFacts | None) -> Recipient:
        party = getattr(event, self.field)
        assert party is None or isinstance(party, OrderParty)
        return _recipient(party, self.role)

    def describe(self) -> str:
        return f"{self.role.value} (`{self.field}` of the event)"


@dataclass(frozen=True)
class ContactOf(PartyOf):
    """The event carries a bare contact: the address a receipt goes to (A-10)."""

    def resolve(self, event: Any, facts: OrderFacts | None) -> Recipient:
        contact = getattr(event, self.field)
        assert contact is None or isinstance(contact, Contact)
        party = facts.party(self.role) if facts else None
        return _addressed(self.role, party.id if party else None, contact)


@dataclass(frozen=True)
class OtherParty:
    """Of the event's `parties`, the one whose role is not the actor's (P-02)."""

    role: Role
    needs_facts = False

    def resolve(self, event: Any, facts: OrderFacts | None) -> Recipient:
        parties: list[OrderParty] = list(event.parties)
        other = next((p for p in parties if p.role is not event.actor.role), None)
        return _recipient(other, other.role if other else self.role)

    def describe(self) -> str:
        return f"the other party, the {self.role.value} (`parties` of the event)"


@dataclass(frozen=True)
class StoredParty:
    """The order's party in `role`, as OrderCreated / DraftEdited named it."""

    role: Role
    needs_facts = True

    def resolve(self, event: Any, facts: OrderFacts | None) -> Recipient:
        return _recipient(facts.party(self.role) if facts else None, self.role)

    def describe(self) -> str:
        return f"{self.role.value} (the order's parties)"


@dataclass(frozen=True)
class AwaitingParty:
    """The order's party in the role the event says it waits for (P-05)."""

    needs_facts = True

    def resolve(self, event: Any, facts: OrderFacts | None) -> Recipient:
        role = Role(event.awaiting)
        return _recipient(facts.party(role) if facts else None, role)

    def describe(self) -> str:
        return "the party in `awaiting` (the order's parties)"


def reason(event: Any, facts: OrderFacts | None, policy: EmailPolicy) -> Mapping[str, Any]:
    """M-11, M-13, A-13: a decision's reason as its maker gave it: the operator kept the
    invoice draft, approved or refused a cancellation; the approver refused an order (a
    draft again, to change and place)."""
    return {"reason": event.reason}


def always(event: Any) -> bool:
    return True


@dataclass(frozen=True)
class Notice(Generic[E]):
    """One row: when `event` happens (and `when` holds), email `to` with `template`."""

    event: type[E]
    topic: str
    template: str
    to: RecipientRule
    rules: tuple[str, ...]
    context: Context
    when: Callable[[E], bool] = always
    guard: str = ""
    #: The context reads `OrderFacts` (the title, a receipt's total) when it has them; False
    #: where the event tells all (a receipt with its total; OrderCreated, learned from).
    uses_facts: bool = True

    @property
    def event_type(self) -> str:
        return message_type(self.event)

    @property
    def needs_facts(self) -> bool:
        return self.to.needs_facts or self.uses_facts


#: A module's part of the table: the rows of each of its emails.
Rows = tuple[Notice[Any], ...]


def notice(
    event: type[E],
    topic: str,
    template: str,
    *,
    to: RecipientRule | tuple[RecipientRule, ...],
    rules: str,
    context: Context,
    when: Callable[[E], bool] = always,
    guard: str = "",
    uses_facts: bool = True,
) -> Rows:
    """The rows of one email, one per recipient (X-11: the same email to each party of
    `to`); `rules` is a space-separated list of rule ids."""
    ids = tuple(rules.split())
    each = to if isinstance(to, tuple) else (to,)
    return tuple(
        Notice(event, topic, template, r, ids, context, when, guard, uses_facts) for r in each
    )
