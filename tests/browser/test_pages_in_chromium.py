"""The gateway's pages in a real browser: the client confirms from the email's link
(M-05, M-08), the customer reviews a closed order from its email's link (P-17), an
operator confirms from the console's queue (M-04, M-05), and a bad or expired link is a
page that says so (M-08)."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

from contracts import topics
from contracts.envelope import Role
from contracts.orders import ConfirmOrder, CreateOrder, OrderParty, SubmitOrder
from devstack.services import ServiceProcess
from orderflow import commands as c
from servicekit.links import issue_token
from tests.browser.conftest import TOKEN_SECRET
from tests.integration.notifier.notifier_mail import (
    address,
    text_of,
    wait_for_mails,
    wait_for_template,
)
from tests.support.kafka import Upstream, count, read_topic

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


async def test_M08_an_expired_link_shows_the_link_expired_page(
    page: Page, public_url: str, services: dict[str, ServiceProcess]
) -> None:
    order_id = uuid.uuid4()
    token = issue_token(TOKEN_SECRET, order_id, "client-1", datetime.now(UTC) - timedelta(1))
    response = await page.goto(f"{public_url}/confirm?order={order_id}&token={token}")
    assert response is not None and response.status == 410
    await expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()


async def test_P17_the_customer_reviews_a_closed_order_from_its_email_s_link(
    page: Page, stack: Any, prefix: str, run_id: str, public_url: str
) -> None:
    order_id = uuid.uuid4()
    customer, supplier = party(run_id, Role.CUSTOMER), party(run_id, Role.SUPPLIER)
    now = datetime.now(UTC)
    terms = c.postpaid_terms(
        appointment_start=now + timedelta(seconds=8),
        appointment_end=now + timedelta(seconds=9),
        payment_stage=False,
    )
    create = c.command(
        CreateOrder, customer.party, order_id=order_id, parties=[customer, supplier], terms=terms
    )
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(
            topics.ORDERS_COMMANDS,
            create,
            c.command(ConfirmOrder, supplier.party, order_id=order_id),
        )
    assert customer.contact is not None
    [mail] = await wait_for_template(
        stack.maildir, str(customer.contact.email), "review_invitation", timeout=90
    )
    [link] = re.findall(re.escape(public_url) + r"/review\?\S+", text_of(mail))
    assert str(order_id) in link

    await page.goto(link)
    await expect(page.locator("#order-status")).to_have_text("closed")
    await page.get_by_role("group", name="How was the service?").get_by_label("5").check()
    await page.get_by_role("group", name="How was the supplier?").get_by_label("4").check()
    await page.get_by_label("Your review (optional)").fill("On time and friendly.")
    await page.get_by_role("button", name="Send the review").click()

    await expect(page.get_by_role("status")).to_have_text("Thank you: your review was recorded.")
    await expect(page.get_by_role("button", name="Send the review")).to_have_count(0)


async def test_a_dead_letter_is_replayed_from_the_console_with_its_original_bytes(
    page: Page, stack: Any, prefix: str, public_url: str
) -> None:
    source = f"{prefix}console-{uuid.uuid4().hex[:6]}.commands"
    dlq = source + ".dlq"
    async with Upstream(stack.kafka_bootstrap) as upstream:
        await upstream.send_record(
            dlq,
            b'{"type": "SubmitOrder"}',
            key=b"order-1",
            headers=[
                ("x-dlq-reason", b"invalid"),
                ("x-dlq-error", b"order_id: Field required"),
                ("x-dlq-service", b"ordering"),
                ("x-dlq-source", f"{source}/0/7".encode()),
            ],
        )

    await page.goto(f"{public_url}/console/login")
    await page.get_by_role("button", name="Sign in as operator-1 (demo)").click()
    await page.get_by_role("link", name="Dead letters").click()
    await page.get_by_role("link", name=dlq).click()
    await expect(page.get_by_role("cell", name="order_id: Field required")).to_be_visible()
    await page.get_by_role("button", name="Replay letter 0 to its topic").click()

    await expect(page.get_by_role("status")).to_have_text(f"Letter 0 replayed to {source}.")
    [replayed] = await read_topic(stack.kafka_bootstrap, source, count(1))
    assert replayed.value == b'{"type": "SubmitOrder"}'
    assert replayed.key == b"order-1"
