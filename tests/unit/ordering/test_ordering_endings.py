"""Every order reaches an end: a returned or withdrawn order, a discarded draft (M-18,
M-19), a refused or overdue approval (A-13), and whom an account order addresses (A-15)."""

from __future__ import annotations

from datetime import timedelta

from contracts.envelope import SYSTEM, Contact, Party
from contracts.orders import (
    ORDER_COMMANDS,
    ApprovalOverdue,
    ApprovalRefused,
    ApproveOrder,
    CompleteOrder,
    ConfirmOrder,
    CreateOrder,
    DiscardDraft,
    DraftDiscarded,
    EditDraft,
    OperatorReviewOverdue,
    OrderCommand,
    OrderCompleted,
    OrderPlaced,
    OrderReturned,
    OrderStatus,
    OrderWithdrawn,
    PlaceOrder,
    ReceiptResent,
    RefuseApproval,
    RejectionReason,
    RejectOrder,
    ResendReceipt,
    ReturnOrder,
    SubmitOrder,
    WithdrawOrder,
)
from ordering.domain import (
    AccountDirectory,
    AccountRecord,
    CancelDeadline,
    DeadlineKind,
    Policy,
    ScheduleDeadline,
    visible_to,
)
from ordering.domain.model import account_details, managed_details
from tests.unit.ordering.ordering_kit import (
    ACCOUNT_CONTACT,
    AGENT,
    APPROVER,
    CLIENT,
    DIRECTORY,
    MEMBER,
    OPERATOR,
    ROUTER,
    SUPPORT,
    Scenario,
    account_terms,
    context,
    managed_terms,
)
from tests.unit.ordering.ordering_states import account_in, managed_in, sample

S = OrderStatus
R = RejectionReason
QUESTION = "Does the client want the mobile site in this phase too?"
FINANCE = Contact(email="finance@acme.example", name="Acme finance")
BUYER = Contact(email="buyer@acme.example", name="Ann Buyer")


def refusal(sc: Scenario, cls: type[OrderCommand], actor: Party, **fields: object) -> R | None:
    rejection = sc.decide(cls, actor, **fields).rejection
    return R(rejection.reason) if rejection else None


def deadline_id(sc: Scenario, kind: DeadlineKind) -> str:
    deadline = sc.current.open_deadline(kind)
    assert deadline is not None, f"no open {kind}"
    return deadline.id(sc.current.order_id)


# --- M-18: the operator returns the order with a question --------------------------------


def test_M18_operator_returns_a_submitted_order_to_draft_with_a_comment() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    (event,) = sc.decide(ReturnOrder, OPERATOR, comment=QUESTION).events
    assert isinstance(event, OrderReturned) and event.comment == QUESTION
    assert event.status is S.DRAFT and event.actor == OPERATOR
    assert sc.status() is S.DRAFT
    assert managed_details(sc.current).returned_comment == QUESTION
    entry = sc.current.timeline[-1]
    assert (entry.type, entry.actor, entry.status) == ("OrderReturned", OPERATOR, S.DRAFT)


def test_M18_returning_closes_the_review_s_deadlines() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    kinds = (DeadlineKind.REVIEW_OVERDUE, DeadlineKind.OFFER_EXPIRY)
    review, offer = (deadline_id(sc, k) for k in kinds)
    decision = sc.decide(ReturnOrder, OPERATOR, comment=QUESTION)
    cancelled = {r.deadline_id for r in decision.deadlines if isinstance(r, CancelDeadline)}
    assert cancelled == {review, offer}
    assert not [r for r in decision.deadlines if isinstance(r, ScheduleDeadline)]


