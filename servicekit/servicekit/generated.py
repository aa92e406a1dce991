"""Files generated from the code (`make docs`), written or checked the same way by each generator.

regenerate(fresh, argv)        `python -m <generator> [--check]`: write the files, or exit 1
                               when one on disk is stale
fill_markers(page, text, parts)
                               replace each `<!-- name:start -->…<!-- name:end -->` part
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def regenerate(
    fresh: Mapping[Path, str], argv: Sequence[str] | None, gone: Iterable[Path] = ()
) -> int:
    """Write `fresh` (and delete `gone`, files no longer generated); with `--check` in
    `argv`, write nothing and return 1 when a file differs, is missing or is left over."""
    parser = argparse.ArgumentParser(description="Regenerate files made from the code.")
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    gone = sorted(gone)
    if parser.parse_args(argv).check:
        stale = [p for p, text in fresh.items() if not p.exists() or p.read_text() != text]
        if stale or gone:
            names = ", ".join(str(p.relative_to(ROOT)) for p in [*stale, *gone])
            sys.stderr.write(f"stale: {names}; run: make docs\n")
            return 1
        return 0
    for path in gone:
        path.unlink()
    for path, text in fresh.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return 0


def fill_markers(page: str, text: str, parts: Mapping[str, Callable[[], str]]) -> str:
    """`text` with each part between its `<!-- name:start -->` and `<!-- name:end -->`
    markers made again; a missing pair of markers is a `LookupError`."""
    for name, make in parts.items():
        pattern = re.compile(rf"<!-- {name}:start -->\n.*?<!-- {name}:end -->", re.DOTALL)
        found = pattern.search(text)
        if found is None:
            raise LookupError(f"{page} has no {name} markers")
        start, end = found.span()
        text = f"{text[:start]}<!-- {name}:start -->\n{make()}\n<!-- {name}:end -->{text[end:]}"
    return text
