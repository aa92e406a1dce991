"""invoicing's settings: the shared ones plus the durations and knobs of invoicing.

Durations accept seconds (``ORDERFLOW_INVOICE_DRAFT_LEAD=5``) or ISO 8601 (``P7D``); the
defaults are the seeds' values. The compressed calendar (`invoice_calendar_origin`,
`invoice_calendar_day`) is for demos and end-to-end tests only.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field

from invoicing.domain import Policy
from servicekit.config import Duration, ServiceSettings

_DEFAULT = Policy()


class InvoicingSettings(ServiceSettings):
    http_port: int = Field(default=8102, description="Port of /metrics, /livez and /readyz.")
    invoice_draft_lead: Duration = Field(
        default=_DEFAULT.draft_lead,
        description="M-10: how long before the invoice date its draft is made.",
    )
    invoice_business_tz: str = Field(
        default="UTC",
        description="Time zone in which invoice dates start and bill-cycle days are reckoned.",
    )
    invoice_calendar_origin: AwareDatetime | None = Field(
        default=None,
        description="Demos and tests: the moment the origin's day starts in a compressed "
        "calendar (unset: real days).",
    )
    invoice_calendar_day: Duration = Field(
        default=_DEFAULT.calendar_day,
        description="Demos and tests: how long one day lasts in the compressed calendar.",
    )
    bill_cycle_every: Duration | None = Field(
        default=None,
        description="A-11: run bill cycles this often (unset: monthly, on each account's "
        "bill-cycle day).",
    )
    billing_issuer: str = Field(
        default=_DEFAULT.billing_issuer,
        min_length=1,
        max_length=100,
        description="A-11: issuer id of bill-cycle invoices (their number sequence).",
    )
    numbering_repair_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often issued invoices still waiting for a number are looked for.",
    )

    def policy(self) -> Policy:
        return self.derive(
            Policy,
            prefix="invoice_",
            business_tz=_zone(self.invoice_business_tz),
            calendar_origin=_aware(self.invoice_calendar_origin),
        )


def _zone(name: str) -> tzinfo:
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None
