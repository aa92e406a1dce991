"""Account orders in a billing system (seed 003, rules A-01 to A-10, A-13, A-15): an agent
enters an order for an existing account; an approver approves or refuses where the
catalogue says so. The TABLE at the bottom is the flow."""

from __future__ import annotations

from decimal import Decimal

from contracts.envelope import Contact, Role
from contracts.orders import (
    AccountTerms,
    ApprovalOverdue,
    ApprovalRefused,
    ApproveOrder,
    CancelOrder,
    CompleteOrder,
    ConfigureItem,
    CreateOrder,
    DraftEdited,
    EditDraft,
    EditNotes,
    Flow,
    ItemConfigured,
    Money,
    NotesEdited,
    OrderApproved,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderEvent,
    OrderParty,
    OrderPlaced,
    OrderStatus,
    PlaceOrder,
    ReceiptResent,
    RefuseApproval,
    RejectionReason,
    ResendReceipt,
)
from ordering.domain.catalogue import Catalogue
from ordering.domain.common import parties_problem
from ordering.domain.context import (
    DeadlineFired,
    DecisionContext,
    Outcome,
    Rejection,
    Step,
    refuse,
)
from ordering.domain.model import DeadlineKind, Order, account_details
from servicekit.tables import Table, after, on

S = OrderStatus
R = RejectionReason


def prerequisites_problem(terms: AccountTerms, ctx: DecisionContext) -> Rejection | None:
    """An existing account (A-01), an order date no earlier than allowed (A-05), and a
    configured currency, payment method and available products (A-04)."""
    account = ctx.accounts.get(terms.account_id)
    if account is None:
        return refuse(R.UNKNOWN_ACCOUNT, f"there is no account {terms.account_id}")
    if terms.order_date < account.earliest_order_date:
        return refuse(
            R.BACKDATED_TOO_FAR,
            f"the order date can go back to {account.earliest_order_date} at the earliest",
        )
    catalogue = ctx.catalogue
    if terms.currency not in catalogue.currencies:
        return refuse(R.MISSING_PREREQUISITE, f"the currency {terms.currency} is not configured")
    currencies = catalogue.payment_methods.get(terms.payment_method)
    if currencies is None or terms.currency not in currencies:
        return refuse(
            R.MISSING_PREREQUISITE,
            f"the payment method {terms.payment_method} is not configured for {terms.currency}",
        )
    for item in terms.items:
        product = catalogue.products.get(item.product_id)
        if product is None or not product.available:
            state = "not defined" if product is None else "not available"
            return refuse(R.MISSING_PREREQUISITE, f"the product {item.product_id} is {state}")
    return None


def missing_configurations(terms: AccountTerms, catalogue: Catalogue) -> list[str]:
    """A-06: the required configurations the items lack, as "item N (product): name"."""
    missing: list[str] = []
    for line, item in enumerate(terms.items, start=1):
        product = catalogue.products.get(item.product_id)
        required = product.required_configurations if product else frozenset()
        missing += [
            f"item {line} ({item.product_id}): {name}"
            for name in sorted(required - item.configurations.keys())
        ]
    return missing


def needs_approval(terms: AccountTerms, catalogue: Catalogue) -> bool:
    """A-07: per catalogue, or per product."""
    products = [catalogue.products.get(i.product_id) for i in terms.items]
    return catalogue.approval_required or any(p.needs_approval for p in products if p)


def create(order: None, cmd: CreateOrder, step: Step) -> Outcome:
    """An agent enters a draft for an existing account (Rules A-01, A-03 to A-05)."""
    terms = cmd.terms
    assert isinstance(terms, AccountTerms)
    if problem := parties_problem(cmd.parties, step.actor, frozenset({Role.AGENT})):
        return refuse(R.INVALID, problem)
    if rejection := prerequisites_problem(terms, step.ctx):
        return rejection
    account = step.ctx.accounts.get(terms.account_id)
    assert account is not None
    # The account is the customer: its email gets the receipt.
    customer = OrderParty(id=account.account_id, role=Role.CUSTOMER, contact=account.contact)
    return [
        OrderCreated(**step.stamp(status=S.DRAFT), parties=[*cmd.parties, customer], terms=terms)
    ]


def edit_draft(order: Order, cmd: EditDraft, step: Step) -> Outcome:
    """A draft can be edited freely: items, prices, quantities, notes (Rule A-08)."""
    terms = cmd.terms
    if not isinstance(terms, AccountTerms) or cmd.client is not None:
        return refuse(R.INVALID, "an account order takes account terms and no client")
    if terms.account_id != account_details(order).terms.account_id:
        return refuse(R.INVALID, "an order stays with the account it was entered for")
    if rejection := prerequisites_problem(terms, step.ctx):
        return rejection
    return [DraftEdited(**step.stamp(status=S.DRAFT), parties=list(order.parties), terms=terms)]


def edit_notes(order: Order, cmd: EditNotes, step: Step) -> Outcome:
    """Notes stay editable while the order is in progress (Rule A-08)."""
    return [NotesEdited(**step.stamp(status=order.status), notes=cmd.notes)]


def configure(order: Order, cmd: ConfigureItem, step: Step) -> Outcome:
    """Set an item's configuration values (Rule A-06)."""
    if cmd.line >= len(account_details(order).terms.items):
        return refuse(R.INVALID, f"the order has no item at line {cmd.line}")
    return [ItemConfigured(**step.stamp(status=order.status), line=cmd.line, values=cmd.values)]


