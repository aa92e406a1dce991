"""Who may see which order, and in whose name a caller may send a command.

    Caller(id, role, accounts)      from the bearer token (gateway.auth); pure data here
    ├── may_see(caller, view)        M-02, M-17, M-19, A-14
    ├── may_send(caller, command)    a command's actor is the caller, or `upstream` acts
    └── role_of_upstream             for anyone (the trusted back office, docs/gateway.md)

Staff see every order of their flow but never a draft (M-02), nor a discarded draft
(M-19): the operator in managed orders, the approver in account orders, as ordering's
tables name them. A party sees the orders it is a party of; an agent also every order of
the accounts its token lists (A-14). `system` and `upstream` see everything.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contracts.envelope import Message, Party, Role
from gateway.domain.view import OrderView

#: The role of a trusted upstream system (a web shop's back end, the billing system): it
#: may send commands in any party's name. It is the gateway's, not an order's role.
UPSTREAM = "upstream"

#: Roles that see every (non-draft) order of a flow: ordering's staff per flow.
STAFF: dict[str, frozenset[str]] = {
    "managed": frozenset({Role.OPERATOR.value}),
    "account": frozenset({Role.APPROVER.value}),
    "postpaid": frozenset(),
}
#: Who writes a draft, per flow (ordering's creation roles): the draft is theirs alone.
DRAFTERS: dict[str, frozenset[str]] = {
    "managed": frozenset({Role.MEMBER.value}),
    "account": frozenset({Role.AGENT.value}),
    "postpaid": frozenset(),
}
_HIDDEN_FROM_STAFF = frozenset({"draft", "discarded"})


class Caller(BaseModel):
    """Who is calling: a party id and a role (an order role, or `upstream`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: str
    #: A-14: for an agent, the accounts whose orders it sees.
    accounts: tuple[str, ...] = ()

    @property
    def sees_all(self) -> bool:
        return self.role in (UPSTREAM, Role.SYSTEM.value)

    def party(self) -> Party | None:
        """The caller as an order party (None for `upstream`, which is none)."""
        return None if self.role == UPSTREAM else Party(id=self.id, role=Role(self.role))


def is_staff(caller: Caller, flow: str | None) -> bool:
    return caller.role in STAFF.get(flow or "", frozenset())


def may_see(caller: Caller, view: OrderView) -> bool:
    """Rules M-02, M-17, M-19, A-14: whether `caller` may see `view` at all."""
    if caller.sees_all:
        return True
    own = caller.id in view.party_ids()
    if view.status in _HIDDEN_FROM_STAFF:
        drafter = caller.role in DRAFTERS.get(view.flow or "", frozenset())
        return drafter and any(p.id == caller.id and p.role == caller.role for p in view.parties)
    if own or is_staff(caller, view.flow):
        return True
    return caller.role == Role.AGENT.value and view.account_id in caller.accounts


def may_send(caller: Caller, message: Message) -> bool:
    """A command's actor must be the caller itself; `upstream` may name any actor."""
    if caller.role == UPSTREAM:
        return True
    return message.actor.id == caller.id and message.actor.role.value == caller.role


def statuses_for(caller: Caller) -> frozenset[str] | None:
    """Statuses a staff member never lists (M-02, M-19); None: no such limit."""
    return _HIDDEN_FROM_STAFF if caller.role in (Role.OPERATOR, Role.APPROVER) else None
