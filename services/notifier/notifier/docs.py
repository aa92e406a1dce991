"""Regenerate the parts of docs/notifier.md that come from the code's tables.

    python -m notifier.docs            # rewrite them
    python -m notifier.docs --check    # exit 1 when docs/notifier.md is stale

Each part sits between `<!-- name:start -->` and `<!-- name:end -->` (names: the keys
of `notifier.domain.docs.SECTIONS`); a unit test fails on drift.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from notifier.domain.docs import SECTIONS
from servicekit.diagrams import section

DOC = Path(__file__).resolve().parents[3] / "docs" / "notifier.md"


def render(text: str) -> str:
    """`text` with every generated part replaced by what the tables say now."""
    for name, make in SECTIONS.items():
        begin, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        old = section(text, begin, end)
        if not old:
            raise LookupError(f"{DOC.name} has no {name} markers")
        text = text.replace(old, f"{begin}\n{make()}\n{end}")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            sys.stderr.write(f"{DOC} is stale; run: python -m notifier.docs\n")
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
