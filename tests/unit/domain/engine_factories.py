"""Small builders for the engine tests (records, roster rows, settings, plans)."""

from __future__ import annotations

import itertools
from datetime import date

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.collection_types import MeasurePlan, plan_measures, plan_submissions
from aco_sync.domain.records import (
    CollectionType,
    DenominatorCount,
    Gender,
    Performance,
    PerformanceRecord,
    RosterEntry,
)
from aco_sync.domain.settings import AcoSettings

TIN_A = "111111111"
TIN_B = "222222222"
TIN_C = "333333333"
CATALOG = default_catalog()
_serial = itertools.count(1)


def settings(**overrides: object) -> AcoSettings:
    values: dict[str, object] = {"aco_id": "ACO1", "performance_year": 2025}
    values.update(overrides)
    return AcoSettings.model_validate(values)


def record(
    *,
    first: str = "Ann",
    last: str = "Lee",
    birth: date = date(1950, 1, 2),
    gender: Gender = Gender.FEMALE,
    tin: str = TIN_A,
    measure: str = "M001",
    ct: CollectionType = CollectionType.CQM,
    perf: Performance = Performance.MET,
    day: date | None = date(2025, 3, 1),
    key: str | None = None,
    mbi: str | None = None,
) -> PerformanceRecord:
    return PerformanceRecord(
        tin=tin,
        source_key=key or f"{tin}:row{next(_serial)}",
        measure_id=measure,
        collection_type=ct,
        performance=perf,
        performance_date=day,
        first_name=first,
        last_name=last,
        birth_date=birth,
        gender=gender,
        mbi=mbi,
    )


def roster_entry(
    *,
    mbi: str = "1EG4TE5MK73",
    first: str = "Ann",
    last: str = "Lee",
    birth: date = date(1950, 1, 2),
    gender: Gender = Gender.FEMALE,
    eligible: frozenset[str] | None = None,
) -> RosterEntry:
    return RosterEntry(
        mbi=mbi, first_name=first, last_name=last, birth_date=birth, gender=gender, eligible_measures=eligible
    )


def plan_for(
    records: list[PerformanceRecord],
    counts: list[DenominatorCount] | None = None,
    *,
    has_roster: bool = True,
    **setting_overrides: object,
) -> MeasurePlan:
    return plan_measures(
        plan_submissions(records, counts or []),
        has_active_roster=has_roster,
        settings=settings(**setting_overrides),
        catalog=CATALOG,
    )
