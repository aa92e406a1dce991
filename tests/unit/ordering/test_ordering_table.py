"""Every (status, command) pair of every flow, legal or not, against an expectation
written out here independently of the tables."""

from __future__ import annotations

import pytest

from contracts.envelope import Party
from contracts.orders import ORDER_COMMANDS, Flow, OrderStatus, RejectionReason
from ordering.domain import TABLES, by_order, decide
from tests.unit.ordering.ordering_kit import PARTIES, command, timeouts, transitions
from tests.unit.ordering.ordering_states import order_in, sample

R = RejectionReason

#: (status, command) -> (statuses it may lead to, roles that may send it)
EXPECTED: dict[Flow, dict[tuple[str, str], tuple[set[str], set[str]]]] = {
    Flow.MANAGED: {
        ("draft", "EditDraft"): ({"draft"}, {"member"}),
        ("draft", "SubmitOrder"): ({"operator_review"}, {"member"}),
        ("operator_review", "ConfirmOrder"): ({"client_confirmation", "active"}, {"operator"}),
        ("operator_review", "RejectOrder"): ({"rejected"}, {"operator"}),
        ("client_confirmation", "ConfirmAsClient"): ({"active"}, {"client"}),
        ("client_confirmation", "DeclineAsClient"): ({"rejected"}, {"client"}),
        ("active", "RequestCancellation"): ({"cancellation_requested"}, {"member"}),
        ("active", "MarkInvoicingComplete"): ({"active", "completed"}, {"system"}),
        ("cancellation_requested", "ApproveCancellation"): ({"cancelled"}, {"operator"}),
        ("cancellation_requested", "RefuseCancellation"): ({"active", "completed"}, {"operator"}),
        ("cancellation_requested", "MarkInvoicingComplete"): (
            {"cancellation_requested"},
            {"system"},
        ),
        ("rejected", "DuplicateOrder"): ({"rejected"}, {"member"}),
        ("operator_review", "ReturnOrder"): ({"draft"}, {"operator"}),
        ("operator_review", "WithdrawOrder"): ({"draft"}, {"member"}),
        ("draft", "DiscardDraft"): ({"discarded"}, {"member"}),
    },
    Flow.POSTPAID: {
        ("confirmation", "EditOrder"): ({"confirmation"}, {"supplier", "customer"}),
        ("confirmation", "ConfirmOrder"): ({"in_progress"}, {"supplier", "customer"}),
        ("confirmation", "CancelOrder"): ({"cancelled"}, {"supplier", "customer"}),
        ("in_progress", "EditOrder"): ({"in_progress"}, {"supplier"}),
        ("in_progress", "AcceptProposal"): ({"in_progress"}, {"customer"}),
        ("in_progress", "RejectProposal"): ({"in_progress"}, {"customer"}),
        ("in_progress", "CancelOrder"): ({"cancelled"}, {"supplier", "customer"}),
        ("in_progress", "MarkServiceDone"): ({"execution_confirmation"}, {"supplier"}),
        ("execution_confirmation", "ConfirmExecution"): ({"payment", "closed"}, {"customer"}),
        ("payment", "MarkOrderPaid"): ({"closed"}, {"system"}),
        ("closed", "LeaveReview"): ({"closed"}, {"customer"}),
        ("payment", "MarkOrderUnpaid"): ({"closed"}, {"system"}),
    },
    Flow.ACCOUNT: {
        ("draft", "EditDraft"): ({"draft"}, {"agent"}),
        ("draft", "EditNotes"): ({"draft"}, {"agent"}),
        ("draft", "ConfigureItem"): ({"draft"}, {"agent"}),
        ("draft", "PlaceOrder"): ({"in_progress", "completed"}, {"agent"}),
        ("draft", "CancelOrder"): ({"cancelled"}, {"agent"}),
        ("in_progress", "EditNotes"): ({"in_progress"}, {"agent"}),
        ("in_progress", "ConfigureItem"): ({"in_progress"}, {"agent"}),
        ("in_progress", "ApproveOrder"): ({"approved"}, {"approver"}),
        ("approved", "ConfigureItem"): ({"approved"}, {"agent"}),
        ("approved", "CompleteOrder"): ({"completed"}, {"agent"}),
        ("completed", "ResendReceipt"): ({"completed"}, {"agent"}),
        ("in_progress", "RefuseApproval"): ({"draft"}, {"approver"}),
    },
}

