"""The "record" clock reads the timestamp of the record being handled (tests/determinism)."""

from __future__ import annotations

from datetime import UTC, datetime

from servicekit import clocks
from servicekit.config import ServiceSettings

AT = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


def test_the_record_clock_reads_the_handled_records_timestamp() -> None:
    with clocks.handling_record(int(AT.timestamp() * 1000)):
        assert clocks.clock("record")() == AT
        assert clocks.clock("wall")() != AT


def test_outside_a_handling_or_without_a_timestamp_the_record_clock_is_the_wall_clock() -> None:
    before = datetime.now(UTC)
    assert clocks.record() >= before
    with clocks.handling_record(None):
        assert clocks.record() >= before
    with clocks.handling_record(-1):
        assert clocks.record() >= before


def test_services_take_the_wall_clock_unless_told_otherwise() -> None:
    assert ServiceSettings().clock == "wall"
    assert ServiceSettings(clock="record").clock == "record"
