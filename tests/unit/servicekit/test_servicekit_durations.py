"""Every default the README's configuration table prints can be set back as it is printed.

Durations are configuration (seed-rules: "Durations are defaults"), so an operator copies
them from the table; months and years are refused with a message, never read as 30 days.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from servicekit import readme
from servicekit.config import Duration, ServiceSettings

ROW = re.compile(r"^\| `(?P<env>[A-Z_]+)` \| (?P<services>[^|]*) \| `(?P<default>[^`]*)` \|", re.M)


def printed_defaults() -> list[tuple[str, list[type[ServiceSettings]], str]]:
    """(variable, the settings classes that read it, its default as the table prints it)."""
    classes = readme.settings_classes()
    rows = []
    for row in ROW.finditer(readme.configuration_table()):
        services = row["services"].strip()
        readers = list(classes.values()) if services == "all" else [
            classes[s.strip()] for s in services.split(",")
        ]  # fmt: skip
        rows.append((row["env"], readers, row["default"]))
    return rows


def field_of(cls: type[ServiceSettings], env: str) -> str:
    for name, field in cls.model_fields.items():
        if readme._env_name(name, field, cls) == env:
            return name
    raise LookupError(env)


def test_the_table_prints_the_short_durations_this_test_is_about() -> None:
    printed = {default for _, _, default in printed_defaults()}
    assert {"2s", "15s", "1min", "3min", "5min", "1d", "3d"} <= printed


@pytest.mark.parametrize(("env", "readers", "default"), printed_defaults(), ids=lambda v: str(v))
def test_every_default_printed_in_the_readme_parses_back_to_that_default(
    env: str, readers: list[type[ServiceSettings]], default: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env, default)
    for cls in readers:
        name = field_of(cls, env)
        expected = cls.model_fields[name].get_default(call_default_factory=True)
        assert getattr(cls(), name) == expected, f"{cls.__name__}.{name} from {default!r}"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5", 5), ("2.5", 2.5), ("500ms", 0.5), ("2s", 2), ("15min", 900), ("24h", 86400),
        ("3d", 259200), ("2w", 1209600), ("PT72H", 259200), ("P5D", 432000), ("PT1M", 60),
    ],
)  # fmt: skip
def test_a_duration_takes_seconds_a_unit_or_iso_8601(text: str, seconds: float) -> None:
    assert TypeAdapter(Duration).validate_python(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1Y2D", "P2MT3H", "1M", "3mo", "1y", "2 years"])
def test_months_and_years_are_refused_with_a_message_not_read_as_30_days(text: str) -> None:
    with pytest.raises(ValidationError, match="months and years have no fixed length"):
        TypeAdapter(Duration).validate_python(text)


def test_a_setting_given_in_months_fails_at_startup_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ordering.config import OrderingSettings

    monkeypatch.setenv("ORDERFLOW_CONFIRMATION_WINDOW", "P1M")
    with pytest.raises(ValidationError, match="confirmation_window") as error:
        OrderingSettings()
    assert "months and years have no fixed length" in str(error.value)
