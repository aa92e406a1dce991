"""The knobs of invoicing, with the seeds' values as defaults, and its calendar.

An invoice date is a day; the moment it starts (`start_of`) is when the invoice is issued
(M-12) and the draft comes `draft_lead` before (M-10). Demos and end-to-end tests compress
the calendar: with `calendar_origin` set, the origin's day starts at the origin and every
later day `calendar_day` after the one before, so "seven days before the invoice date" can
be seconds away. Nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True)
class Policy:
    #: M-10: a draft is made this long before the invoice date starts.
    draft_lead: timedelta = timedelta(days=7)
    #: Where invoice dates start (midnight) and bill-cycle days are reckoned.
    business_tz: tzinfo = UTC
    #: Demos and tests only: the moment the origin's day starts in a compressed calendar.
    calendar_origin: datetime | None = None
    #: Demos and tests only: how long one day of the compressed calendar lasts.
    calendar_day: timedelta = timedelta(days=1)
    #: A-11: run every account's bill cycle this often instead of monthly on its day.
    bill_cycle_every: timedelta | None = None
    #: A-11: the issuer of bill-cycle invoices (the billing system).
    billing_issuer: str = "billing"

    def start_of(self, day: date) -> datetime:
        """The moment `day` starts."""
        origin = self.calendar_origin
        if origin is None:
            return datetime.combine(day, time(0), tzinfo=self.business_tz)
        return origin + (day - self._origin_day(origin)).days * self.calendar_day

    def day_of(self, moment: datetime) -> date:
        """The day `moment` falls on."""
        origin = self.calendar_origin
        if origin is None:
            return moment.astimezone(self.business_tz).date()
        return self._origin_day(origin) + timedelta(days=(moment - origin) // self.calendar_day)

    def draft_at(self, invoice_date: date) -> datetime:
        """M-10: when the draft of an invoice dated `invoice_date` is made."""
        return self.start_of(invoice_date) - self.draft_lead

    def next_cycle_run(self, now: datetime, bill_cycle_day: int | None) -> datetime | None:
        """A-11: when an account's next bill cycle runs, after `now`; None if unknown."""
        if self.bill_cycle_every is not None:
            return now + self.bill_cycle_every
        if bill_cycle_day is None:
            return None
        day = self.day_of(now)
        candidate = day.replace(day=bill_cycle_day)
        if self.start_of(candidate) <= now:
            candidate = _next_month(candidate)
        return self.start_of(candidate)

    def _origin_day(self, origin: datetime) -> date:
        return origin.astimezone(self.business_tz).date()


def _next_month(day: date) -> date:
    # bill_cycle_day is 1 to 28, so the same day exists in every month.
    return (
        day.replace(year=day.year + 1, month=1)
        if day.month == 12
        else day.replace(month=day.month + 1)
    )
