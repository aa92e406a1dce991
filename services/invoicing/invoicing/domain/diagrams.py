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
from servicekit.diagrams import chart, write_section
from servicekit.diagrams import section as section_of
from servicekit.tables import Table, arrows

BEGIN = (
    "<!-- BEGIN invoice statuses: generated from invoicing/domain/invoices.py by "
    "`python -m invoicing.domain.diagrams`. Do not edit. -->"
)
END = "<!-- END invoice statuses -->"


def render(table: Table[InvoiceStatus] = TABLE) -> str:
    """The section: a mermaid stateDiagram-v2 and the table behind it, between markers."""
    terminal = [s.value for s in table.statuses if s in table.terminal]
    return "\n".join([BEGIN, "", *chart(arrows(table), terminal), "", END])


def section(page: str) -> str:
    """The generated section of `page`, markers included ("" when it has none)."""
    return section_of(page, BEGIN, END)


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated section of the page given (default docs/invoicing.md)."""
    args = sys.argv[1:] if argv is None else list(argv)
    path = Path(args[0] if args else "docs/invoicing.md")
    write_section(path, render(), BEGIN, END)
    sys.stderr.write(f"wrote the invoice state diagram to {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
