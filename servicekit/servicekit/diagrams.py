"""One renderer for every transition table: a mermaid state diagram and the table behind it.

    chart(arrows, terminal)            the lines of one diagram and its table
    write_section(path, rendered, begin, end)
                                       rewrite the generated part of a page

Ordering, payments and invoicing each turn their table into `Arrow`s (their own words
for who may act) and call `chart`; the pages in docs/ are generated, never drawn by hand
(issue 18: one renderer instead of three). Pure but for `write_section`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Arrow:
    """One row of a table: from `source` (None: creation) on `trigger` to `targets`."""

    source: str | None
    trigger: str
    targets: tuple[str, ...]
    who: str
    rules: tuple[str, ...]
    guard: str = ""
    #: What the diagram's arrow says (by default the trigger and who).
    label: str = ""
    #: Targets the table lists but the diagram cannot draw (e.g. "(none)").
    unseen: tuple[str, ...] = ()


def chart(arrows: Sequence[Arrow], terminal: Sequence[str]) -> list[str]:
    """A mermaid stateDiagram-v2, the table behind it, and the terminal statuses."""
    shown = ", ".join(f"`{status}`" for status in terminal)
    return [
        "```mermaid",
        "stateDiagram-v2",
        *(f"    {line}" for line in _diagram(arrows, terminal)),
        "```",
        "",
        "| From | When | To | Who | Rules | Guard |",
        "| --- | --- | --- | --- | --- | --- |",
        *(_row(arrow) for arrow in arrows),
        "",
        f"Terminal: {shown or 'none'}.",
    ]


def section(page: str, begin: str, end: str) -> str:
    """The generated part of `page`, markers included ("" when it has none)."""
    start, stop = page.find(begin), page.find(end)
    return page[start : stop + len(end)] if 0 <= start < stop else ""


def write_section(path: Path, rendered: str, begin: str, end: str) -> None:
    """Put `rendered` (markers included) in place of the generated part of `path`, or at
    its end when it has none yet."""
    page = path.read_text(encoding="utf-8") if path.exists() else ""
    old = section(page, begin, end)
    page = page.replace(old, rendered) if old else f"{page.rstrip()}\n\n{rendered}\n".lstrip()
    path.write_text(page, encoding="utf-8")


def _diagram(arrows: Sequence[Arrow], terminal: Sequence[str]) -> list[str]:
    lines = []
    for arrow in arrows:
        label = arrow.label or f"{arrow.trigger} ({arrow.who})"
        for target in arrow.targets:
            lines.append(f"{arrow.source or '[*]'} --> {target} : {label}")
    return lines + [f"{status} --> [*]" for status in terminal]


def _row(arrow: Arrow) -> str:
    targets = ", ".join((*arrow.targets, *arrow.unseen))
    return (
        f"| {arrow.source or ''} | {arrow.trigger} | {targets} | {arrow.who} "
        f"| {' '.join(arrow.rules)} | {arrow.guard} |"
    )
