"""The three flows' tables, by flow: the one place that lists them."""

from __future__ import annotations

from types import MappingProxyType

from contracts.orders import Flow
from ordering.domain import account, managed, postpaid
from ordering.domain.table import Table

TABLES: MappingProxyType[Flow, Table] = MappingProxyType(
    {
        Flow.MANAGED: managed.TABLE,
        Flow.POSTPAID: postpaid.TABLE,
        Flow.ACCOUNT: account.TABLE,
    }
)
