"""Budgets of the stateful domain fuzzers (tests/unit/*/test_*_stateful.py), issue 20.

The machines walk orders, requests, claims and invoices through random *valid* command
sequences at the domain level (no stack). Their budget follows the fuzz run's settings:

    ORDERFLOW_FUZZ_PROFILE=ci     (default, `make test`): derandomized, MACHINE_EXAMPLES
                                  runs of up to MACHINE_STEPS steps: about 180 steps each
    ORDERFLOW_FUZZ_PROFILE=fuzz   (`make fuzz`): random, ORDERFLOW_FUZZ_EXAMPLES runs
                                  (default 200) of up to 50 steps

Importing this module loads no stack (tests/fuzz/conftest.py is only read by pytest).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_NAME = os.environ.get("ORDERFLOW_FUZZ_PROFILE", "ci")
MACHINE_EXAMPLES = 12
MACHINE_STEPS = 15


def machine_settings() -> settings:
    """The settings of one state machine test under this run's profile."""
    common = settings(deadline=None, database=None, print_blob=True)
    if PROFILE_NAME == "fuzz":
        examples = int(os.environ.get("ORDERFLOW_FUZZ_EXAMPLES", "200"))
        return settings(
            common,
            max_examples=examples,
            stateful_step_count=50,
            suppress_health_check=[HealthCheck.too_slow],
        )
    return settings(
        common,
        max_examples=MACHINE_EXAMPLES,
        stateful_step_count=MACHINE_STEPS,
        derandomize=True,
    )