def test_M18_submitting_again_starts_a_new_review_and_the_old_deadline_has_no_effect() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    old_review = deadline_id(sc, DeadlineKind.REVIEW_OVERDUE)
    first_due = managed_details(sc.current).review_due_at
    assert first_due is not None
    sc.do(ReturnOrder, OPERATOR, comment=QUESTION)
    sc.later(timedelta(hours=2)).do(EditDraft, MEMBER.party, terms=managed_terms(description="+"))
    decision = sc.decide(SubmitOrder, MEMBER.party)
    assert sc.status() is S.OPERATOR_REVIEW
    new_review = deadline_id(sc, DeadlineKind.REVIEW_OVERDUE)
    assert new_review != old_review
    assert managed_details(sc.current).review_due_at == first_due + timedelta(hours=2)
    scheduled = {r.deadline_id for r in decision.deadlines if isinstance(r, ScheduleDeadline)}
    assert new_review in scheduled
    # The first review's deadline, delivered late, changes nothing (M-04, X-02).
    assert not sc.fire_id(old_review, "review_overdue", first_due).events
    assert not managed_details(sc.current).review_overdue
    (overdue,) = sc.fire(DeadlineKind.REVIEW_OVERDUE).events
    assert isinstance(overdue, OperatorReviewOverdue)


def test_M18_only_the_operator_returns_and_only_during_review() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    assert refusal(sc, ReturnOrder, MEMBER.party, comment=QUESTION) is R.NOT_AUTHORIZED
    sc.do(ConfirmOrder, OPERATOR)
    assert refusal(sc, ReturnOrder, OPERATOR, comment=QUESTION) is R.NOT_ALLOWED_IN_STATUS


def test_M18_a_returned_order_keeps_its_offer_and_is_judged_again_on_resubmission() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    offer = managed_details(sc.current).terms.offer_valid_until
    sc.do(ReturnOrder, OPERATOR, comment=QUESTION)
    assert managed_details(sc.current).terms.offer_valid_until == offer
    # Eight days on, the client would have two: M-07 refuses until the member edits.
    sc.later(timedelta(days=8))
    assert refusal(sc, SubmitOrder, MEMBER.party) is R.CONFIRMATION_WINDOW_TOO_SHORT
    later = managed_terms(offer_valid_until=sc.now + timedelta(days=10))
    sc.do(EditDraft, MEMBER.party, terms=later).do(SubmitOrder, MEMBER.party)
    assert sc.status() is S.OPERATOR_REVIEW


def test_M18_a_returned_order_is_a_draft_again_and_hidden_from_operators() -> None:
    sc = managed_in(S.OPERATOR_REVIEW).do(ReturnOrder, OPERATOR, comment=QUESTION)
    assert not visible_to(sc.current, OPERATOR)
    assert visible_to(sc.current, MEMBER.party)


# --- M-19: the member withdraws, or discards a draft --------------------------------------


def test_M19_member_withdraws_a_submitted_order_back_to_draft() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    review = deadline_id(sc, DeadlineKind.REVIEW_OVERDUE)
    decision = sc.decide(WithdrawOrder, MEMBER.party)
    (event,) = decision.events
    assert isinstance(event, OrderWithdrawn) and event.status is S.DRAFT
    assert sc.status() is S.DRAFT
    assert review in {r.deadline_id for r in decision.deadlines if isinstance(r, CancelDeadline)}
    sc.do(SubmitOrder, MEMBER.party)
    assert deadline_id(sc, DeadlineKind.REVIEW_OVERDUE) != review


def test_M19_withdrawing_is_for_the_member_and_only_before_the_operator_decides() -> None:
    sc = managed_in(S.OPERATOR_REVIEW)
    assert refusal(sc, WithdrawOrder, OPERATOR) is R.NOT_AUTHORIZED
    assert refusal(sc, WithdrawOrder, CLIENT.party) is R.NOT_AUTHORIZED
    sc.do(ConfirmOrder, OPERATOR)
    assert refusal(sc, WithdrawOrder, MEMBER.party) is R.NOT_ALLOWED_IN_STATUS
    rejected = managed_in(S.OPERATOR_REVIEW).do(RejectOrder, OPERATOR, reason="No")
    assert refusal(rejected, WithdrawOrder, MEMBER.party) is R.NOT_ALLOWED_IN_STATUS


