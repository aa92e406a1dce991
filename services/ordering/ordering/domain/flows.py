"""The three flows' tables, by flow: the one place that lists them.

Each is a `servicekit.tables.Table` named after its flow: its creation row (source None,
CreateOrder), a row per status x command or deadline, its ends (Rule X-10) and its staff.
"""

from __future__ import annotations

from types import MappingProxyType

from contracts.orders import CreateOrder, Flow, OrderStatus
from ordering.domain import account, managed, postpaid
from servicekit.tables import Row, Table, message_type

CREATE = message_type(CreateOrder)

TABLES: MappingProxyType[Flow, Table[OrderStatus]] = MappingProxyType(
    {
        Flow.MANAGED: managed.TABLE,
        Flow.POSTPAID: postpaid.TABLE,
        Flow.ACCOUNT: account.TABLE,
    }
)


def creation(flow: Flow) -> Row[OrderStatus]:
    """The row by which an order of `flow` comes to exist: who, and in which status."""
    row = TABLES[flow].row(None, CREATE)
    assert row is not None, f"{flow}: every flow's table starts with CreateOrder"
    return row
