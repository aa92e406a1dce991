"""The README's generated tables: configuration (from the settings classes) and topics.

    python -m servicekit.readme            # rewrite the tables in README.md
    python -m servicekit.readme --check    # exit 1 when README.md is stale

Each table sits between `<!-- name:start -->` and `<!-- name:end -->` markers.
"""

from __future__ import annotations

import importlib
import inspect
import json
from datetime import timedelta
from pathlib import Path

from pydantic.fields import FieldInfo

from contracts.channels import CHANNELS, key_of
from servicekit import asyncapi
from servicekit.config import ServiceSettings
from servicekit.generated import fill_markers, regenerate

README = Path(__file__).resolve().parents[2] / "README.md"


def settings_classes() -> dict[str, type[ServiceSettings]]:
    """Each service's settings class (the ServiceSettings subclass in its config)."""
    found: dict[str, type[ServiceSettings]] = {}
    for service in asyncapi.SERVICES:
        module = importlib.import_module(f"{service}.config")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            ours = cls.__module__ == module.__name__
            if ours and issubclass(cls, ServiceSettings) and cls is not ServiceSettings:
                found[service] = cls
    return found


def _env_name(name: str, field: FieldInfo, cls: type[ServiceSettings]) -> str:
    alias = field.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        return str(choices[0])
    prefix = str(cls.model_config.get("env_prefix", ""))
    return (prefix + name).upper()


def _duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if hasattr(value, "get_secret_value"):
        return "(a dev-only value)"
    text = _duration(value) if isinstance(value, timedelta) else str(value)
    return f"`{text}`" if text not in ("", "None") else "(none)"


def configuration_table() -> str:
    """One table: every setting, which services read it, its default and meaning."""
    rows: dict[str, list[str]] = {}
    owners: dict[str, list[str]] = {}
    classes = settings_classes()
    for name, field in ServiceSettings.model_fields.items():
        env = _env_name(name, field, ServiceSettings)
        default = _default(field)
        if name == "http_port":  # each service has its own port
            default = ", ".join(f"{s} `{c.model_fields[name].default}`" for s, c in classes.items())
        else:  # a service that sets its own default says so
            own = [
                f"{s} `{c.model_fields[name].default}`"
                for s, c in classes.items()
                if c.model_fields[name].default != field.default
            ]
            default += f" ({', '.join(own)})" if own else ""
        rows[env] = [env, "all", default, field.description or ""]
    for service, cls in classes.items():
        for name, field in cls.model_fields.items():
            if name in ServiceSettings.model_fields:
                continue
            env = _env_name(name, field, cls)
            owners.setdefault(env, []).append(service)
            if env in rows:  # shared by several services: one row, the first meaning
                continue
            rows[env] = [env, "", _default(field), field.description or ""]
    for env, services in owners.items():
        rows[env][1] = ", ".join(services)
    lines = ["| variable | services | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{r[0]}` | {r[1]} | {r[2]} | {r[3]} |" for r in rows.values()]
    return "\n".join(lines) + "\n\n" + DURATIONS


#: How duration settings are written (servicekit.config.parse_duration).
DURATIONS = (
    "Durations take seconds (`5`), a number and a unit (`500ms`, `2s`, `15min`, `24h`, `3d`,"
    " `2w`), or ISO 8601 (`PT72H`, `P5D`). Months and years are refused: they have no fixed"
    " length (write `P30D`)."
)


def topics_table() -> str:
    """Producers and consumers as the services' AsyncAPI documents say; types and keys as
    `contracts.channels` says."""
    producers: dict[str, list[str]] = {c.topic: [] for c in CHANNELS}
    consumers: dict[str, list[str]] = {c.topic: [] for c in CHANNELS}
    for service in asyncapi.SERVICES:
        spec = json.loads(asyncapi.document(service))
        for operation in spec.get("operations", {}).values():
            channel = spec["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
            side = producers if operation["action"] == "send" else consumers
            side.setdefault(channel["address"], []).append(service)
    lines = [
        "| topic | producers | consumers | key | message types |",
        "|---|---|---|---|---|",
    ]
    for channel in CHANNELS:
        topic, union = channel.topic, channel.messages
        made = sorted(set(producers.get(topic, [])))
        read = sorted(set(consumers.get(topic, [])))
        if channel.upstream:
            made = ["upstream", *made]
        else:
            read = [*read, "downstream"]
        keys = sorted({key_of(c).label for c in union.classes.values()})
        lines.append(
            f"| `{topic}` | {', '.join(made)} | {', '.join(read)} | "
            f"{'; '.join(keys)} | {', '.join(union.names())} |"
        )
    lines.append(
        "| `<topic>.dlq` | the consumer of `<topic>` | ops (`orderflow dlq`) | as the original "
        "| the original bytes, with `x-dlq-reason`, `x-dlq-error`, `x-dlq-service`, `x-dlq-source` headers "
        "(`x-dlq-value-dropped` and no value when the dead-letter topic cannot take it) |"
    )
    return "\n".join(lines)


TABLES = {"configuration": configuration_table, "topics": topics_table}


def render(text: str) -> str:
    return fill_markers(README.name, text, TABLES)


def main(argv: list[str] | None = None) -> int:
    return regenerate({README: render(README.read_text())}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
