"""What an integrator must know of each command beyond its schema: in which flow and status
it is taken, from whom, and where it leads. Read from the transition tables (the single
source of truth) into ordering's AsyncAPI document by `servicekit.asyncapi`."""

from __future__ import annotations

from ordering.domain.flows import TABLES


def message_notes() -> dict[str, str]:
    """Per command type, one line per flow: `status -> targets, by roles (rules)`."""
    lines: dict[str, list[str]] = {}
    for flow, table in TABLES.items():
        creation = table.creation
        lines.setdefault("CreateOrder", []).append(
            f"- {flow.value}: starts the order in `{creation.initial.value}`, sent by "
            f"{_roles(creation.roles)} ({' '.join(creation.rules)})"
        )
        for t in table.transitions:
            targets = ", ".join(f"`{s.value}`" for s in sorted(t.targets))
            guard = f"; {t.guard}" if t.guard else ""
            lines.setdefault(t.trigger, []).append(
                f"- {flow.value}: in `{t.source.value}` -> {targets}, sent by "
                f"{_roles(t.roles)} ({' '.join(t.rules)}{guard})"
            )
    intro = (
        "Taken where the flow's table has it (docs/flows); anywhere else it is refused "
        "with `not_allowed_in_status`, by another role or a party not on the order with "
        "`not_authorized`:"
    )
    return {name: "\n".join([intro, *rows]) for name, rows in lines.items()}


def _roles(roles: frozenset[object]) -> str:
    return " or ".join(sorted(f"`{r}`" for r in roles))
