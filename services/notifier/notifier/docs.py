"""Regenerate the parts of docs/notifier.md that come from the code's tables.

    python -m notifier.docs            # rewrite them
    python -m notifier.docs --check    # exit 1 when docs/notifier.md is stale

Each part sits between `<!-- name:start -->` and `<!-- name:end -->` (names: the keys
of `notifier.domain.docs.SECTIONS`); a unit test fails on drift.
"""

from __future__ import annotations

from notifier.domain.docs import SECTIONS
from servicekit.generated import ROOT, fill_markers, regenerate

DOC = ROOT / "docs" / "notifier.md"


def render(text: str) -> str:
    """`text` with every generated part replaced by what the tables say now."""
    return fill_markers(DOC.name, text, SECTIONS)


def main(argv: list[str] | None = None) -> int:
    return regenerate({DOC: render(DOC.read_text(encoding="utf-8"))}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
