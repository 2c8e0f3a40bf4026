"""QICoreCommon and CumulativeMedicationDuration: the intervals of a resource (``toInterval()``,
``prevalenceInterval()``, ``latest()``, ``medicationRequestPeriod()``) and the interval tests the
measures apply to them (unchanged between the PY2025 and PY2026 versions)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from aco_sync.ecqm.model import ClinicalEntry
from aco_sync.ecqm.timing import Interval, start_of_day

ACTIVE_CONDITION_STATUSES = frozenset({"active", "recurrence", "relapse"})


def tie_break(e: ClinicalEntry) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A deterministic order among entries of the same time (the CQL leaves it to retrieval order):
    the result never depends on the order of the patient's data."""
    return e.id, tuple(sorted((v.system, v.code) for v in e.value_codes))


def period_of(e: ClinicalEntry) -> Interval | None:
    """``toInterval()`` of the entry's effective/performed/period time."""
    if e.start is None and e.end is None:
        return None
    if e.start is None:
        return None  # Interval(null, end]: unknown start
    return Interval(e.start, e.end)


def prevalence(e: ClinicalEntry) -> Interval:
    """QICoreCommon ``prevalenceInterval()`` of a condition."""
    if e.end is not None:
        return Interval(e.start, e.end)
    return Interval(e.start, None, high_unknown=e.clinical_status not in ACTIVE_CONDITION_STATUSES)


def medication_request_period(e: ClinicalEntry) -> Interval | None:
    """CumulativeMedicationDuration ``medicationRequestPeriod()``."""
    supply = e.supply
    starts = [
        d
        for d in (
            supply.bounds_start if supply else None,
            e.authored_on,
            supply.validity_start if supply else None,
        )
        if d is not None
    ]
    if not starts:
        return None
    start_date = starts[0].date()
    total_days: float | None = None
    if supply is not None:
        if supply.days_supply is not None:
            total_days = supply.days_supply
        elif supply.quantity is not None and supply.dose:
            total_days = supply.quantity / (supply.dose * (supply.doses_per_day or 1.0))
        if total_days is not None:
            total_days *= 1 + supply.refills
    if total_days is not None:
        end_date = start_date + timedelta(days=int(total_days - 1))
        return Interval(start_of_day(start_date), start_of_day(end_date))
    if supply is not None and supply.bounds_end is not None:
        return Interval(start_of_day(start_date), start_of_day(supply.bounds_end.date()))
    return None


def during_days(interval: Interval | None, first: date, last: date) -> bool:
    return interval is not None and interval.during_days(first, last)


def overlaps_days(interval: Interval | None, first: date, last: date) -> bool:
    return interval is not None and interval.overlaps_days(first, last)


def ends_during_days(interval: Interval | None, first: date, last: date) -> bool:
    return interval is not None and interval.ends_during_days(first, last)


def ends_on_or_before_day(interval: Interval | None, day: date) -> bool:
    return interval is not None and interval.ends_on_or_before_day(day)


def ends_on_or_before(interval: Interval | None, instant: datetime) -> bool:
    return interval is not None and interval.ends_on_or_before(instant)


def latest_date(e: ClinicalEntry) -> date | None:
    return e.latest.date() if e.latest is not None else None
