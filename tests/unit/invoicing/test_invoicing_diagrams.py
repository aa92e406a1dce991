"""docs/invoicing.md's state diagram is rendered from the table: a drift fails here.

Regenerate with `python -m invoicing.domain.diagrams` from the repository root.
"""

from __future__ import annotations

from pathlib import Path

from invoicing.domain import TABLE
from invoicing.domain.diagrams import BEGIN, END, main, render
from servicekit.diagrams import section as section_of


def section(page: str) -> str:
    return section_of(page, BEGIN, END)


DOC = Path(__file__).resolve().parents[3] / "docs" / "invoicing.md"


def test_the_invoicing_doc_shows_the_diagram_of_the_table() -> None:
    assert section(DOC.read_text(encoding="utf-8")) == render(), (
        "docs/invoicing.md is stale: run `python -m invoicing.domain.diagrams`"
    )


def test_the_diagram_has_an_edge_per_transition_target() -> None:
    page = render()
    for edge in TABLE.rows:
        for target in edge.targets:
            assert target is not None
            source = edge.source.value if edge.source is not None else "[*]"
            assert f"{source} --> {target.value} : {edge.trigger}" in page
    for status in TABLE.terminal:
        assert f"{status.value} --> [*]" in page


def test_main_rewrites_only_the_generated_section(tmp_path: Path) -> None:
    page = tmp_path / "invoicing.md"
    page.write_text("# Notes\n\nkept\n", encoding="utf-8")
    assert main([str(page)]) == 0
    first = page.read_text(encoding="utf-8")
    assert first.startswith("# Notes\n\nkept\n") and section(first) == render()
    assert main([str(page)]) == 0
    assert page.read_text(encoding="utf-8") == first
