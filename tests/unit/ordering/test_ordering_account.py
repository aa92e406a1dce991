"""Account orders, rule by rule (seed 003, A-01 to A-10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.envelope import Role
from contracts.orders import (
    ORDER_COMMANDS,
    ApproveOrder,
    CancelOrder,
    CompleteOrder,
    ConfigureItem,
    CreateOrder,
    EditDraft,
    EditNotes,
    OrderCommand,
    OrderCompleted,
    OrderItem,
    OrderPlaced,
    OrderStatus,
    PlaceOrder,
    ReceiptResent,
    RejectionReason,
    ResendReceipt,
)
from ordering.domain import Product, visible_to
from ordering.domain.model import account_details
from tests.unit.ordering.ordering_kit import (
    ACCOUNT_CONTACT,
    AGENT,
    APPROVER,
    DIRECTORY,
    ROUTER,
    SUPPORT,
    Scenario,
    account_terms,
    catalogue,
    context,
    party,
)
from tests.unit.ordering.ordering_states import account_in, sample

S = OrderStatus
R = RejectionReason


def create(**terms: object) -> Scenario:
    sc = Scenario()
    sc.decide(CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms(**terms))
    return sc


def refusal(sc: Scenario, cls: type[OrderCommand], **fields: object) -> RejectionReason | None:
    rejection = sc.decide(cls, AGENT.party, **fields).rejection
    return RejectionReason(rejection.reason) if rejection else None


def test_A01_an_order_for_an_unknown_account_is_refused() -> None:
    sc = Scenario()
    decision = sc.decide(
        CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms(account_id="nobody")
    )
    assert decision.rejection is not None and decision.rejection.reason is R.UNKNOWN_ACCOUNT
    assert sc.order is None


def test_A01_the_account_becomes_the_customer_with_its_email() -> None:
    customer = create().current.party(Role.CUSTOMER)
    assert customer is not None
    assert (customer.id, customer.contact) == ("acc-1", ACCOUNT_CONTACT)


def test_A02_accounts_can_be_searched_by_name_or_email_before_creating_one() -> None:
    assert [a.account_id for a in DIRECTORY.search("acme")] == ["acc-1"]
    assert [a.account_id for a in DIRECTORY.search("GLOBEX.example")] == ["acc-2"]
    assert DIRECTORY.search("  ") == []


def test_A03_an_order_needs_at_least_one_item_to_be_placed() -> None:
    sc = create(items=[])
    assert refusal(sc, PlaceOrder) is R.INVALID


def test_A03_the_total_is_price_times_quantity_in_the_order_currency() -> None:
    (event,) = account_in(S.APPROVED).decide(CompleteOrder, AGENT.party).events
    assert isinstance(event, OrderCompleted) and event.total is not None
    assert (event.total.amount, event.total.currency) == (Decimal("139.80"), "EUR")


@pytest.mark.parametrize(
    ("terms", "named"),
    [
        ({"items": [ROUTER.model_copy(update={"product_id": "retired"})]}, "retired"),
        ({"items": [ROUTER.model_copy(update={"product_id": "ghost"})]}, "ghost"),
        ({"currency": "CHF"}, "CHF"),
        ({"currency": "USD"}, "card"),
        ({"payment_method": "cheque"}, "cheque"),
    ],
    ids=["unavailable-product", "undefined-product", "currency", "method-currency", "method"],
)
def test_A04_a_missing_prerequisite_is_refused_and_named(
    terms: dict[str, object], named: str
) -> None:
    sc = Scenario()
    decision = sc.decide(CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms(**terms))
    rejection = decision.rejection
    assert rejection is not None and rejection.reason is R.MISSING_PREREQUISITE
    assert named in rejection.message


def test_A04_a_product_withdrawn_after_the_draft_blocks_placing() -> None:
    sc = account_in(S.DRAFT)
    products = {"router": Product("router", available=False), "support": Product("support")}
    sc.ctx = context(catalogue=catalogue(products=products))
    assert refusal(sc, PlaceOrder) is R.MISSING_PREREQUISITE


def test_A05_an_order_may_be_backdated_to_the_oldest_open_bill_cycle() -> None:
    assert create(order_date=date(2025, 2, 1)).order is not None
    sc = Scenario()
    decision = sc.decide(
        CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms(order_date=date(2025, 1, 31))
    )
    assert decision.rejection is not None and decision.rejection.reason is R.BACKDATED_TOO_FAR


def test_A05_an_order_is_never_dated_before_the_account_was_created() -> None:
    sc = Scenario()
    terms = account_terms(account_id="acc-2", order_date=date(2025, 1, 9))
    decision = sc.decide(CreateOrder, AGENT.party, parties=[AGENT], terms=terms)
    assert decision.rejection is not None and decision.rejection.reason is R.BACKDATED_TOO_FAR


def test_A06_an_order_cannot_be_placed_with_a_required_configuration_missing() -> None:
    unconfigured = ROUTER.model_copy(update={"configurations": {}})
    sc = create(items=[unconfigured])
    rejection = sc.decide(PlaceOrder, AGENT.party).rejection
    assert rejection is not None and rejection.reason is R.CONFIGURATION_MISSING
    assert "serial" in rejection.message
    sc.do(ConfigureItem, AGENT.party, line=0, values={"serial": "SN-9"})
    sc.do(PlaceOrder, AGENT.party)
    assert sc.status() is S.COMPLETED


def test_A06_order_cannot_complete_with_a_required_configuration_missing() -> None:
    sc = account_in(S.APPROVED)
    # The catalogue gained a required configuration after the order was placed.
    router = Product("router", required_configurations=frozenset({"serial", "vlan"}))
    products = {"router": router, "support": Product("support", needs_approval=True)}
    sc.ctx = context(catalogue=catalogue(products=products))
    rejection = sc.decide(CompleteOrder, AGENT.party).rejection
    assert rejection is not None and rejection.reason is R.CONFIGURATION_MISSING
    assert "vlan" in rejection.message
    sc.do(ConfigureItem, AGENT.party, line=0, values={"vlan": "42"})
    sc.do(CompleteOrder, AGENT.party)
    assert sc.status() is S.COMPLETED


def test_A06_configuring_a_line_the_order_lacks_is_refused() -> None:
    assert refusal(account_in(S.DRAFT), ConfigureItem, line=5, values={"a": "b"}) is R.INVALID


def test_A07_an_order_needing_approval_waits_in_progress_until_approved() -> None:
    sc = account_in(S.DRAFT)
    (placed,) = sc.decide(PlaceOrder, AGENT.party).events
    assert isinstance(placed, OrderPlaced) and placed.needs_approval
    assert sc.status() is S.IN_PROGRESS
    assert refusal(sc, CompleteOrder) is R.NOT_ALLOWED_IN_STATUS
    sc.do(ApproveOrder, APPROVER)
    assert sc.status() is S.APPROVED
    sc.do(CompleteOrder, AGENT.party)
    assert sc.status() is S.COMPLETED


def test_A07_an_order_needing_no_approval_completes_when_placed() -> None:
    sc = create(items=[ROUTER]).do(PlaceOrder, AGENT.party)
    assert [e.type for e in sc.current.timeline][-2:] == ["OrderPlaced", "OrderCompleted"]
    assert sc.status() is S.COMPLETED


def test_A07_a_catalogue_may_require_approval_for_every_order() -> None:
    sc = Scenario(ctx=context(catalogue=catalogue(approval_required=True)))
    sc.do(CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms(items=[ROUTER]))
    sc.do(PlaceOrder, AGENT.party)
    assert sc.status() is S.IN_PROGRESS


def test_A07_the_agent_cannot_approve() -> None:
    sc = account_in(S.IN_PROGRESS)
    assert refusal(sc, ApproveOrder) is R.NOT_AUTHORIZED


def test_A08_a_draft_can_be_edited_freely() -> None:
    sc = account_in(S.DRAFT)
    more = OrderItem(product_id="router", pricing_option="yearly", unit_price=Decimal("199"))
    new = account_terms(items=[SUPPORT, more], notes="Rush", payment_method="invoice")
    sc.do(EditDraft, AGENT.party, terms=new)
    assert account_details(sc.current).terms == new


def test_A08_a_draft_stays_with_its_account() -> None:
    sc = account_in(S.DRAFT)
    assert refusal(sc, EditDraft, terms=account_terms(account_id="acc-2")) is R.INVALID


def test_A08_an_order_in_progress_can_still_have_its_notes_edited() -> None:
    sc = account_in(S.IN_PROGRESS).do(EditNotes, AGENT.party, notes="Ring twice")
    assert account_details(sc.current).terms.notes == "Ring twice"
    assert refusal(sc, EditDraft, terms=account_terms()) is R.NOT_ALLOWED_IN_STATUS


def test_A09_only_a_draft_can_be_cancelled_by_the_agent_who_entered_it() -> None:
    other_agent = party("agent-2", Role.AGENT).party
    sc = account_in(S.DRAFT)
    rejection = sc.decide(CancelOrder, other_agent, reason="Mine now").rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED
    sc.do(CancelOrder, AGENT.party, reason="Entered twice")
    assert sc.status() is S.CANCELLED
    assert refusal(account_in(S.IN_PROGRESS), CancelOrder, reason="Too late") is (
        R.NOT_ALLOWED_IN_STATUS
    )


def test_A09_a_cancelled_order_can_be_viewed_but_never_changed() -> None:
    sc = account_in(S.CANCELLED)
    assert visible_to(sc.current, AGENT.party)
    for name in ORDER_COMMANDS.names():
        if name == "CreateOrder":
            continue
        fields, _ = sample(name, sc)
        assert refusal(sc, ORDER_COMMANDS.classes[name], **fields) is R.NOT_ALLOWED_IN_STATUS


def test_A10_the_receipt_goes_to_the_account_s_email_on_completion() -> None:
    (event,) = account_in(S.APPROVED).decide(CompleteOrder, AGENT.party).events
    assert isinstance(event, OrderCompleted) and event.receipt_to == ACCOUNT_CONTACT


def test_A10_the_receipt_can_be_resent_on_request() -> None:
    sc = account_in(S.COMPLETED)
    (event,) = sc.decide(ResendReceipt, AGENT.party).events
    assert isinstance(event, ReceiptResent) and event.receipt_to == ACCOUNT_CONTACT
    assert account_details(sc.current).receipts_sent == 2
