"""docs/authority.md's matrix is generated from the tables: it must not drift, and a cell
says what `answer` says for every relation (servicekit.authority)."""

from __future__ import annotations

from pathlib import Path

from contracts.envelope import Role
from contracts.orders import Flow
from ordering.domain import TABLES
from servicekit.authority import (
    BEGIN,
    END,
    Answer,
    Reach,
    Relation,
    answer,
    lifecycles,
    reach,
    render,
)
from servicekit.diagrams import section

DOC = Path(__file__).parents[3] / "docs" / "authority.md"


def test_the_authority_doc_shows_the_matrix_of_the_tables() -> None:
    page = DOC.read_text(encoding="utf-8")
    assert section(page, BEGIN, END) == render(lifecycles()), (
        "docs/authority.md is stale: run `make docs` (python -m servicekit.authority)"
    )


def test_X07_a_party_role_is_own_only_and_staff_any_and_an_unnamed_role_none() -> None:
    managed = TABLES[Flow.MANAGED]
    assert reach(managed, "SubmitOrder", Role.MEMBER) is Reach.OWN
    assert answer(managed, "SubmitOrder", Role.MEMBER, Relation.OTHER) is Answer.NOT_AUTHORIZED
    assert reach(managed, "ConfirmOrder", Role.OPERATOR) is Reach.ANY
    assert answer(managed, "ConfirmOrder", Role.OPERATOR, Relation.STRANGER) is Answer.ALLOWED
    assert reach(managed, "SubmitOrder", Role.CLIENT) is Reach.NO
    assert answer(managed, "MarkInvoicingComplete", Role.SYSTEM, Relation.SYSTEM) is Answer.ALLOWED
