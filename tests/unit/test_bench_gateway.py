"""The gateway benchmark's pure helpers: the open-loop schedule and the histogram's quantiles."""

from __future__ import annotations

import asyncio
import itertools
import math

import httpx
import pytest

from bench.gateway_bench import (
    bucket_quantile,
    difference,
    due_times,
    histogram,
    open_loop,
    share_within,
)

METRICS = """\
# HELP orderflow_gateway_projection_lag_seconds From an event's occurred_at ...
# TYPE orderflow_gateway_projection_lag_seconds histogram
orderflow_gateway_projection_lag_seconds_bucket{le="0.1",topic="p.orders.events"} 2.0
orderflow_gateway_projection_lag_seconds_bucket{le="0.5",topic="p.orders.events"} 8.0
orderflow_gateway_projection_lag_seconds_bucket{le="+Inf",topic="p.orders.events"} 10.0
orderflow_gateway_projection_lag_seconds_count{topic="p.orders.events"} 10.0
orderflow_gateway_projection_lag_seconds_bucket{le="0.1",topic="p.timers.events"} 1.0
orderflow_gateway_projection_lag_seconds_bucket{le="0.5",topic="p.timers.events"} 1.0
orderflow_gateway_projection_lag_seconds_bucket{le="+Inf",topic="p.timers.events"} 2.0
other_metric_bucket{le="0.1"} 99.0
"""


def test_due_times_are_fixed_by_the_rate_not_by_answers() -> None:
    assert due_times(200, 4) == [0.0, 0.005, 0.01, 0.015]
    assert due_times(200, 0) == []


def test_due_times_refuse_a_rate_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        due_times(0, 3)


def test_histogram_sums_the_buckets_of_every_label_and_ignores_other_metrics() -> None:
    buckets = histogram(METRICS, "orderflow_gateway_projection_lag_seconds")
    assert buckets == {0.1: 3.0, 0.5: 9.0, math.inf: 12.0}


def test_difference_is_what_was_observed_between_two_snapshots() -> None:
    before = {0.1: 1.0, 0.5: 2.0, math.inf: 2.0}
    after = {0.1: 3.0, 0.5: 9.0, math.inf: 12.0}
    assert difference(after, before) == {0.1: 2.0, 0.5: 7.0, math.inf: 10.0}


def test_bucket_quantile_interpolates_within_the_bucket_like_histogram_quantile() -> None:
    buckets = {0.1: 2.0, 0.5: 8.0, 1.0: 10.0, math.inf: 10.0}
    assert bucket_quantile(0.1, buckets) == pytest.approx(0.05)  # rank 1 of the first 2
    assert bucket_quantile(0.5, buckets) == pytest.approx(0.1 + 0.4 * 3 / 6)
    assert bucket_quantile(0.99, buckets) == pytest.approx(0.5 + 0.5 * 1.9 / 2)


def test_bucket_quantile_beyond_the_highest_bound_is_that_bound() -> None:
    assert bucket_quantile(0.99, {0.5: 1.0, 1.0: 2.0, math.inf: 10.0}) == 1.0


def test_bucket_quantile_of_nothing_is_nan() -> None:
    assert math.isnan(bucket_quantile(0.5, {0.5: 0.0, math.inf: 0.0}))
    assert math.isnan(bucket_quantile(0.5, {}))


def test_share_within_is_exact_at_a_bucket_bound() -> None:
    assert share_within({0.1: 2.0, 0.5: 99.0, math.inf: 100.0}, 0.5) == pytest.approx(0.99)
    assert math.isnan(share_within({0.5: 0.0, math.inf: 0.0}, 0.5))


async def test_open_loop_sends_on_schedule_while_earlier_answers_are_slow() -> None:
    arrived: list[float] = []
    loop = asyncio.get_running_loop()

    async def slow(request: httpx.Request) -> httpx.Response:
        arrived.append(loop.time())
        await asyncio.sleep(0.2)  # each answer takes longer than the gap between requests
        return httpx.Response(200 if request.url.path != "/missing" else 404)

    urls = ["http://bench.test/view"] * 9 + ["http://bench.test/missing"]
    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
        paced = await open_loop(client, urls, rate=100)
    gaps = [b - a for a, b in itertools.pairwise(arrived)]
    assert max(gaps) < 0.1  # closed loop, each would wait for the previous 0.2 s answer
    assert (paced.sent, paced.answered) == (10, 9)  # the 404 is sent, not answered
    assert min(paced.latencies) >= 0.2  # from each request's due time, answer included