def test_M19_member_discards_a_draft_which_is_kept_and_never_changes_again() -> None:
    sc = managed_in(S.DRAFT)
    (event,) = sc.decide(DiscardDraft, MEMBER.party).events
    assert isinstance(event, DraftDiscarded) and event.status is S.DISCARDED
    assert sc.status() is S.DISCARDED
    kept = sc.current
    for name in ORDER_COMMANDS.names():
        if name == "CreateOrder":
            continue
        fields, _ = sample(name, sc)
        for actor in (MEMBER.party, CLIENT.party, OPERATOR, SYSTEM):
            reason = refusal(sc, ORDER_COMMANDS.classes[name], actor, **fields)
            assert reason is R.NOT_ALLOWED_IN_STATUS, (name, actor)
    assert sc.current == kept


def test_M19_a_discarded_draft_is_the_member_s_alone_to_see() -> None:
    discarded = managed_in(S.DISCARDED).current
    assert visible_to(discarded, MEMBER.party)
    assert not visible_to(discarded, OPERATOR)
    assert not visible_to(discarded, CLIENT.party)


def test_M19_only_the_member_discards_and_only_a_draft() -> None:
    assert refusal(managed_in(S.DRAFT), DiscardDraft, OPERATOR) is R.NOT_AUTHORIZED
    in_review = managed_in(S.OPERATOR_REVIEW)
    assert refusal(in_review, DiscardDraft, MEMBER.party) is R.NOT_ALLOWED_IN_STATUS
    returned = in_review.do(WithdrawOrder, MEMBER.party).do(DiscardDraft, MEMBER.party)
    assert returned.status() is S.DISCARDED


# --- the approver refuses; a pending approval becomes overdue ----------------------


def test_A13_approver_refuses_with_a_reason_and_the_order_is_a_draft_again() -> None:
    sc = account_in(S.IN_PROGRESS)
    (event,) = sc.decide(RefuseApproval, APPROVER, reason="Support needs a yearly term").events
    assert isinstance(event, ApprovalRefused) and event.reason == "Support needs a yearly term"
    assert event.status is S.DRAFT and sc.status() is S.DRAFT


def test_A13_the_agent_changes_the_refused_order_and_places_it_again() -> None:
    sc = account_in(S.IN_PROGRESS).do(RefuseApproval, APPROVER, reason="Too many routers")
    fewer = ROUTER.model_copy(update={"quantity": 1})
    sc.do(EditDraft, AGENT.party, terms=account_terms(items=[fewer, SUPPORT]))
    sc.do(PlaceOrder, AGENT.party).do(ApproveOrder, APPROVER).do(CompleteOrder, AGENT.party)
    assert sc.status() is S.COMPLETED
    assert account_details(sc.current).terms.items[0].quantity == 1


def test_A13_only_the_approver_refuses_and_only_a_pending_approval() -> None:
    sc = account_in(S.IN_PROGRESS)
    assert refusal(sc, RefuseApproval, AGENT.party, reason="Mine") is R.NOT_AUTHORIZED
    sc.do(ApproveOrder, APPROVER)
    assert refusal(sc, RefuseApproval, APPROVER, reason="Late") is R.NOT_ALLOWED_IN_STATUS


def test_A13_an_approval_pending_past_the_target_raises_a_signal_only() -> None:
    sc = Scenario(ctx=context(policy=Policy(approval_target=timedelta(hours=6))))
    sc.do(CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms())
    decision = sc.decide(PlaceOrder, AGENT.party)
    placed = decision.events[0]
    assert isinstance(placed, OrderPlaced)
    assert placed.approval_due_at == sc.now + timedelta(hours=6)
    [schedule] = [r for r in decision.deadlines if isinstance(r, ScheduleDeadline)]
    assert (schedule.kind, schedule.due_at) == ("approval_overdue", placed.approval_due_at)
    (overdue,) = sc.fire(DeadlineKind.APPROVAL_OVERDUE).events
    assert isinstance(overdue, ApprovalOverdue) and overdue.approval_due_at == schedule.due_at
    assert sc.status() is S.IN_PROGRESS
    assert sc.current.open_deadline(DeadlineKind.APPROVAL_OVERDUE) is None
    sc.do(ApproveOrder, APPROVER)
    assert sc.status() is S.APPROVED


