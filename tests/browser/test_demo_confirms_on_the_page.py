"""`make run`'s demo: its client confirms through the gateway's confirmation page (M-08),
posting the page's form over HTTP as a browser would, not publishing the command."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from contracts import topics
from orderflow import demo
from tests.browser.test_pages_in_chromium import submitted
from tests.integration.notifier.notifier_mail import text_of, wait_for_mails
from tests.support.kafka import Record, read_topic

pytestmark = pytest.mark.timeout(300)


async def test_M08_the_demo_s_client_confirms_by_posting_the_page_s_form(
    services: Any, stack: Any, prefix: str, run_id: str, public_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(demo, "GATEWAY_URL", public_url)
    order_id, buyer = await submitted(stack, prefix, run_id, "confirm")
    assert buyer.contact is not None
    [mail] = await wait_for_mails(stack.maildir, str(buyer.contact.email), timeout=60)
    [token] = re.findall(r"token=([^\s&]+)", text_of(mail))

    assert await demo.confirm_on_the_page(order_id, token)

    def activated(records: Sequence[Record]) -> bool:
        return any(
            r.key == str(order_id).encode() and r.json()["type"] == "OrderActivated"
            for r in records
        )

    records = await read_topic(stack.kafka_bootstrap, prefix + topics.ORDERS_EVENTS, activated)
    [event] = [
        r.json()
        for r in records
        if r.json()["type"] == "OrderActivated" and r.key == str(order_id).encode()
    ]
    assert event["actor"]["role"] == "client"
