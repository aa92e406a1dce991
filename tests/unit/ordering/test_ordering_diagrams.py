"""docs/flows is rendered from the tables: a drift fails here.

Regenerate with `python -m ordering.domain.diagrams` from the repository root.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.orders import Flow
from ordering.domain import TABLES
from ordering.domain.diagrams import main, render

DOCS = Path(__file__).resolve().parents[3] / "docs" / "flows"


@pytest.mark.parametrize("flow", list(Flow))
def test_the_flow_docs_match_the_tables(flow: Flow) -> None:
    page = DOCS / f"{flow.value}.md"
    assert page.read_text(encoding="utf-8") == render(flow), (
        "docs/flows is stale: run `python -m ordering.domain.diagrams`"
    )


@pytest.mark.parametrize("flow", list(Flow))
def test_the_diagram_has_an_edge_per_transition_target(flow: Flow) -> None:
    table = TABLES[flow]
    page = render(flow)
    for row in table.rows:
        for target in row.targets:
            assert f"{row.source or '[*]'} --> {target} : {row.trigger}" in page
    for status in table.terminal:
        assert f"{status.value} --> [*]" in page


def test_main_writes_one_page_per_flow(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{f.value}.md" for f in Flow)
