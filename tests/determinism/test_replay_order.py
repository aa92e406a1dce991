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


def test_a_record_goes_where_the_service_handled_it_not_where_it_was_stamped() -> None:
    """An account's order completed (stamped first) was handled after its bill-cycle
    deadline (stamped later): the commits' times say so, and the replay follows them."""
    completed = Record("orders.events", 0, 0, b"k", b'{"message_id": "m-1"}', {}, 100)
    deadline = Record(
        "timers.events", 0, 0, b"k", b'{"message_id": "m-2", "deadline_id": "d-1"}', {}, 200
    )
    handled_at = {"m-1": 900, "deadline:d-1": 500}
    merged = [r.topic for r in recorded_order([completed, deadline], handled_at)]
    assert merged == ["timers.events", "orders.events"]
    assert [r.topic for r in recorded_order([completed, deadline])] == [
        "orders.events",
        "timers.events",
    ]
