"""Who may act on an order, and who may see it.

A party of the order (member, client, supplier, customer, agent) acts on its own orders
only, and only through the roles the flow's table names for a transition. Staff roles
(operator, approver, the system) act on any order of their flow, also only where the
table names them. Visibility is a query rule the read side applies with `visible_to`.
"""

from __future__ import annotations

from contracts.envelope import Party, Role
from contracts.orders import OrderStatus
from ordering.domain.flows import TABLES, creation
from ordering.domain.model import Order


def is_staff(order: Order, party: Party) -> bool:
    """Whether `party`'s role acts on every order of `order`'s flow."""
    return party.role in TABLES[order.flow].staff


def may_act_on(order: Order, party: Party) -> bool:
    """A party of the order, or staff of its flow; the table then checks the role."""
    return order.has_party(party) or is_staff(order, party)


def visible_to(order: Order, party: Party) -> bool:
    """Whether `party` may see `order` in a list or by id (Rules M-02, M-17, A-09).

    A draft is its creator's alone: no operator (M-02), client or approver sees it; so
    is a discarded draft (M-19). Otherwise parties see their own orders, staff every order of their flow, and the
    system everything. Cancelled orders stay visible (A-09).
    """
    if party.role is Role.SYSTEM:
        return True
    if order.status in (OrderStatus.DRAFT, OrderStatus.DISCARDED):
        creators = creation(order.flow).roles
        return party.role in creators and order.has_party(party)
    return may_act_on(order, party)
