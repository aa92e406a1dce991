"""Which days are business days: settings, and the calendar built from them.

    CalendarSettings   ORDERFLOW_HOLIDAY_COUNTRY (+ _SUBDIVISION): public holidays
    days_off           DaysOff from the `holidays` package plus a hand-kept list

Business days (M-04's weekday review target in ordering, P-18's payout processing in
payments) skip weekends and these days. The calendar is built here, at a service's
composition root, and handed to the pure domain as a plain container of dates
(`servicekit.businessdays.DaysOff`); no domain module imports `holidays`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Self

import holidays
from pydantic import Field, model_validator

from servicekit.businessdays import NO_DAYS_OFF, DaysOff
from servicekit.config import ServiceSettings


class UnknownCountryError(ValueError):
    """A country or subdivision the `holidays` package does not know."""


def public_holidays(country: str, subdivision: str | None = None) -> holidays.HolidayBase:
    """The public holidays of `country` (ISO 3166-1 alpha-2), for any year asked."""
    try:
        return holidays.country_holidays(country.upper(), subdiv=subdivision)
    except NotImplementedError as e:  # what `holidays` raises for a code it lacks
        raise UnknownCountryError(f"no public holidays known for {country!r}: {e}") from e


def days_off(
    country: str | None, subdivision: str | None = None, extra: Iterable[date] = ()
) -> DaysOff:
    """Public holidays of `country` (none when None: weekends only) and `extra` days."""
    public = public_holidays(country, subdivision) if country else NO_DAYS_OFF
    return DaysOff(public=public, extra=frozenset(extra))


class CalendarSettings(ServiceSettings):
    """The settings of a service that counts business days."""

    holiday_country: str | None = Field(
        default=None,
        description="M-04/P-18: public holidays of this country (ISO 3166-1 alpha-2, e.g. "
        "`DE`) are not business days; none: weekends only.",
    )
    holiday_subdivision: str | None = Field(
        default=None,
        description="M-04/P-18: the country's subdivision whose holidays count too (e.g. `BY`).",
    )

    @model_validator(mode="after")
    def _known_country(self) -> Self:
        if self.holiday_subdivision and not self.holiday_country:
            raise ValueError("ORDERFLOW_HOLIDAY_SUBDIVISION needs ORDERFLOW_HOLIDAY_COUNTRY")
        if self.holiday_country:
            try:
                public_holidays(self.holiday_country, self.holiday_subdivision)
            except UnknownCountryError as e:
                raise ValueError(str(e)) from e
        return self

    def days_off(self, extra: Iterable[date] = ()) -> DaysOff:
        """The configured country's public holidays, plus `extra` days."""
        return days_off(self.holiday_country, self.holiday_subdivision, extra)