def test_A13_the_overdue_deadline_is_cancelled_and_ignored_once_approved_or_refused() -> None:
    for answer, fields in ((ApproveOrder, {}), (RefuseApproval, {"reason": "No budget"})):
        sc = account_in(S.IN_PROGRESS)
        pending = deadline_id(sc, DeadlineKind.APPROVAL_OVERDUE)
        due = account_details(sc.current).approval_due_at
        assert due is not None
        decision = sc.decide(answer, APPROVER, **fields)
        assert CancelDeadline(pending, sc.current.order_id) in decision.deadlines
        assert not sc.fire_id(pending, "approval_overdue", due).events


def test_A13_placing_again_after_a_refusal_starts_a_new_approval_window() -> None:
    sc = account_in(S.IN_PROGRESS)
    first = deadline_id(sc, DeadlineKind.APPROVAL_OVERDUE)
    sc.do(RefuseApproval, APPROVER, reason="Check the serial")
    sc.later(timedelta(hours=1)).do(PlaceOrder, AGENT.party)
    assert deadline_id(sc, DeadlineKind.APPROVAL_OVERDUE) != first


def test_A13_an_order_needing_no_approval_waits_for_no_approval_deadline() -> None:
    sc = Scenario()
    sc.do(CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms(items=[ROUTER]))
    decision = sc.decide(PlaceOrder, AGENT.party)
    assert sc.status() is S.COMPLETED and not decision.deadlines


# --- whom to invoice and whom to contact -------------------------------------------


def test_A15_by_default_the_receipt_and_the_bill_go_to_the_account() -> None:
    (event,) = account_in(S.APPROVED).decide(CompleteOrder, AGENT.party).events
    assert isinstance(event, OrderCompleted)
    assert event.receipt_to == ACCOUNT_CONTACT and event.bill_to == ACCOUNT_CONTACT


def test_A15_an_order_s_own_contact_and_bill_to_are_stamped_on_its_completion() -> None:
    sc = account_in(S.APPROVED, bill_to=FINANCE, contact=BUYER)
    (event,) = sc.decide(CompleteOrder, AGENT.party).events
    assert isinstance(event, OrderCompleted)
    assert event.receipt_to == BUYER and event.bill_to == FINANCE
    (resent,) = sc.decide(ResendReceipt, AGENT.party).events
    assert isinstance(resent, ReceiptResent) and resent.receipt_to == BUYER


def test_A15_one_given_the_other_still_defaults_to_the_account() -> None:
    sc = Scenario()
    sc.do(CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms(items=[ROUTER]))
    sc.do(EditDraft, AGENT.party, terms=account_terms(items=[ROUTER], bill_to=FINANCE))
    (_, completed) = sc.decide(PlaceOrder, AGENT.party).events
    assert isinstance(completed, OrderCompleted)
    assert completed.bill_to == FINANCE and completed.receipt_to == ACCOUNT_CONTACT


def test_A15_the_default_is_the_account_s_contact_as_ordering_knows_it_now() -> None:
    sc = account_in(S.APPROVED)
    moved = Contact(email="accounts@acme.example")
    record = DIRECTORY.get("acc-1")
    assert record is not None
    sc.ctx = context(accounts=AccountDirectory({"acc-1": _with_contact(record, moved)}))
    (event,) = sc.decide(CompleteOrder, AGENT.party).events
    assert isinstance(event, OrderCompleted)
    assert event.receipt_to == moved and event.bill_to == moved


def _with_contact(record: AccountRecord, contact: Contact) -> AccountRecord:
    return AccountRecord(
        record.account_id,
        record.name,
        contact,
        record.created_on,
        record.oldest_open_cycle_start,
    )
