"""The replay's order: each partition in its offset order, partitions merged by timestamp
(no broker needed)."""

from __future__ import annotations

from orderflow.kafka import Record
from tests.determinism.test_replay import recorded_order


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
