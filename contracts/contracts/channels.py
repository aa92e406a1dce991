"""Every topic as published to integrators: its messages, its Kafka key, who writes it.

    CHANNELS        topic -> Channel(messages, upstream, summary)
    key_of(cls)     the Kafka key of one message class: which field, and in words

The README's topic table, docs/asyncapi and docs/schemas are generated from this data
(`make docs`), so the key of a message is said in one place: here, beside the models'
own `kafka_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts import topics
from contracts.accounts import ACCOUNT_ANSWERS, ACCOUNT_EVENTS
from contracts.envelope import Message, MessageUnion
from contracts.invoicing import (
    INVOICING_COMMANDS,
    INVOICING_EVENTS,
    InvoiceCommand,
    InvoiceEvent,
    InvoicingCommandRejected,
)
from contracts.notifications import NOTIFICATION_EVENTS, NotificationEvent
from contracts.orders import ORDER_COMMANDS, ORDER_EVENTS
from contracts.payments import PAYMENT_COMMANDS, PAYMENT_EVENTS
from contracts.suppliers import SUPPLIER_COMMANDS, SUPPLIER_EVENTS
from contracts.timers import TIMER_COMMANDS, TIMER_EVENTS


@dataclass(frozen=True)
class Channel:
    """One topic: the messages it carries and whether systems outside orderflow write it."""

    topic: str
    messages: MessageUnion[Any]
    #: Written by upstream systems (X-07): what the services accept is what is published.
    upstream: bool
    summary: str


CHANNELS: tuple[Channel, ...] = (
    Channel(topics.ORDERS_COMMANDS, ORDER_COMMANDS, True, "Commands to ordering."),
    Channel(topics.ORDERS_EVENTS, ORDER_EVENTS, False, "Every order event and rejection."),
    Channel(topics.ACCOUNTS_EVENTS, ACCOUNT_EVENTS, True, "Accounts, from the billing system."),
    Channel(topics.TIMERS_COMMANDS, TIMER_COMMANDS, False, "Deadlines the services set."),
    Channel(topics.TIMERS_EVENTS, TIMER_EVENTS, False, "Deadlines fired, timer refusals."),
    Channel(topics.INVOICING_COMMANDS, INVOICING_COMMANDS, True, "Commands to invoicing."),
    Channel(topics.INVOICING_EVENTS, INVOICING_EVENTS, False, "Every invoice event."),
    Channel(topics.PAYMENTS_COMMANDS, PAYMENT_COMMANDS, True, "Commands to payments."),
    Channel(topics.PAYMENTS_EVENTS, PAYMENT_EVENTS, False, "Every payment event."),
    Channel(topics.NOTIFICATIONS_EVENTS, NOTIFICATION_EVENTS, False, "Every email sent or failed."),
    Channel(topics.ACCOUNTS_ANSWERS, ACCOUNT_ANSWERS, False, "ordering's answer to each account."),
    Channel(
        topics.SUPPLIERS_COMMANDS, SUPPLIER_COMMANDS, True, "Suppliers' settings (P-11, P-14)."
    ),
    Channel(topics.SUPPLIERS_EVENTS, SUPPLIER_EVENTS, False, "Suppliers' settings recorded."),
)

BY_TOPIC: dict[str, Channel] = {c.topic: c for c in CHANNELS}


@dataclass(frozen=True)
class Key:
    """The Kafka key of a message: the fields it comes from, and the rule in words."""

    fields: tuple[str, ...]
    description: str
    #: A few words for tables; by default the fields, "a or b".
    short: str = ""

    @property
    def label(self) -> str:
        return self.short or " or ".join(self.fields)


#: Message classes whose `kafka_key` is not simply their `key_field`, most specific first.
_SPECIAL_KEYS: tuple[tuple[type[Message], Key], ...] = (
    (
        InvoicingCommandRejected,
        Key(
            ("invoice_id", "account_id"),
            "The owner of `invoice_id` (the order id of `order/<order id>/<n>`, the account "
            "id of `account/<account id>/...`); without an invoice, `account_id`.",
            "invoice_id's owner or account_id",
        ),
    ),
    (
        InvoiceCommand,
        Key(
            ("invoice_id",),
            "The owner of `invoice_id`: the order id of `order/<order id>/<n>`, the account "
            "id (percent-decoded) of `account/<account id>/<cycle>-<currency>`.",
            "invoice_id's owner",
        ),
    ),
    (
        InvoiceEvent,
        Key(("order_id", "account_id"), "`order_id`; for a bill-cycle invoice, `account_id`."),
    ),
    (
        NotificationEvent,
        Key(("order_id", "account_id"), "`order_id`; for an account's invoice, `account_id`."),
    ),
)


def key_of(cls: type[Message]) -> Key:
    """The Kafka key of messages of `cls`, as its `kafka_key` computes it."""
    for base, key in _SPECIAL_KEYS:
        if issubclass(cls, base):
            return key
    return Key((cls.key_field,), f"`{cls.key_field}`, as a string.")
