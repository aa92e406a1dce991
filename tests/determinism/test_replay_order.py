"""The replay's order: each partition in its offset order, partitions merged by timestamp
(no broker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderflow.kafka import Record
from tests.determinism.test_replay import consumption_log, consumption_order, recorded_order


def record(topic: str, partition: int, offset: int, timestamp: int) -> Record:
    return Record(topic, partition, offset, b"k", b"{}", {}, timestamp)


def test_each_partition_keeps_its_offset_order_even_when_its_timestamps_go_back() -> None:
    records = [
        record("orders.commands", 0, 1, 100),  # a producer with a slower clock
        record("orders.commands", 0, 0, 300),
        record("timers.events", 0, 0, 200),
        record("timers.events", 1, 0, 50),
    ]
    merged = [(r.topic, r.partition, r.offset) for r in recorded_order(records)]
    assert merged == [
        ("timers.events", 1, 0),
        ("timers.events", 0, 0),
        ("orders.commands", 0, 0),
        ("orders.commands", 0, 1),
    ]


def test_records_go_in_the_order_the_service_handled_them_not_as_they_were_stamped(
    tmp_path: Path,
) -> None:
    """An account's order completed (stamped first) was handled after its bill-cycle
    deadline (stamped later): the service's consumption log says so; the replay follows."""
    completed = record("orders.events", 0, 0, 100)
    deadline = record("timers.events", 0, 0, 200)
    log = tmp_path / "consumed-invoicing.tsv"
    log.write_text("p.timers.events\t0\t0\np.orders.events\t0\t0\np.orders.events\t0\t0\n")
    handled = consumption_log(log, "p.")
    assert handled == {("timers.events", 0, 0): 0, ("orders.events", 0, 0): 1}
    ordered = consumption_order([completed, deadline], handled)
    assert [r.topic for r in ordered] == ["timers.events", "orders.events"]
    with pytest.raises(AssertionError, match="not in the consumption log"):
        consumption_order([record("timers.events", 1, 0, 50)], handled)
