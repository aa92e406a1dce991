"""The invoice state diagram, rendered from the table: never drawn by hand.

    python -m invoicing.domain.diagrams [FILE]   rewrites the section in FILE
                                                 (default docs/invoicing.md)

`render()` is pure; a unit test fails when the section in docs/invoicing.md drifts from
the table.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from contracts.invoicing import InvoiceStatus
from invoicing.domain.invoices import TABLE
from servicekit.tables import Table, chart_of, write_page

BEGIN = (
    "<!-- BEGIN invoice statuses: generated from invoicing/domain/invoices.py by "
    "`python -m invoicing.domain.diagrams`. Do not edit. -->"
)
END = "<!-- END invoice statuses -->"


def render(table: Table[InvoiceStatus] = TABLE) -> str:
    """The section: a mermaid stateDiagram-v2 and the table behind it, between markers."""
    return "\n".join([BEGIN, "", *chart_of(table), "", END])


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated section of the page given (default docs/invoicing.md)."""
    path = write_page(argv, "docs/invoicing.md", render(), BEGIN, END)
    sys.stderr.write(f"wrote the invoice state diagram to {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
