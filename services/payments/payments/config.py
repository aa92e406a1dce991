"""payments' settings: the shared ones plus the durations, fees and policies of X-05.

Durations accept seconds (``ORDERFLOW_PAYMENT_WINDOW=3``) or ISO 8601 (``PT72H``); the
defaults are the seeds' values. Cancellation policies are JSON (docs/payments.md).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, TypeAdapter

from contracts.payments import CancellationPolicy
from payments.domain import DEFAULT_CANCELLATION_POLICY, DecisionContext, Policy
from payments.domain.context import DEFAULT_CLAIM_REOPEN_WINDOW
from servicekit.calendars import CalendarSettings
from servicekit.config import Duration, TimeZoneName

_DEFAULT = Policy()
_SUPPLIER_POLICIES: TypeAdapter[dict[str, CancellationPolicy]] = TypeAdapter(
    dict[str, CancellationPolicy]
)


class PaymentsSettings(CalendarSettings):
    http_port: int = Field(default=8103, description="Port of /metrics, /livez and /readyz.")
    payment_window: Duration = Field(
        default=_DEFAULT.payment_window,
        description="P-15: the customer's time to pay once the order is in payment.",
    )
    payout_delay: Duration = Field(
        default=_DEFAULT.payout_delay,
        description="P-18: a payout is released this long after the service.",
    )
    payout_processing_days: int = Field(
        default=_DEFAULT.payout_processing_days,
        ge=0,
        le=60,
        description="P-18: business days a released payout may take to be credited.",
    )
    platform_fee_percent: Decimal = Field(
        default=_DEFAULT.platform_fee_percent,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="The platform's share of every payout, in percent.",
    )
    cancellation_policy: CancellationPolicy = Field(
        default=DEFAULT_CANCELLATION_POLICY,
        description="P-11: the default cancellation policy, as JSON: tiers of within_hours "
        "and percent.",
    )
    supplier_policies_file: Path | None = Field(
        default=None,
        description="P-11: JSON file of suppliers' own policies, {supplier id: policy}, for "
        "orders that carry none (SetSupplierSettings stamps one on the order).",
    )
    business_timezone: TimeZoneName = Field(
        default="UTC",
        description="Where weekends and business days are reckoned (IANA name): M-04/M-16 in "
        "ordering, P-18 in payments.",
    )
    payout_holidays: list[date] = Field(
        default_factory=list,
        description="P-18: days off besides weekends and the country's public holidays, as "
        "JSON dates.",
    )
    claim_reopen_window: Duration = Field(
        default=DEFAULT_CLAIM_REOPEN_WINDOW,
        description="P-21: a withdrawn claim may be opened again this long; then the debt "
        "lapses and the order ends unpaid.",
    )
    overdue_refresh_seconds: float = Field(
        default=30.0, gt=0, description="How often the overdue requests and payouts are counted."
    )

    def policy(self) -> Policy:
        return self.derive(
            Policy,
            default_cancellation=self.cancellation_policy,
            supplier_policies=self.supplier_policies(),
            business_tz=ZoneInfo(self.business_timezone),
            holidays=frozenset(self.payout_holidays),
        )

    def context(self) -> DecisionContext:
        """What every decision needs besides the ledger, the message and the time."""
        return self.derive(DecisionContext, policy=self.policy(), days_off=self.days_off())

    def supplier_policies(self) -> dict[str, CancellationPolicy]:
        if self.supplier_policies_file is None:
            return {}
        return _SUPPLIER_POLICIES.validate_json(self.supplier_policies_file.read_bytes())