def place(order: Order, cmd: PlaceOrder, step: Step) -> Outcome:
    """Place the order: in progress while approval is pending, else completed at once
    (Rules A-03, A-04, A-06, A-07)."""
    terms = account_details(order).terms
    if not terms.items:
        return refuse(R.INVALID, "an order needs at least one item")
    if rejection := prerequisites_problem(terms, step.ctx):
        return rejection
    if missing := missing_configurations(terms, step.ctx.catalogue):
        return refuse(
            R.CONFIGURATION_MISSING, "required configuration missing: " + "; ".join(missing)
        )
    approval = needs_approval(terms, step.ctx.catalogue)
    due = step.now + step.ctx.policy.approval_target if approval else None
    placed = OrderPlaced(
        **step.stamp(status=S.IN_PROGRESS), needs_approval=approval, approval_due_at=due
    )
    return [placed] if approval else [placed, _completed(order, step)]


def approve(order: Order, cmd: ApproveOrder, step: Step) -> Outcome:
    """An approver approves; completing is a separate step (Rule A-07)."""
    return [OrderApproved(**step.stamp(status=S.APPROVED))]


def refuse_approval(order: Order, cmd: RefuseApproval, step: Step) -> Outcome:
    """The approver refuses, with a reason: a draft again for the agent to change and
    place again (Rule A-13)."""
    return [ApprovalRefused(**step.stamp(status=S.DRAFT), reason=cmd.reason)]


def approval_overdue(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """Still unapproved after the approval target: a signal, the status stays (Rule A-13)."""
    due = account_details(order).approval_due_at or fired.due_at
    return [ApprovalOverdue(**step.stamp(status=order.status), approval_due_at=due)]


def complete(order: Order, cmd: CompleteOrder, step: Step) -> Outcome:
    """Complete an approved order whose required configurations are all set; the receipt
    goes to the order's contact (Rules A-06, A-07, A-10, A-15)."""
    terms = account_details(order).terms
    if missing := missing_configurations(terms, step.ctx.catalogue):
        return refuse(
            R.CONFIGURATION_MISSING, "required configuration missing: " + "; ".join(missing)
        )
    return [_completed(order, step)]


def resend_receipt(order: Order, cmd: ResendReceipt, step: Step) -> Outcome:
    """Send the receipt again to the order's contact (Rules A-10, A-15)."""
    contact, _ = addressees(order, step.ctx)
    assert contact is not None, "an account order has its account's contact"
    return [ReceiptResent(**step.stamp(status=S.COMPLETED), receipt_to=contact)]


def cancel(order: Order, cmd: CancelOrder, step: Step) -> Outcome:
    """Only a draft can be cancelled, by the agent who entered it (Rule A-09)."""
    return [
        OrderCancelled(
            **step.stamp(status=S.CANCELLED), reason=cmd.reason, previous_status=order.status
        )
    ]


def total(terms: AccountTerms) -> Money:
    amount = sum((i.unit_price * i.quantity for i in terms.items), Decimal(0))
    return Money(amount=amount, currency=terms.currency)


def addressees(order: Order, ctx: DecisionContext) -> tuple[Contact | None, Contact | None]:
    """A-15: whom to contact (the receipt among it) and whom to invoice: the order's own,
    else the account's contact as ordering knows it now, else as it was at creation."""
    terms = account_details(order).terms
    account = ctx.accounts.get(terms.account_id)
    customer = order.party(Role.CUSTOMER)
    default = account.contact if account else customer.contact if customer else None
    return terms.contact or default, terms.bill_to or default


def _completed(order: Order, step: Step) -> OrderCompleted:
    contact, bill_to = addressees(order, step.ctx)
    return OrderCompleted(
        **step.stamp(status=S.COMPLETED),
        receipt_to=contact,
        total=total(account_details(order).terms),
        bill_to=bill_to,
    )


# fmt: off
TABLE = Table[S](
    name=Flow.ACCOUNT.value,
    statuses=(S.DRAFT, S.IN_PROGRESS, S.APPROVED, S.COMPLETED, S.CANCELLED),
    staff=frozenset({Role.APPROVER, Role.SYSTEM}),
    ends=frozenset({S.COMPLETED, S.CANCELLED}),
    rows=(
        *on(None, CreateOrder, create, to=S.DRAFT, by=Role.AGENT,
            rules="A-01 A-03 A-04 A-05"),
        *on(S.DRAFT, EditDraft, edit_draft, by=Role.AGENT, rules="A-03 A-04 A-05 A-08"),
        *on((S.DRAFT, S.IN_PROGRESS), EditNotes, edit_notes, by=Role.AGENT, rules="A-08"),
        *on((S.DRAFT, S.IN_PROGRESS, S.APPROVED), ConfigureItem, configure, by=Role.AGENT,
            rules="A-06"),
        *on(S.DRAFT, PlaceOrder, place, to=(S.IN_PROGRESS, S.COMPLETED), by=Role.AGENT,
            rules="A-03 A-04 A-06 A-07", guard="completed at once unless approval is needed"),
        *on(S.DRAFT, CancelOrder, cancel, to=S.CANCELLED, by=Role.AGENT, rules="A-09"),
        *on(S.IN_PROGRESS, ApproveOrder, approve, to=S.APPROVED, by=Role.APPROVER,
            rules="A-07"),
        *on(S.APPROVED, CompleteOrder, complete, to=S.COMPLETED, by=Role.AGENT,
            rules="A-06 A-07 A-10 A-15", guard="required configurations set"),
        *on(S.COMPLETED, ResendReceipt, resend_receipt, by=Role.AGENT, rules="A-10 A-15"),
        *on(S.IN_PROGRESS, RefuseApproval, refuse_approval, to=S.DRAFT, by=Role.APPROVER,
            rules="A-13", guard="with a reason"),
        *after(S.IN_PROGRESS, DeadlineKind.APPROVAL_OVERDUE, approval_overdue, rules="A-13"),
    ),
)
# fmt: on
