"""ordering's settings: the shared ones plus the durations and knobs of the flows.

Durations accept seconds (``ORDERFLOW_CONFIRMATION_WINDOW=5``) or ISO 8601 (``PT24H``);
the defaults are the seeds' values.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr

from ordering.domain import Catalogue, Policy, Product
from servicekit.calendars import CalendarSettings
from servicekit.config import Duration, TimeZoneName, token_secret

_DEFAULT = Policy()


class OrderingSettings(CalendarSettings):
    http_port: int = Field(default=8101, description="Port of /metrics, /livez and /readyz.")
    review_target: Duration = Field(
        default=_DEFAULT.review_target, description="M-04: operator review target (weekday time)."
    )
    min_client_confirmation: Duration = Field(
        default=_DEFAULT.min_client_confirmation,
        description="M-07: least time the client must have to answer a submitted order.",
    )
    min_cancellation_reason: int = Field(
        default=_DEFAULT.min_cancellation_reason,
        description="M-13: least length of a cancellation reason.",
    )
    confirmation_window: Duration = Field(
        default=_DEFAULT.confirmation_window, description="P-02: window to confirm or edit."
    )
    proposal_lapse: Duration = Field(
        default=_DEFAULT.proposal_lapse, description="P-09: life of a pending proposal."
    )
    auto_done_after: Duration = Field(
        default=_DEFAULT.auto_done_after,
        description="P-12: service counts as done this long after the appointment end.",
    )
    auto_confirm_after: Duration = Field(
        default=_DEFAULT.auto_confirm_after, description="P-13: customer's confirmation window."
    )
    approval_target: Duration = Field(
        default=_DEFAULT.approval_target,
        description="A-13: an approval pending this long is overdue (a signal for ops).",
    )
    business_timezone: TimeZoneName = Field(
        default="UTC", description="M-04/M-16: where weekends and days are reckoned (IANA name)."
    )
    token_secret: SecretStr = token_secret()
    catalogue_file: Path | None = Field(
        default=None, description="A-04..A-07: JSON product catalogue; a demo one when unset."
    )

    def policy(self) -> Policy:
        return self.derive(
            Policy, business_tz=ZoneInfo(self.business_timezone), days_off=self.days_off()
        )

    def catalogue(self) -> Catalogue:
        if self.catalogue_file is None:
            return DEMO_CATALOGUE
        return catalogue_from_json(json.loads(self.catalogue_file.read_text()))


def catalogue_from_json(data: dict[str, object]) -> Catalogue:
    """Build a catalogue from its JSON form (see docs/configuration.md)."""
    products = data.get("products", [])
    methods = data.get("payment_methods", {})
    assert isinstance(products, list) and isinstance(methods, dict)
    return Catalogue(
        products={
            p["product_id"]: Product(
                product_id=p["product_id"],
                available=bool(p.get("available", True)),
                needs_approval=bool(p.get("needs_approval", False)),
                required_configurations=frozenset(p.get("required_configurations", [])),
            )
            for p in products
        },
        currencies=frozenset(str(c) for c in data.get("currencies", []) or []),  # type: ignore[attr-defined]
        payment_methods={str(k): frozenset(v) for k, v in methods.items()},
        approval_required=bool(data.get("approval_required", False)),
    )


#: The catalogue of the demo and the tests: one plain product, one that needs approval
#: and a configuration, and one that is not available.
DEMO_CATALOGUE = Catalogue(
    products={
        "hosting": Product("hosting"),
        "support-plan": Product(
            "support-plan", needs_approval=True, required_configurations=frozenset({"tier"})
        ),
        "legacy-fax": Product("legacy-fax", available=False),
    },
    currencies=frozenset({"EUR", "USD"}),
    payment_methods={"card": frozenset({"EUR", "USD"}), "invoice": frozenset({"EUR"})},
)
