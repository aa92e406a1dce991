"""The soak's and the lifecycles section's pure helpers: slopes, the table's rows and bounds,
the compressed invoicing calendar, CPU per lifecycle beside the idle baseline."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bench.lifecycles import Calendar, Driver, closed_loop, cpu_rows, kinds_of, scaled
from bench.soak import (
    Bounds,
    Line,
    Load,
    Sample,
    described,
    lines,
    marginal_bytes,
    open_loop,
    slope,
    table,
)


def sample(at: float, rss: float, fds: float = 20, stored: float = 0, done: int = 0) -> Sample:
    figures = {"ordering": {"rss_mb": rss, "open_files": fds, "threads": 3.0}}
    return Sample(at, figures, stored, done)


def test_slope_of_a_straight_line_is_its_gradient() -> None:
    assert slope([(0, 1), (1, 3), (2, 5), (3, 7)]) == pytest.approx(2.0)


def test_slope_is_zero_for_one_point_or_one_moment() -> None:
    assert slope([(5, 9)]) == 0.0
    assert slope([(5, 1), (5, 9)]) == 0.0


def test_slope_of_noise_around_a_level_is_near_zero() -> None:
    assert slope([(0, 10), (1, 11), (2, 10), (3, 11), (4, 10), (5, 11)]) == pytest.approx(
        0.0857, abs=1e-3
    )


def test_flat_memory_after_warm_up_passes_though_it_grew_at_first() -> None:
    samples = [sample(0, 60), sample(10, 80), sample(20, 90), sample(30, 90.5), sample(40, 91)]
    [rss, *_] = lines(samples, Bounds(rss_mb=10))
    assert (rss.start, rss.middle, rss.end) == (60, 90, 91)
    assert rss.ok
    assert rss.per_hour == pytest.approx(0.05 * 3600)


def test_memory_that_keeps_growing_after_the_middle_fails() -> None:
    samples = [sample(t, 80 + t) for t in range(0, 50, 10)]
    [rss, *_] = lines(samples, Bounds(rss_mb=10))
    assert rss.growth == 20
    assert not rss.ok


def test_memory_over_200_MB_fails_even_when_flat() -> None:
    assert not Line("notifier", "rss_mb", 201, 201, 201, 0.0, 10).ok


def test_open_files_may_grow_by_the_bound_and_no_more() -> None:
    assert Line("timers", "open_files", 20, 20, 25, 0.0, 5).ok
    assert not Line("timers", "open_files", 20, 20, 26, 0.0, 5).ok


def test_bytes_per_order_are_bounded_by_a_fraction_of_the_middle() -> None:
    samples = [
        sample(0, 80, stored=10_000, done=0),
        sample(10, 80, stored=100_000, done=10),
        sample(20, 80, stored=190_000, done=20),
        sample(30, 80, stored=300_000, done=30),
    ]
    store = next(r for r in lines(samples, Bounds(bytes_fraction=0.1)) if r.what == "store")
    assert (store.start, store.middle, store.end) == (10_000, 9_500, 10_000)
    assert store.allowed == pytest.approx(950)
    assert store.ok


def test_no_bytes_per_order_before_the_first_lifecycle_ends() -> None:
    samples = [sample(0, 80, stored=5000, done=0), sample(10, 80, stored=6000, done=2)]
    store = next(r for r in lines(samples, Bounds()) if r.what == "store")
    assert store.start == 3000


def test_marginal_bytes_are_what_each_lifecycle_added_between_two_samples() -> None:
    first, last = sample(0, 80, stored=50_000, done=10), sample(60, 80, stored=80_000, done=20)
    assert marginal_bytes(first, last) == 3000
    assert marginal_bytes(last, last) == 0.0


def test_the_table_says_which_figure_failed() -> None:
    text = table([Line("payments", "threads", 3, 3, 9, 12.0, 2)])
    assert text.splitlines()[2] == "| payments | threads | 3 | 3 | 9 | +12.0 | 2 | **no** |"


def test_cpu_per_lifecycle_stands_beside_the_idle_baseline_and_a_total() -> None:
    rows = cpu_rows({"ordering": 2.0, "kafka": 1.0}, {"kafka": 0.5}, 100)
    assert rows == [
        ("ordering", "20.0 ms (idle 0.0 ms)"),
        ("kafka", "10.0 ms (idle 5.0 ms)"),
        ("all processes", "30.0 ms (idle 5.0 ms)"),
    ]


def test_idle_cpu_is_scaled_to_the_time_the_load_took() -> None:
    assert scaled({"kafka": 1.0}, 10, 30) == {"kafka": 3.0}
    assert scaled({"kafka": 1.0}, 0, 30) == {}


def test_the_compressed_calendar_puts_the_draft_far_enough_ahead() -> None:
    origin = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
    calendar = Calendar(origin, day=2.0, lead=1.0)
    now = origin + timedelta(seconds=5)
    day = calendar.first_day(now, 3.0)
    # day n starts at origin + 2n s; its draft 1 s before: at least now + 3 s = 8 s.
    assert day == date(2026, 12, 6) + timedelta(days=5)
    assert calendar.env()["ORDERFLOW_INVOICE_CALENDAR_DAY"] == "2.0"


def test_unknown_lifecycle_kinds_are_refused() -> None:
    assert kinds_of("postpaid,account") == ["postpaid", "account"]
    with pytest.raises(ValueError, match="unknown lifecycles"):
        kinds_of("postpaid,barter")


async def test_the_open_loop_counts_starts_it_skipped_because_too_many_were_in_flight() -> None:
    release = asyncio.Event()

    async def stuck() -> None:
        await release.wait()

    load = Load()
    await open_loop(load, stuck, rate=200, seconds=0.05, max_in_flight=2)
    assert (len(load.tasks), load.skipped) == (2, 8)
    release.set()
    await asyncio.gather(*load.tasks)
    assert (load.done, load.failed) == (2, 0)


async def test_the_closed_loop_runs_each_lifecycle_once_and_counts_failures() -> None:
    calls = 0

    async def every_third_fails() -> None:
        nonlocal calls
        calls += 1
        if calls % 3 == 0:
            raise RuntimeError("refused")

    outcome = await closed_loop(every_third_fails, 9, 4, ramp=0)
    assert (calls, len(outcome.seconds), len(outcome.errors)) == (9, 6, 3)
    assert outcome.errors[0] == "RuntimeError: refused"


def test_the_appointment_lead_follows_the_slowest_recent_booking() -> None:
    calendar = Calendar(datetime(2026, 12, 6, tzinfo=UTC), day=2.0, lead=1.0)
    driver = Driver("b1", calendar, lead=3.0)
    assert driver.lead == 3.0
    for seconds in (0.5, 4.0, 1.0):
        driver._booked(seconds)
    assert driver.lead == 8.0
    for _ in range(20):  # the slow one has left the window
        driver._booked(1.0)
    assert driver.lead == 3.0


def test_a_failed_lifecycle_is_described_with_its_kind() -> None:
    error = TimeoutError()
    error.add_note("(account lifecycle)")
    assert described(error) == "TimeoutError: (account lifecycle)"
    assert described(RuntimeError("refused")) == "RuntimeError: refused"
