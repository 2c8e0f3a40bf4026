"""The reference oracle of the per-measure aggregation rules (PRODUCT.md "Per-measure aggregation
rules"), applied per MASTER_PAT_ID, measure and ACO instance. The rule of each measure comes from the
catalog (``AggregationRule``).

Resolution of one patient's records:

1. A denominator exclusion anywhere in the PY wins (all rules): outcome ``DENOMINATOR_EXCLUSION``.
2. The numerator (MET / NOT_MET records; denominator-only records are ignored when one exists):
   - ``most_recent_numerator`` (M001, M134, M236): the most recent by performance date;
   - ``any_met_wins`` (M112, M113): any MET beats NOT_MET (the most recent MET is reported).
3. A denominator exception applies only when the resolved outcome is not MET.
4. Only denominator-only records: ``DENOMINATOR_ONLY`` (eligible, no performance data).

Ties are broken deterministically, never by input order: on the same date MET beats NOT_MET, then the
larger (TIN, source_key) wins. Records without a performance date count as the oldest.

Production does not run this: the engine resolves every instance in bulk with the rank encoding of
``aco_sync.domain.patient_index``. This record-by-record statement of the rules is what the engine's
tests (tests/unit/domain/test_engine_*) compare it with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from aco_sync.domain import outcome_codes as codes
from aco_sync.domain.catalog import AggregationRule
from aco_sync.domain.records import Performance, PerformanceRecord

Row = tuple[int, int, str, str, str]
"""(performance code, performance date ordinal or 0, tin, source_key, submitted collection type):
one record in the engine's hot loop."""


def resolve_rows(rows: Sequence[Row], any_met_wins: bool) -> tuple[int, int]:
    """(outcome code, date ordinal or 0) of one patient on one measure instance."""
    best_numerator: tuple[int, int, str, str] | None = None
    exclusion_date = -1
    exception_date = -1
    latest_date = 0
    for code, day, tin, key, _ in rows:
        if code in (codes.MET, codes.NOT_MET):
            is_met = code == codes.MET
            candidate = (is_met, day, tin, key) if any_met_wins else (day, is_met, tin, key)
            if best_numerator is None or candidate > best_numerator:
                best_numerator = candidate
        elif code == codes.EXCLUSION:
            if day > exclusion_date:
                exclusion_date = day
        elif code == codes.EXCEPTION:
            if day > exception_date:
                exception_date = day
        elif day > latest_date:
            latest_date = day
    if exclusion_date >= 0:
        return codes.EXCLUSION, exclusion_date
    if best_numerator is not None:
        if any_met_wins:
            met, day = best_numerator[0], best_numerator[1]
        else:
            day, met = best_numerator[0], best_numerator[1]
        if met:
            return codes.MET, day
        if exception_date >= 0:
            return codes.EXCEPTION, exception_date
        return codes.NOT_MET, day
    if exception_date >= 0:
        return codes.EXCEPTION, exception_date
    return codes.DENOMINATOR_ONLY, latest_date


@dataclass(frozen=True, slots=True)
class Resolution:
    outcome: Performance
    performance_date: date | None


def resolve_outcome(records: Iterable[PerformanceRecord], rule: AggregationRule) -> Resolution:
    """The resolved outcome of one patient's records on one measure instance (see module doc)."""
    rows = [record_row(record) for record in records]
    if not rows:
        raise ValueError("resolve_outcome needs at least one record")
    code, day = resolve_rows(rows, codes.uses_any_met_wins(rule))
    return Resolution(codes.CODE_PERFORMANCE[code], date.fromordinal(day) if day else None)


def record_row(record: PerformanceRecord) -> Row:
    day = record.performance_date.toordinal() if record.performance_date else 0
    return (
        codes.PERFORMANCE_CODE[record.performance],
        day,
        record.tin,
        record.source_key,
        record.collection_type.value,
    )
