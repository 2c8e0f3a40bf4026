"""eCQM calculation: QRDA-I / FHIR patient data -> populations and performances for CMS122 (M001),
CMS125 (M112), CMS130 (M113), CMS165 (M236) and CMS2 (M134). See docs/ECQM.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aco_sync.ecqm.engine import DEFAULT_PERIOD, calculate_fhir, default_period, evaluate, evaluate_all
from aco_sync.ecqm.logic import SUPPORTED_MEASURES, MeasurePopulations
from aco_sync.ecqm.model import ClinicalEntry, EntryKind, PatientModel
from aco_sync.ecqm.valuesets import ValueSetLibrary, default_value_sets, load_value_sets

if TYPE_CHECKING:
    from aco_sync.ecqm.qrda import calculate_qrda


def __getattr__(name: str) -> Any:
    # The QRDA-I adapter imports the ingest package's document model; load it on first use only.
    if name in ("calculate_qrda", "patient_from_qrda"):
        from aco_sync.ecqm import qrda

        return getattr(qrda, name)
    raise AttributeError(name)


__all__ = [
    "DEFAULT_PERIOD",
    "SUPPORTED_MEASURES",
    "ClinicalEntry",
    "EntryKind",
    "MeasurePopulations",
    "PatientModel",
    "ValueSetLibrary",
    "calculate_fhir",
    "calculate_qrda",
    "default_period",
    "default_value_sets",
    "evaluate",
    "evaluate_all",
    "load_value_sets",
]
