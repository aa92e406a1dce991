"""The state diagram of each flow, rendered from its table: never drawn by hand.

    python -m ordering.domain.diagrams [DIR]     writes DIR/<flow>.md (default docs/flows)

`render(flow)` is pure; a unit test fails when docs/flows drifts from the tables.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import servicekit.tables
from contracts.orders import Flow
from ordering.domain.flows import TABLES
from servicekit.diagrams import Arrow

TITLES = {
    Flow.MANAGED: "Managed orders: member, operator review, client confirmation (seed 000)",
    Flow.POSTPAID: "Post-paid service orders: supplier and customer (seeds 001 and 004)",
    Flow.ACCOUNT: "Account orders in a billing system (seed 003)",
}

NOTES = {
    Flow.MANAGED: "Drafts are invisible to operators (M-02), discarded ones too (M-19). "
    "`OperatorReviewOverdue` (M-04) is a signal only: the status stays.",
    Flow.POSTPAID: "`payment` exists only for orders with a payment stage (P-14, seed 001); "
    "without one (seed 004) the execution's confirmation closes the order. The payment "
    "window, claims and payouts belong to payments (P-15, P-16, P-18).",
    Flow.ACCOUNT: "A cancelled order can be viewed but never changed (A-09). "
    "`ApprovalOverdue` (A-13) is a signal only: the status stays. Bill-cycle "
    "invoicing (A-11) and reports (A-12) read the events.",
}


def render(flow: Flow) -> str:
    """The markdown page of `flow`: a mermaid stateDiagram-v2 and the table behind it."""
    table = TABLES[flow]
    lines = [
        f"# {TITLES[flow]}",
        "",
        "<!-- Generated from ordering/domain/"
        f"{flow.value}.py by `python -m ordering.domain.diagrams`. Do not edit. -->",
        "",
        NOTES[flow],
        "",
        *servicekit.tables.chart_of(table, arrows(flow)),
        "",
    ]
    return "\n".join(lines)


def arrows(flow: Flow) -> list[Arrow]:
    """The table's rows as the renderer draws them; a deadline's arrow says only "after
    <kind>", as the table's who column already says "deadline"."""
    return [
        replace(a, label=a.trigger) if a.trigger.startswith("after ") else a
        for a in servicekit.tables.arrows(TABLES[flow])
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Write every flow's page into the directory given (default docs/flows)."""
    args = sys.argv[1:] if argv is None else list(argv)
    target = Path(args[0] if args else "docs/flows")
    target.mkdir(parents=True, exist_ok=True)
    for flow in Flow:
        (target / f"{flow.value}.md").write_text(render(flow), encoding="utf-8")
    sys.stderr.write(f"wrote {len(Flow)} flow diagrams to {target}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
