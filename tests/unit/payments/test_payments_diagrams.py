"""docs/payments.md carries the diagrams rendered from the tables: a drift fails here.

Regenerate with `python -m payments.domain.diagrams` from the repository root.
"""

from __future__ import annotations

from pathlib import Path

from payments.domain import TABLES
from payments.domain.diagrams import BEGIN, END, main, render
from servicekit.diagrams import section

DOC = Path(__file__).resolve().parents[3] / "docs" / "payments.md"


def test_the_payments_doc_matches_the_tables() -> None:
    assert section(DOC.read_text(encoding="utf-8"), BEGIN, END) == render(), (
        "docs/payments.md is stale: run `python -m payments.domain.diagrams`"
    )


def test_the_diagrams_have_an_edge_per_row_target() -> None:
    page = render()
    for table in TABLES.values():
        for row in table.rows:
            source = "[*]" if row.source is None else row.source.value
            for target in row.targets:
                if target is not None:
                    assert f"{source} --> {target.value} : {row.trigger}" in page
        for status in table.terminal:
            assert f"{status.value} --> [*]" in page


def test_main_rewrites_only_the_generated_part(tmp_path: Path) -> None:
    page = tmp_path / "payments.md"
    page.write_text("# Notes\n\n" + render().replace("open", "OPEN") + "\nend\n")
    assert main([str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# Notes\n\n") and text.endswith("\nend\n")
    assert section(text, BEGIN, END) == render()
