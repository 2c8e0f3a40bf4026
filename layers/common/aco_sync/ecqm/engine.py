"""The public entry points of the eCQM engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

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
    context = MeasureContext(patient, period, value_sets or default_value_sets())
    return {m: _evaluate(patient, m, period, context=context) for m in measure_ids}


def calculate_fhir(
    resources: list[dict[str, Any]] | list[Mapping[str, Any]],
    *,
    period: tuple[date, date] = DEFAULT_PERIOD,
    value_sets: ValueSetLibrary | None = None,
) -> dict[str, MeasurePopulations]:
    """FHIR R4 resources of one patient -> measure id (M001 ...) -> populations, for all five measures."""
    return evaluate_all(patient_from_fhir(resources), period, value_sets=value_sets)
