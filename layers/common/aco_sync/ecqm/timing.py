"""Interval and age arithmetic with the CQL semantics the measures use.

An interval is ``(low, high)`` of UTC datetimes. ``low`` None is an unbounded start (CQL closed
null boundary); ``high`` None is an unbounded end, unless the interval's end is *unknown*
(``high_unknown``), e.g. the prevalence period of an inactive condition without an abatement date
(CQL open null boundary): comparisons that need an unknown end are false (CQL null).

"... day of ..." comparisons are at day precision (calendar date in UTC); the others compare instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

DAY_END = time(23, 59, 59, 999000)


@dataclass(frozen=True, slots=True)
class Interval:
    low: datetime | None
    high: datetime | None
    high_unknown: bool = False

    # ---- day precision ("... day of ...") ----
    def during_days(self, first: date, last: date) -> bool:
        """``this during day of Interval[first, last]``."""
        if self.low is None or self.high is None:
            return False
        return first <= self.low.date() and self.high.date() <= last

    def overlaps_days(self, first: date, last: date) -> bool:
        """``this overlaps day of Interval[first, last]``."""
        if self.high_unknown:
            return False
        starts_in_time = self.low is None or self.low.date() <= last
        ends_in_time = self.high is None or self.high.date() >= first
        return starts_in_time and ends_in_time

    def starts_during_days(self, first: date, last: date) -> bool:
        return self.low is not None and first <= self.low.date() <= last

    def ends_during_days(self, first: date, last: date) -> bool:
        return self.high is not None and not self.high_unknown and first <= self.high.date() <= last

    def ends_on_or_before_day(self, day: date) -> bool:
        return self.high is not None and not self.high_unknown and self.high.date() <= day

    # ---- instant precision ----
    def starts_on_or_before(self, instant: datetime) -> bool:
        return self.low is None or self.low <= instant

    def ends_on_or_before(self, instant: datetime) -> bool:
        return self.high is not None and not self.high_unknown and self.high <= instant

    def overlaps(self, low: datetime, high: datetime, *, high_open: bool = False) -> bool:
        """``this overlaps Interval[low, high]`` (``high_open``: ``Interval[low, high)``)."""
        if self.high_unknown:
            return False
        if self.low is not None and (self.low >= high if high_open else self.low > high):
            return False
        return self.high is None or self.high >= low

    def contains(self, instant: datetime) -> bool:
        """``instant during this`` (closed bounds)."""
        if self.high_unknown:
            return False
        return (self.low is None or self.low <= instant) and (self.high is None or instant <= self.high)


def point(instant: datetime | None) -> Interval | None:
    return None if instant is None else Interval(instant, instant)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, DAY_END, tzinfo=UTC)


def add_years(day: date, years: int) -> date:
    """CQL date + N years: Feb 29 becomes Feb 28 in a non-leap year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(instant: datetime, months: int) -> datetime:
    month_index = instant.month - 1 + months
    year, month = instant.year + month_index // 12, month_index % 12 + 1
    day = instant.day
    while True:
        try:
            return instant.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def age_in_years_at(birth_date: date, as_of: date) -> int:
    """CQL ``AgeInYearsAt``: whole years between the birth date and ``as_of``."""
    years = as_of.year - birth_date.year
    if (as_of.month, as_of.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