EXPECTED_TIMEOUTS: dict[Flow, dict[tuple[str, str], set[str]]] = {
    Flow.MANAGED: {
        ("operator_review", "review_overdue"): {"operator_review"},
        ("operator_review", "offer_expiry"): {"rejected"},
        ("client_confirmation", "offer_expiry"): {"rejected"},
        ("active", "service_end"): {"active", "completed"},
        ("cancellation_requested", "service_end"): {"cancellation_requested"},
    },
    Flow.POSTPAID: {
        ("confirmation", "confirmation_window"): {"cancelled"},
        ("in_progress", "proposal_lapse"): {"in_progress"},
        ("in_progress", "auto_done"): {"execution_confirmation"},
        ("execution_confirmation", "auto_confirm"): {"payment", "closed"},
    },
    Flow.ACCOUNT: {
        ("in_progress", "approval_overdue"): {"in_progress"},
    },
}

EXPECTED_TERMINAL = {
    Flow.MANAGED: {"rejected", "cancelled", "completed", "discarded"},
    Flow.POSTPAID: {"closed", "cancelled"},
    Flow.ACCOUNT: {"completed", "cancelled"},
}

#: CreateOrder: the status an order of the flow starts in, and who may create one.
EXPECTED_CREATION = {
    Flow.MANAGED: ({"draft"}, {"member"}),
    Flow.POSTPAID: ({"confirmation"}, {"customer"}),
    Flow.ACCOUNT: ({"draft"}, {"agent"}),
}

COMMANDS = [name for name in ORDER_COMMANDS.names() if name != "CreateOrder"]
PAIRS = [
    pytest.param(flow, status, name, id=f"{flow.value}-{status.value}-{name}")
    for flow, table in TABLES.items()
    for status in table.statuses
    for name in COMMANDS
]


@pytest.mark.parametrize("flow", list(Flow))
def test_each_table_holds_exactly_the_expected_transitions(flow: Flow) -> None:
    table = TABLES[flow]
    actual = {
        (str(t.source), t.trigger): ({str(s) for s in t.targets}, {r.value for r in t.roles})
        for t in transitions(table)
    }
    assert actual == EXPECTED[flow]


@pytest.mark.parametrize("flow", list(Flow))
def test_each_table_holds_exactly_the_expected_timeouts(flow: Flow) -> None:
    actual = {
        (str(t.source), t.trigger.removeprefix("after ")): {str(s) for s in t.targets}
        for t in timeouts(TABLES[flow])
    }
    assert actual == EXPECTED_TIMEOUTS[flow]


@pytest.mark.parametrize("flow", list(Flow))
def test_terminal_statuses_are_the_expected_ones(flow: Flow) -> None:
    assert {s.value for s in TABLES[flow].terminal} == EXPECTED_TERMINAL[flow]
    assert {s.value for s in TABLES[flow].ends} == EXPECTED_TERMINAL[flow]


@pytest.mark.parametrize("flow", list(Flow))
def test_each_flow_starts_with_its_one_creation_row(flow: Flow) -> None:
    (row,) = TABLES[flow].creations
    assert row.trigger == "CreateOrder"
    assert ({str(s) for s in row.targets}, {r.value for r in row.roles}) == EXPECTED_CREATION[flow]


def test_every_command_is_used_by_some_flow() -> None:
    used = {t.trigger for table in TABLES.values() for t in transitions(table)}
    assert used | {"CreateOrder"} == set(ORDER_COMMANDS.names())


@pytest.mark.parametrize(("flow", "status", "name"), PAIRS)
def test_every_status_and_command_pair(flow: Flow, status: OrderStatus, name: str) -> None:
    sc = order_in(flow, status)
    fields, at = sample(name, sc)
    now = at or sc.now
    legal = EXPECTED[flow].get((status.value, name))

    def attempt(actor: Party) -> tuple[str | None, str]:
        cmd = command(ORDER_COMMANDS.classes[name], actor, **fields)
        decision = decide(sc.order, cmd, now, sc.ctx)
        if decision.rejection is not None:
            return decision.rejection.reason.value, ""
        own = by_order(decision.events)[sc.current.order_id]
        return None, own[-1].status.value

    outcomes = {actor: attempt(actor) for actor in PARTIES[flow]}
    if legal is None:
        assert {reason for reason, _ in outcomes.values()} == {R.NOT_ALLOWED_IN_STATUS.value}
        return
    targets, roles = legal
    for actor, (reason, reached) in outcomes.items():
        if actor.role.value not in roles:
            assert reason == R.NOT_AUTHORIZED.value, actor
        elif reason is None:
            assert reached in targets
        else:
            assert reason not in (R.NOT_AUTHORIZED.value, R.NOT_ALLOWED_IN_STATUS.value)
    accepted = [a for a, (reason, _) in outcomes.items() if reason is None]
    assert accepted, f"no party could {name} in {status}: {outcomes}"
