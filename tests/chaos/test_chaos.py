"""The short chaos run (docs/chaos.md): every service killed once, Kafka and the document
store stopped once, two faults at once (a service killed while Kafka restarts, the store
killed -9 during a rebalance, two replicas killed together), a replica paused past its
session and leases, the SMTP server down, refusing and slow, the gateway killed
mid-request, while orders stream through all three flows; nothing may be lost or happen
twice. It runs on a stack of its own, so it never stops the shared one.
`make chaos` runs the full version."""

from __future__ import annotations

import pytest

from tests.chaos.harness import SHORT, run

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.timeout(1200)]


async def test_X01_X02_X06_killed_services_and_stopped_servers_lose_no_order_and_repeat_no_effect() -> (
    None
):
    report = await run(SHORT)
    print(report.table())
    verdict, table = report.verdict, report.table()
    assert len(report.injected) == len(SHORT.faults) == 12, table
    assert len(report.orders) >= 20 and not report.stuck, table
    assert report.gateway_retries >= 1, table  # the gateway was killed mid-request
    assert report.lost == set(), table
    assert verdict.count("duplicate") == 0, table
    assert verdict.count("status") == 0 and verdict.count("unexpected") == 0, table
    assert verdict.dead_letters_found == verdict.dead_letters_expected == 6, table
    assert verdict.count("dead letter") == 0, table
    assert report.ok, table
