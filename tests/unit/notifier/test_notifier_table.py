"""The table of emails is data: complete, consistent with the contracts, and the source of
docs/notifier.md's generated parts (a drift fails here)."""

from __future__ import annotations

import re

import pytest

from contracts.invoicing import INVOICING_EVENTS
from contracts.orders import ORDER_EVENTS
from contracts.payments import PAYMENT_EVENTS
from contracts.topics import INVOICING_EVENTS as INVOICING_TOPIC
from contracts.topics import ORDERS_EVENTS, PAYMENTS_EVENTS
from notifier import docs
from notifier.domain import CATALOGUE, TABLE
from notifier.domain.docs import deliveries_diagram, emails_table

UNIONS = {
    ORDERS_EVENTS: ORDER_EVENTS,
    INVOICING_TOPIC: INVOICING_EVENTS,
    PAYMENTS_EVENTS: PAYMENT_EVENTS,
}

#: The emails issue 8 names, by the rules it cites, and the template that answers each.
NAMED = {
    "M-05": "client_confirmation_request",
    "M-08": "client_confirmation_request",
    "M-10": "invoice_draft_ready",
    "M-11": "invoice_draft_revised",
    "M-12": "invoice_issued",
    "M-13": "cancellation_approved",
    "M-09": "order_rejected",
    "M-15": "order_rejected",
    "P-02": "order_awaiting_confirmation",
    "P-05": "order_edit_awaiting_confirmation",
    "P-13": "execution_to_confirm",
    "P-15": "payment_due",
    "P-16": "payment_overdue",
    "P-17": "review_invitation",
    "P-18": "payout_sent",
    "A-10": "receipt",
}


@pytest.mark.parametrize("row", CATALOGUE.notices, ids=lambda r: f"{r.event_type}:{r.template}")
def test_X06_every_row_names_an_event_of_its_topic(row: object) -> None:
    union = UNIONS[row.topic]  # type: ignore[attr-defined]
    assert union.classes[row.event_type] is row.event  # type: ignore[attr-defined]


@pytest.mark.parametrize("rule", sorted(NAMED))
def test_X06_every_email_the_rules_name_has_a_row_citing_the_rule(rule: str) -> None:
    rows = [r for r in CATALOGUE.notices if r.template == NAMED[rule]]
    assert rows and any(rule in r.rules for r in rows)


def test_X06_claim_opened_and_the_cancellation_decisions_have_their_emails() -> None:
    templates = {r.template for r in CATALOGUE.notices}
    assert {"claim_opened", "cancellation_refused", "invoice_changes_declined"} <= templates


def test_X06_every_rule_the_table_cites_is_a_rule_id() -> None:
    cited = {rule for r in CATALOGUE.notices for rule in r.rules}
    assert all(re.fullmatch(r"[MPAX]-(0[1-9]|1[0-9]|2[01])", rule) for rule in cited), cited


def test_X06_the_delivery_table_starts_with_a_claim_and_ends_sent_or_failed() -> None:
    assert [r.target.value for r in TABLE if r.source is None] == ["sending"]
    assert {r.target.value for r in TABLE} == {"sending", "sent", "failed"}
    assert not [r for r in TABLE if r.source is not None and r.source.value != "sending"]


def test_X06_docs_notifier_md_matches_the_tables() -> None:
    current = docs.DOC.read_text(encoding="utf-8")
    assert docs.render(current) == current, "docs/notifier.md is stale: python -m notifier.docs"


def test_X06_the_docs_list_every_email_and_every_delivery_step() -> None:
    table, diagram = emails_table(), deliveries_diagram()
    for row in CATALOGUE.notices:
        assert f"| `{row.event_type}` |" in table and f"`{row.template}`" in table
    for step in TABLE:
        assert f"--> {step.target.value} : {step.trigger}" in diagram
