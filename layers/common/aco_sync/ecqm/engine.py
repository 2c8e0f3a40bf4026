"""The public entry points of the eCQM engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from aco_sync.domain.encounters import record_content_hash
from aco_sync.domain.records import CollectionType, PerformanceRecord
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.fhir import patient_from_fhir
from aco_sync.ecqm.model import PatientModel
from aco_sync.ecqm.populations import MeasurePopulations, populations
from aco_sync.ecqm.registry import required_value_sets, specification, supported_measures
from aco_sync.ecqm.valuesets import ValueSetLibrary


def measurement_period(performance_year: int) -> tuple[date, date]:
    """The calendar-year measurement period of a performance year."""
    return date(performance_year, 1, 1), date(performance_year, 12, 31)


def evaluate(
    patient: PatientModel,
    measure_id: str,
    period: tuple[date, date],
    *,
    performance_year: int | None = None,
    value_sets: ValueSetLibrary | None = None,
    context: MeasureContext | None = None,
) -> MeasurePopulations:
    """The populations of one patient on one measure (catalog id: M001, M112, M113, M134, M236) with
    the logic of ``performance_year`` (default: the year the period starts in)."""
    year = period[0].year if performance_year is None else performance_year
    spec = specification(measure_id, year)
    ctx = context or MeasureContext(
        patient, period, value_sets, performance_year=year, required_value_sets=spec.value_sets
    )
    return populations(measure_id, spec.logic(ctx))


def evaluate_all(
    patient: PatientModel,
    period: tuple[date, date],
    *,
    performance_year: int | None = None,
    measure_ids: Iterable[str] | None = None,
    value_sets: ValueSetLibrary | None = None,
) -> dict[str, MeasurePopulations]:
    """Several measures (default: every measure with logic for the year) over one patient, sharing
    one evaluation context (shared-library results)."""
    year = period[0].year if performance_year is None else performance_year
    ids = list(supported_measures(year) if measure_ids is None else measure_ids)
    context = MeasureContext(
        patient, period, value_sets, performance_year=year, required_value_sets=required_value_sets(ids, year)
    )
    return {m: evaluate(patient, m, period, performance_year=year, context=context) for m in ids}


def calculate_fhir(
    resources: list[dict[str, Any]] | list[Mapping[str, Any]],
    *,
    period: tuple[date, date],
    performance_year: int | None = None,
    value_sets: ValueSetLibrary | None = None,
) -> dict[str, MeasurePopulations]:
    """FHIR R4 resources of one patient -> measure id (M001 ...) -> populations, for every measure
    with logic for the performance year (default: the year the period starts in)."""
    return evaluate_all(
        patient_from_fhir(resources), period, performance_year=performance_year, value_sets=value_sets
    )


def to_performance_record(
    patient: PatientModel,
    populations: MeasurePopulations,
    *,
    tin: str,
    source_key: str,
    source_file: str,
    npi: str | None = None,
    member_patient_id: str | None = None,
) -> PerformanceRecord | None:
    """The eCQM :class:`PerformanceRecord` of a patient's populations on a measure (None when the
    patient is not in the denominator), with its content hash."""
    if populations.performance is None:
        return None
    record = PerformanceRecord(
        tin=tin,
        source_key=source_key,
        measure_id=populations.measure_id,
        collection_type=CollectionType.ECQM,
        performance=populations.performance,
        performance_date=populations.performance_date,
        first_name=patient.first_name,
        last_name=patient.last_name,
        birth_date=patient.birth_date,
        gender=patient.gender,
        mbi=patient.mbi,
        npi=npi,
        member_patient_id=member_patient_id,
        source_file=source_file,
        source_line=None,
        hba1c=populations.hba1c,
        systolic=populations.systolic,
        diastolic=populations.diastolic,
    )
    return dataclasses.replace(record, content_hash=record_content_hash(record))
