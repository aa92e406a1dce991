"""The invoice state diagram, rendered from the table: never drawn by hand.

    python -m invoicing.domain.diagrams [FILE]   rewrites the section in FILE
                                                 (default docs/invoicing.md)

`render()` is pure; a unit test fails when the section in docs/invoicing.md drifts from
the table.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.invoicing import InvoiceStatus
from invoicing.domain.invoices import TABLE
from invoicing.domain.table import Edge, Table

BEGIN = (
    "<!-- BEGIN invoice statuses: generated from invoicing/domain/invoices.py by "
    "`python -m invoicing.domain.diagrams`. Do not edit. -->"
)
END = "<!-- END invoice statuses -->"


def render(table: Table = TABLE) -> str:
    """The section: a mermaid stateDiagram-v2 and the table behind it, between markers."""
    lines = [
        BEGIN,
        "",
        "```mermaid",
        "stateDiagram-v2",
        *(f"    {line}" for line in _diagram(table)),
        "```",
        "",
        "| From | When | To | Who | Rules | Guard |",
        "| --- | --- | --- | --- | --- | --- |",
        *_rows(table),
        "",
        f"Terminal: {', '.join(f'`{s.value}`' for s in _sorted(table, table.terminal))}.",
        "",
        END,
    ]
    return "\n".join(lines)


def section(page: str) -> str:
    """The generated section of `page`, markers included ("" when it has none)."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        return ""
    return page[start : end + len(END)]


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated section of the page given (default docs/invoicing.md)."""
    args = sys.argv[1:] if argv is None else list(argv)
    path = Path(args[0] if args else "docs/invoicing.md")
    page = path.read_text(encoding="utf-8") if path.exists() else ""
    old = section(page)
    page = page.replace(old, render()) if old else f"{page.rstrip()}\n\n{render()}\n".lstrip()
    path.write_text(page, encoding="utf-8")
    sys.stderr.write(f"wrote the invoice state diagram to {path}\n")
    return 0


def _diagram(table: Table) -> list[str]:
    lines = [f"[*] --> {_target(e)} : {_label(e)}" for e in table.creations]
    for edge in table.edges:
        assert edge.source is not None
        for target in _sorted(table, edge.targets):
            lines.append(f"{edge.source.value} --> {target.value} : {_label(edge)}")
    lines += [f"{status.value} --> [*]" for status in _sorted(table, table.terminal)]
    return lines


def _rows(table: Table) -> list[str]:
    rows = []
    for edge in (*table.creations, *table.edges):
        source = edge.source.value if edge.source else ""
        targets = ", ".join(s.value for s in _sorted(table, edge.targets))
        rows.append(
            f"| {source} | {edge.trigger} | {targets} | {edge.who} "
            f"| {' '.join(edge.rules)} | {edge.guard} |"
        )
    return rows


def _label(edge: Edge) -> str:
    if edge.who in ("deadline", "ordering") or edge.source is None:
        return edge.trigger
    return f"{edge.trigger} ({edge.who})"


def _target(edge: Edge) -> str:
    (target,) = edge.targets
    return target.value


def _sorted(table: Table, statuses: frozenset[InvoiceStatus]) -> list[InvoiceStatus]:
    return sorted(statuses, key=table.statuses.index)


if __name__ == "__main__":
    raise SystemExit(main())
