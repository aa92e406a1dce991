"""The generated parts of docs/notifier.md, rendered from the tables: never by hand.

    emails_table()        event -> condition -> recipient -> template -> rules (CATALOGUE)
    deliveries_diagram()  the delivery statuses as a mermaid diagram (delivery.TABLE)

`notifier.docs` writes them between their markers; a unit test fails on drift.
"""

from __future__ import annotations

from collections.abc import Callable

from notifier.domain.catalogue import CATALOGUE, Catalogue
from notifier.domain.delivery import TABLE, Step


def emails_table(catalogue: Catalogue = CATALOGUE) -> str:
    rows = [
        "| topic | event | when | recipient | template | rules |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in catalogue.notices:
        rows.append(
            f"| {row.topic} | `{row.event_type}` | {row.guard or 'always'} "
            f"| {row.to.describe()} | `{row.template}` | {' '.join(row.rules)} |"
        )
    return "\n".join(rows)


def deliveries_diagram(table: tuple[Step, ...] = TABLE) -> str:
    lines = ["```mermaid", "stateDiagram-v2"]
    for row in table:
        source = row.source.value if row.source else "[*]"
        lines.append(f"    {source} --> {row.target.value} : {row.trigger}")
    terminal = sorted({r.target for r in table} - {r.source for r in table if r.source})
    lines += [f"    {status.value} --> [*]" for status in terminal]
    lines += ["```", "", "| from | on | to | effect |", "| --- | --- | --- | --- |"]
    for row in table:
        source = row.source.value if row.source else "(nothing)"
        lines.append(f"| {source} | {row.trigger} | {row.target.value} | {row.effect} |")
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[], str]] = {
    "emails": emails_table,
    "deliveries": deliveries_diagram,
}
