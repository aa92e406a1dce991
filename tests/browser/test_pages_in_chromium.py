"""The gateway's pages in a real browser: the client confirms from the email's link
(M-05, M-08), an operator confirms from the console's queue (M-04, M-05), and a bad link
is a page that says so (M-08)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from playwright.async_api import Page, expect

from contracts import topics
from contracts.envelope import Role
from contracts.orders import ConfirmOrder, CreateOrder, OrderParty, SubmitOrder
from devstack.services import ServiceProcess
from orderflow import commands as c
from tests.integration.notifier.notifier_mail import address, text_of, wait_for_mails
from tests.support.kafka import Upstream

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def party(run_id: str, role: Role) -> OrderParty:
    return c.party(f"{role.value}-{uuid.uuid4().hex[:6]}", role, address(run_id, role.value))


async def submitted(
    stack: Any, prefix: str, run_id: str, *more: str
) -> tuple[uuid.UUID, OrderParty]:
    """A managed order its member submitted (and, with "confirm", the operator confirmed)."""
    order_id, owner, buyer = uuid.uuid4(), party(run_id, Role.MEMBER), party(run_id, Role.CLIENT)
    commands: list[Any] = [
        c.command(
            CreateOrder,
            owner.party,
            order_id=order_id,
            parties=[owner, buyer],
            terms=c.managed_terms(),
        ),
        c.command(SubmitOrder, owner.party, order_id=order_id),
    ]
    if "confirm" in more:
        commands.append(c.command(ConfirmOrder, c.OPERATOR, order_id=order_id))
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(topics.ORDERS_COMMANDS, *commands)
    return order_id, buyer


async def test_M05_M08_the_client_confirms_on_the_page_its_email_links_to(
    page: Page, stack: Any, prefix: str, run_id: str, public_url: str
) -> None:
    order_id, buyer = await submitted(stack, prefix, run_id, "confirm")
    assert buyer.contact is not None
    [mail] = await wait_for_mails(stack.maildir, str(buyer.contact.email), timeout=60)
    [link] = re.findall(re.escape(public_url) + r"/confirm\?\S+", text_of(mail))
    assert str(order_id) in link

    await page.goto(link)
    await expect(page.get_by_role("heading", name="Terms")).to_be_visible()
    await expect(page.locator("#order-status")).to_have_text("client confirmation")
    await page.get_by_role("button", name="Confirm the order").click()

    await expect(page.get_by_role("status")).to_have_text(
        "You confirmed the order. It is now active."
    )
    await expect(page.locator("#order-status")).to_have_text("active")
    await expect(page.get_by_role("button", name="Confirm the order")).to_have_count(0)


async def test_M04_M05_an_operator_confirms_an_order_from_the_console_s_queue(
    page: Page, stack: Any, prefix: str, run_id: str, public_url: str
) -> None:
    order_id, _ = await submitted(stack, prefix, run_id)
    short = str(order_id)[:8]

    await page.goto(f"{public_url}/console")
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await page.get_by_role("button", name="Sign in as operator-1 (demo)").click()
    await expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()

    confirm = page.get_by_role("button", name=f"Confirm order {short}")
    deadline = time.monotonic() + 30
    await page.goto(f"{public_url}/console/queue")
    while await confirm.count() == 0 and time.monotonic() < deadline:  # the projection
        await page.reload()
    await confirm.click()

    await expect(page.get_by_role("status")).to_have_text(f"Order {order_id}: confirm done.")
    await page.goto(f"{public_url}/console/orders/{order_id}")
    await expect(page.locator("#order-status")).to_have_text("client confirmation")
    await expect(page.get_by_role("cell", name="OrderSentToClient", exact=True)).to_be_visible()


async def test_M08_a_forged_link_shows_the_link_invalid_page(
    page: Page, public_url: str, services: dict[str, ServiceProcess]
) -> None:
    response = await page.goto(f"{public_url}/confirm?order={uuid.uuid4()}&token=forged.token")
    assert response is not None and response.status == 400
    await expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("was changed")
