"""Durations, fees and policies are configuration with the seeds' values as defaults."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.payments import CancellationPolicy, FeeTier
from payments.config import PaymentsSettings
from payments.domain import DEFAULT_CANCELLATION_POLICY


def test_X05_the_defaults_are_the_seeds_values() -> None:
    settings = PaymentsSettings()
    policy = settings.policy()
    assert settings.http_port == 8103
    assert policy.payment_window == timedelta(hours=72)  # P-15
    assert policy.payout_delay == timedelta(days=14)  # P-18
    assert policy.payout_processing_days == 5  # P-18
    assert policy.default_cancellation == DEFAULT_CANCELLATION_POLICY  # P-11


def test_P15_the_window_can_be_seconds_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERFLOW_PAYMENT_WINDOW", "3")
    monkeypatch.setenv("ORDERFLOW_PAYOUT_DELAY", "PT2S")
    monkeypatch.setenv("ORDERFLOW_PLATFORM_FEE_PERCENT", "7.5")
    policy = PaymentsSettings().policy()
    assert policy.payment_window == timedelta(seconds=3)
    assert policy.payout_delay == timedelta(seconds=2)
    assert policy.platform_fee_percent == Decimal("7.5")


def test_P11_policies_come_as_json_from_the_environment_and_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "ORDERFLOW_CANCELLATION_POLICY", '{"tiers": [{"within_hours": 12, "percent": "20"}]}'
    )
    suppliers = tmp_path / "policies.json"
    suppliers.write_text(
        json.dumps({"supplier-1": {"tiers": [{"within_hours": 48, "percent": "100"}]}})
    )
    monkeypatch.setenv("ORDERFLOW_SUPPLIER_POLICIES_FILE", str(suppliers))
    policy = PaymentsSettings().policy()
    assert policy.default_cancellation == CancellationPolicy(
        tiers=[FeeTier(within_hours=12, percent=Decimal(20))]
    )
    assert policy.supplier_policies["supplier-1"].tiers[0].percent == Decimal(100)


def test_X05_bad_settings_are_refused_at_startup() -> None:
    with pytest.raises(ValidationError):
        PaymentsSettings(platform_fee_percent=Decimal(101))
    with pytest.raises(ValidationError):
        PaymentsSettings(business_timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        CancellationPolicy(
            tiers=[
                FeeTier(within_hours=2, percent=Decimal(1)),
                FeeTier(within_hours=2, percent=Decimal(5)),
            ]
        )
