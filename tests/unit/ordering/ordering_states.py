"""Orders in every status of every flow, and a plausible command of each type for them:
what the table-driven, authority and property tests walk over."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from contracts.envelope import SYSTEM
from contracts.orders import ORDER_COMMANDS, Flow, OrderCommand, OrderStatus, TermsChange
from ordering.domain import TABLES, DeadlineKind, issue_token
from ordering.domain.model import Order, managed_details, postpaid_details
from tests.unit.ordering.ordering_kit import (
    AGENT,
    APPROVER,
    CLIENT,
    CUSTOMER,
    MEMBER,
    OPERATOR,
    SECRET,
    SUPPLIER,
    T0,
    Scenario,
    account_terms,
    eur,
    managed_terms,
    postpaid_terms,
)

S = OrderStatus


def client_token(order: Order) -> str:
    expires = managed_details(order).terms.offer_valid_until
    return issue_token(SECRET, order.order_id, CLIENT.id, expires)


def managed_in(status: OrderStatus, **terms: Any) -> Scenario:
    sc = Scenario().do(
        _create(), MEMBER.party, parties=[MEMBER, CLIENT], terms=managed_terms(**terms)
    )
    steps: dict[OrderStatus, Callable[[Scenario], Any]] = {
        S.OPERATOR_REVIEW: lambda s: s.do(_c("SubmitOrder"), MEMBER.party),
        S.CLIENT_CONFIRMATION: lambda s: s.do(_c("ConfirmOrder"), OPERATOR),
        S.ACTIVE: lambda s: s.do(
            _c("ConfirmAsClient"), CLIENT.party, token=client_token(s.current)
        ),
        S.CANCELLATION_REQUESTED: lambda s: s.do(
            _c("RequestCancellation"), MEMBER.party, reason="The client closed down its business."
        ),
    }
    path = [S.OPERATOR_REVIEW, S.CLIENT_CONFIRMATION, S.ACTIVE, S.CANCELLATION_REQUESTED]
    ends = {
        S.REJECTED: (S.OPERATOR_REVIEW, lambda s: s.do(_c("RejectOrder"), OPERATOR, reason="No")),
        S.CANCELLED: (
            S.CANCELLATION_REQUESTED,
            lambda s: s.do(_c("ApproveCancellation"), OPERATOR),
        ),
        S.COMPLETED: (S.ACTIVE, _complete_managed),
        S.DISCARDED: (S.DRAFT, lambda s: s.do(_c("DiscardDraft"), MEMBER.party)),
    }
    return _walk(sc, status, path, steps, ends)


def _complete_managed(s: Scenario) -> Scenario:
    s.do(_c("MarkInvoicingComplete"), SYSTEM)
    s.fire(DeadlineKind.SERVICE_END)
    return s


def postpaid_in(
    status: OrderStatus, *, payment_stage: bool = True, proposal: bool = False
) -> Scenario:
    terms = postpaid_terms(payment_stage=payment_stage)
    sc = Scenario().do(_create(), CUSTOMER.party, parties=[SUPPLIER, CUSTOMER], terms=terms)
    start = terms.appointment_start
    steps: dict[OrderStatus, Callable[[Scenario], Any]] = {
        S.IN_PROGRESS: lambda s: s.later(timedelta(hours=1)).do(_c("ConfirmOrder"), SUPPLIER.party),
        S.EXECUTION_CONFIRMATION: lambda s: s.at(start + timedelta(hours=2)).do(
            _c("MarkServiceDone"), SUPPLIER.party
        ),
        S.PAYMENT: lambda s: s.later(timedelta(hours=5)).do(_c("ConfirmExecution"), CUSTOMER.party),
    }
    path = [S.IN_PROGRESS, S.EXECUTION_CONFIRMATION, S.PAYMENT]
    if not payment_stage:
        steps[S.CLOSED] = steps.pop(S.PAYMENT)
        path[-1] = S.CLOSED
    ends = {
        S.CANCELLED: (
            S.CONFIRMATION,
            lambda s: s.do(_c("CancelOrder"), CUSTOMER.party, reason="Ill"),
        ),
        S.CLOSED: (S.PAYMENT, lambda s: s.do(_c("MarkOrderPaid"), SYSTEM, payment_id="pay-1")),
    }
    if not payment_stage:
        ends.pop(S.CLOSED)
    _walk(sc, status, path, steps, ends)
    if proposal and status is S.IN_PROGRESS:
        sc.do(_c("EditOrder"), SUPPLIER.party, changes=TermsChange(price=eur("70.00")))
    return sc


def account_in(status: OrderStatus, **terms: Any) -> Scenario:
    sc = Scenario().do(_create(), AGENT.party, parties=[AGENT], terms=account_terms(**terms))
    steps: dict[OrderStatus, Callable[[Scenario], Any]] = {
        S.IN_PROGRESS: lambda s: s.do(_c("PlaceOrder"), AGENT.party),
        S.APPROVED: lambda s: s.do(_c("ApproveOrder"), APPROVER),
        S.COMPLETED: lambda s: s.do(_c("CompleteOrder"), AGENT.party),
    }
    ends = {S.CANCELLED: (S.DRAFT, lambda s: s.do(_c("CancelOrder"), AGENT.party, reason="Typo"))}
    return _walk(sc, status, [S.IN_PROGRESS, S.APPROVED, S.COMPLETED], steps, ends)


def order_in(flow: Flow, status: OrderStatus) -> Scenario:
    if flow is Flow.MANAGED:
        return managed_in(status)
    if flow is Flow.POSTPAID:
        return postpaid_in(status, proposal=True)
    return account_in(status)


def _walk(
    sc: Scenario,
    status: OrderStatus,
    path: list[OrderStatus],
    steps: dict[OrderStatus, Callable[[Scenario], Any]],
    ends: dict[OrderStatus, tuple[OrderStatus, Callable[[Scenario], Any]]],
) -> Scenario:
    goal, last = (ends[status][0], ends[status][1]) if status in ends else (status, None)
    for each in path:
        if sc.current.status is goal:
            break
        steps[each](sc)
    if last is not None:
        last(sc)
    assert sc.current.status is status, f"reached {sc.current.status}, wanted {status}"
    return sc


def _c(name: str) -> type[OrderCommand]:
    return ORDER_COMMANDS.classes[name]


def _create() -> type[OrderCommand]:
    return _c("CreateOrder")


def flows() -> list[Flow]:
    return list(TABLES)


REASON = "The client closed down its business for good."


def sample(name: str, sc: Scenario) -> tuple[dict[str, Any], datetime | None]:
    """Fields for a plausible `name` command on `sc`'s order, and when to send it."""
    order = sc.current
    postpaid = order.flow is Flow.POSTPAID
    start = postpaid_details(order).terms.appointment_start if postpaid else None
    fields: dict[str, Any] = {}
    at: datetime | None = None
    if name == "EditDraft":
        managed = order.flow is Flow.MANAGED
        fields["terms"] = managed_terms() if managed else account_terms(notes="Call first")
    elif name in ("CancelOrder", "RejectOrder", "RequestCancellation", "RefuseApproval"):
        fields["reason"] = REASON
    elif name == "ReturnOrder":
        fields["comment"] = "Which hosting plan does the client want?"
    elif name in ("ConfirmAsClient", "DeclineAsClient"):
        fields["token"] = client_token(order) if order.flow is Flow.MANAGED else "not-a-token"
    elif name == "EditOrder":
        moved = (start or T0) + timedelta(hours=1)
        fields["changes"] = TermsChange(appointment_start=moved)
    elif name in ("AcceptProposal", "RejectProposal"):
        pending = postpaid_details(order).proposal if postpaid else None
        fields["proposal"] = pending.number if pending else 1
    elif name == "MarkServiceDone" and start is not None:
        at = start + timedelta(hours=1)
    elif name == "MarkOrderPaid":
        fields["payment_id"] = "pay-1"
    elif name == "LeaveReview":
        fields.update(service_rating=5, supplier_rating=4, text="Great lesson")
    elif name == "EditNotes":
        fields["notes"] = "Deliver after 5 pm"
    elif name == "ConfigureItem":
        fields.update(line=0, values={"serial": "SN-2"})
    elif name == "MarkOrderUnpaid":
        fields.update(claim_id="claim-1", cause="claim_written_off")
    return fields, at
