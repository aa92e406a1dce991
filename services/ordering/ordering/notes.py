"""What an integrator must know of each command beyond its schema: in which flow and status
it is taken, from whom, and where it leads. Read from the transition tables (the single
source of truth) into ordering's AsyncAPI document by `servicekit.asyncapi`."""

from __future__ import annotations

from ordering.domain.flows import TABLES
from servicekit.tables import Via


def message_notes() -> dict[str, str]:
    """Per command type, one line per flow: `status -> targets, by roles (rules)`."""
    lines: dict[str, list[str]] = {}
    for flow, table in TABLES.items():
        for t in table.rows:
            if t.via is not Via.COMMAND:
                continue
            targets = ", ".join(f"`{s}`" for s in sorted(s.value for s in t.targets if s))
            guard = f"; {t.guard}" if t.guard else ""
            where = (
                f"starts the order in {targets}"
                if t.source is None
                else f"in `{t.source.value}` -> {targets}"
            )
            lines.setdefault(t.trigger, []).append(
                f"- {flow.value}: {where}, sent by {_roles(t.roles)} ({' '.join(t.rules)}{guard})"
            )
    intro = (
        "Taken where the flow's table has it (docs/flows); anywhere else it is refused "
        "with `not_allowed_in_status`, by another role or a party not on the order with "
        "`not_authorized`:"
    )
    return {name: "\n".join([intro, *rows]) for name, rows in lines.items()}


def _roles(roles: frozenset[object]) -> str:
    return " or ".join(sorted(f"`{r}`" for r in roles))
