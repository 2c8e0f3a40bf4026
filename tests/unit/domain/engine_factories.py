"""Small builders for the engine tests (records, roster rows, settings, plans)."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import strategies as st

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


def performance_records(
    text: st.SearchStrategy[str],
    *,
    line: st.SearchStrategy[int | None],
    hba1c: st.SearchStrategy[float | None],
    systolic: st.SearchStrategy[int | None],
) -> st.SearchStrategy[PerformanceRecord]:
    """Hypothesis: any PerformanceRecord, its free-text fields drawn from ``text`` (the codec tests)."""
    return st.builds(
        PerformanceRecord,
        tin=st.sampled_from(["111111111", "222222222"]),
        source_key=text,
        measure_id=st.sampled_from(["M001", "M112"]),
        collection_type=st.sampled_from(list(CollectionType)),
        performance=st.sampled_from(list(Performance)),
        performance_date=st.none() | st.dates(),
        first_name=text,
        last_name=text,
        birth_date=st.dates(),
        gender=st.sampled_from(list(Gender)),
        mbi=st.none() | text,
        npi=st.none() | text,
        member_patient_id=st.none() | text,
        source_file=text,
        source_line=line,
        hba1c=hba1c,
        systolic=systolic,
        diastolic=st.none() | st.integers(0, 300),
        content_hash=text,
    )
