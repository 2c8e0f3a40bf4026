"""The public entry points of the eCQM engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from aco_sync.domain.encounters import record_content_hash
from aco_sync.domain.records import CollectionType, PerformanceRecord
from aco_sync.ecqm.fhir import patient_from_fhir
from aco_sync.ecqm.logic import SUPPORTED_MEASURES, MeasureContext, MeasurePopulations
from aco_sync.ecqm.logic import evaluate as _evaluate
from aco_sync.ecqm.model import PatientModel
from aco_sync.ecqm.valuesets import ValueSetLibrary, default_value_sets


def default_period(performance_year: int) -> tuple[date, date]:
    """The calendar-year measurement period of a performance year."""
    return date(performance_year, 1, 1), date(performance_year, 12, 31)


DEFAULT_PERIOD = default_period(2025)


def evaluate(
    patient: PatientModel,
    measure_id: str,
    period: tuple[date, date] = DEFAULT_PERIOD,
    *,
    value_sets: ValueSetLibrary | None = None,
) -> MeasurePopulations:
    """The populations of one patient on one measure (catalog id: M001, M112, M113, M134, M236)."""
    return _evaluate(patient, measure_id, period, value_sets=value_sets)


def evaluate_all(
    patient: PatientModel,
    period: tuple[date, date] = DEFAULT_PERIOD,
    *,
    measure_ids: Iterable[str] = SUPPORTED_MEASURES,
    value_sets: ValueSetLibrary | None = None,
) -> dict[str, MeasurePopulations]:
    """Several measures over one patient, sharing one evaluation context (shared-library results)."""
    context = MeasureContext(patient, period, default_value_sets() if value_sets is None else value_sets)
    return {m: _evaluate(patient, m, period, context=context) for m in measure_ids}


def calculate_fhir(
    resources: list[dict[str, Any]] | list[Mapping[str, Any]],
    *,
    period: tuple[date, date] = DEFAULT_PERIOD,
    value_sets: ValueSetLibrary | None = None,
) -> dict[str, MeasurePopulations]:
    """FHIR R4 resources of one patient -> measure id (M001 ...) -> populations, for all five measures."""
    return evaluate_all(patient_from_fhir(resources), period, value_sets=value_sets)


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
