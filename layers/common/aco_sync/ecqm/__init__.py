"""eCQM calculation: QRDA-I / FHIR patient data -> populations and performances for CMS122 (M001),
CMS125 (M112), CMS130 (M113), CMS165 (M236) and CMS2 (M134), with each performance year's
specifications (one module per measure in ``aco_sync.ecqm.measures``). See docs/ECQM.md."""

from __future__ import annotations

from aco_sync.ecqm.engine import calculate_fhir, evaluate, evaluate_all, measurement_period
from aco_sync.ecqm.model import ClinicalEntry, EntryKind, PatientModel
from aco_sync.ecqm.populations import MeasurePopulations
from aco_sync.ecqm.qrda import calculate_qrda, patient_from_qrda
from aco_sync.ecqm.registry import supported_measures, supported_years
from aco_sync.ecqm.valuesets import ValueSetLibrary, default_value_sets, load_value_sets

__all__ = [
    "ClinicalEntry",
    "EntryKind",
    "MeasurePopulations",
    "PatientModel",
    "ValueSetLibrary",
    "calculate_fhir",
    "calculate_qrda",
    "default_value_sets",
    "evaluate",
    "evaluate_all",
    "load_value_sets",
    "measurement_period",
    "patient_from_qrda",
    "supported_measures",
    "supported_years",
]
