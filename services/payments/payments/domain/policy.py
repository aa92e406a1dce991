"""The knobs of payments, with the seeds' values as defaults.

Every duration of the rules is configuration, never a literal in domain code, so that a
demo or an end-to-end test can run a 72-hour window in seconds. The service's config
builds a `Policy` from its environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta, tzinfo
from decimal import Decimal
from types import MappingProxyType

from contracts.payments import CancellationPolicy, FeeTier

#: P-11 where a supplier has none of its own: free until 24 hours before the appointment,
#: then half the price. The seeds give no figure; this is our default (docs/payments.md).
DEFAULT_CANCELLATION_POLICY = CancellationPolicy(
    tiers=[FeeTier(within_hours=24, percent=Decimal(50))]
)


@dataclass(frozen=True)
class Policy:
    #: P-15: the customer's time to pay once the order is in `payment`; also how long an
    #: automatic charge may take to be confirmed before it counts as overdue.
    payment_window: timedelta = timedelta(hours=72)
    #: P-18: the payout is released this long after the service was provided.
    payout_delay: timedelta = timedelta(days=14)
    #: P-18: processing may take up to this many business days after the release.
    payout_processing_days: int = 5
    #: The platform's share of every payout, in percent (the seeds are silent).
    platform_fee_percent: Decimal = Decimal(10)
    #: P-11: the policy of suppliers that have no policy of their own.
    default_cancellation: CancellationPolicy = DEFAULT_CANCELLATION_POLICY
    #: P-11: suppliers' own policies, by supplier id, for orders booked without one (the
    #: policy stamped on an order from ordering's supplier settings comes first).
    supplier_policies: Mapping[str, CancellationPolicy] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: Where business days (P-18) are reckoned, and the days off besides weekends.
    business_tz: tzinfo = UTC
    holidays: frozenset[date] = frozenset()
