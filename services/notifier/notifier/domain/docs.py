"""The generated parts of docs/notifier.md, rendered from the tables: never by hand.

    emails_table()        event -> condition -> recipient -> template -> rules (CATALOGUE)
    matrix()              X-11: each event, each party, the email it gets (CATALOGUE)
    silent_table()        X-11: the events that email nobody, and why (SILENT)
    reminders_table()     X-12: the windows, who is reminded, when, what closes them
    deliveries_diagram()  the delivery statuses as a mermaid diagram (delivery.TABLE)

`notifier.docs` writes them between their markers; a unit test fails on drift.
"""

from __future__ import annotations

from collections.abc import Callable

from notifier.domain.catalogue import CATALOGUE, SILENT, Catalogue
from notifier.domain.delivery import TABLE, Step
from notifier.domain.reminders import REMINDERS, Reminder


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


#: The matrix's columns: every role a notice addresses, in the flows' order.
PARTY_ORDER = ("member", "client", "supplier", "customer", "agent", "approver", "operator")


def matrix(catalogue: Catalogue = CATALOGUE) -> str:
    """X-11: one line per event, one column per party; a cell is the template it gets
    (with its condition when it has one)."""
    named = {role for r in catalogue.notices for role in _roles(r.to.describe())}
    parties = [p for p in PARTY_ORDER if p in named]
    rows = [
        "| event | " + " | ".join(parties) + " |",
        "| --- |" + " --- |" * len(parties),
    ]
    events: dict[str, dict[str, list[str]]] = {}
    for row in catalogue.notices:
        cells = events.setdefault(row.event_type, {})
        roles = _roles(row.to.describe())
        guard = row.guard or ("when awaited" if len(roles) > 1 else "")
        shown = f"`{row.template}`" + (f" ({guard})" if guard else "")
        for role in roles:
            cells.setdefault(role, []).append(shown)
    for event, cells in events.items():
        line = " | ".join("<br>".join(cells.get(p, [])) or "·" for p in parties)
        rows.append(f"| `{event}` | {line} |")
    return "\n".join(rows)


def _roles(description: str) -> list[str]:
    """The role a recipient rule names first; `AwaitingParty` names none: it is whichever
    of the post-paid parties the event awaits."""
    for word in description.replace("(", " ").replace(",", " ").split():
        if word in PARTY_ORDER:
            return [word]
    return ["supplier", "customer"]


def silent_table(silent: dict[str, str] = SILENT) -> str:
    rows = ["| event | why no email |", "| --- | --- |"]
    rows += [f"| `{event}` | {why} |" for event, why in silent.items()]
    return "\n".join(rows)


def reminders_table(reminders: tuple[Reminder, ...] = REMINDERS) -> str:
    rows = [
        "| window | opened by | when | reminded | template | lead setting | closed by | rules |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in reminders:
        setting = f"`ORDERFLOW_REMINDER_LEAD_{r.window.replace('-', '')}`"
        closed = ", ".join(f"`{c.model_fields['type'].default}`" for c in r.closed_by)
        rows.append(
            f"| {r.window} | `{r.event_type}` | {r.guard or 'always'} | {r.to.describe()} "
            f"| `{r.template}` | {setting} | {closed} | {' '.join(r.rules)} |"
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
    "matrix": matrix,
    "silent": silent_table,
    "reminders": reminders_table,
}
