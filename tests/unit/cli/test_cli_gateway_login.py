"""`orderflow run` starts the gateway last and prints logins the gateway accepts."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.auth import Verifier
from gateway.config import GatewaySettings
from orderflow.launcher import DEMO_JWT_SECRET, DEMO_LOGINS, Launcher, demo_logins, everything


def test_run_starts_the_five_services_then_the_gateway() -> None:
    assert everything()[-1] == "gateway"
    assert "gateway" not in everything()[:-1]


def test_the_printed_demo_logins_are_accepted_by_the_gateway_make_run_starts() -> None:
    env = Launcher(fixed_ports=True).gateway_env(0)
    settings = GatewaySettings.model_validate({"jwt_secret": env["ORDERFLOW_JWT_SECRET"]})
    verifier = Verifier(settings)
    callers = [verifier.caller(f"Bearer {t}") for t in demo_logins(datetime.now(UTC))]
    assert [(c.id, c.role) for c in callers] == list(DEMO_LOGINS)
    assert env["ORDERFLOW_JWT_SECRET"] == DEMO_JWT_SECRET
    assert env["ORDERFLOW_DEMO_LOGINS"] == "true"
