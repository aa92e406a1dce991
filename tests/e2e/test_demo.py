"""The demo of `orderflow run` plays its scenarios to their ends on the whole system.

Its steps are `orderflow.scenarios`, the ones the other end-to-end tests call; this plays
the demo itself, so that what `orderflow run` shows is proven, not only its parts.
"""

from __future__ import annotations

import pytest

from orderflow.demo import SCENARIOS, play
from tests.e2e.conftest import System

pytestmark = pytest.mark.timeout(180)


async def test_M05_M08_P02_P14_P15_P19_A07_every_demo_scenario_reaches_its_end(
    system: System,
) -> None:
    lines = await play(system.bus)
    assert len(lines) == len(SCENARIOS)
    assert not [line for line in lines if line.startswith("scenario failed")], lines
    managed, lapsed, captured, paid, repriced, account = lines
    assert managed.endswith(": active")
    assert lapsed.endswith(": cancelled (nobody confirmed in time)")
    assert "closed (no payment stage), 40.00 EUR captured, payout scheduled" in captured
    assert paid.endswith(": paid 40.00 EUR, closed, payout scheduled")
    assert "in_progress at 55.00 EUR" in repriced and "refused: price_not_accepted" in repriced
    assert "completed after approval, 300.00 EUR" in account
