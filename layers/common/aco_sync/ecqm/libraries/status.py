"""The Status library: which status, intent and category make a resource count as "performed",
"ordered" or "verified". Its content changed between performance years (Status 1.8.000 over QI-Core
4.1.1 for PY2025, Status 1.15.000 over QI-Core 6.0.0 for PY2026), so each year has its own
:class:`StatusLibrary`."""

from __future__ import annotations

from dataclasses import dataclass

from aco_sync.ecqm.model import ClinicalEntry

FINAL_STATUSES = frozenset({"final", "amended", "corrected"})
SYMPTOM_STATUSES = FINAL_STATUSES | {"preliminary"}
ORDER_STATUSES = frozenset({"active", "completed"})
VERIFIED_STATUSES = frozenset({"confirmed", "unconfirmed", "provisional", "differential"})


@dataclass(frozen=True, slots=True)
class StatusLibrary:
    """One version of the Status library (its fluent functions as methods)."""

    version: str
    encounter_statuses: frozenset[str]  # isEncounterPerformed
    order_intents: frozenset[str]  # isInterventionOrder, isMedicationOrder, ...
    assessment_category: str | None  # isAssessmentPerformed: category required (None: the profile's)
    laboratory_category: str | None  # isLaboratoryTestPerformed
    diagnostic_study_category: str | None  # isDiagnosticStudyPerformed
    verifies_conditions: bool  # conditions pass ``verified()``
    checks_device_do_not_perform: bool  # AIFrailLTCF: ``doNotPerform() is not true`` on device orders

    def encounter_performed(self, e: ClinicalEntry) -> bool:
        return e.status in self.encounter_statuses

    def assessment_performed(self, e: ClinicalEntry) -> bool:
        return e.status in FINAL_STATUSES and _has_category(e, self.assessment_category)

    def lab_test_performed(self, e: ClinicalEntry) -> bool:
        return e.status in FINAL_STATUSES and _has_category(e, self.laboratory_category)

    def diagnostic_study_performed(self, e: ClinicalEntry) -> bool:
        return e.status in FINAL_STATUSES and _has_category(e, self.diagnostic_study_category)

    def order_placed(self, e: ClinicalEntry) -> bool:
        """isInterventionOrder / isDeviceOrder / isMedicationOrder: active or completed orders."""
        return e.status in ORDER_STATUSES and e.intent in self.order_intents

    def medication_active(self, e: ClinicalEntry) -> bool:
        return e.status == "active" and e.intent in self.order_intents

    def device_ordered(self, e: ClinicalEntry) -> bool:
        return self.order_placed(e) and not (self.checks_device_do_not_perform and e.do_not_perform)

    def verified(self, e: ClinicalEntry) -> bool:
        """``verified()``: no verification status, or confirmed/unconfirmed/provisional/differential."""
        return (
            not self.verifies_conditions
            or not e.verification_status
            or (e.verification_status in VERIFIED_STATUSES)
        )


def procedure_performed(e: ClinicalEntry) -> bool:
    """isProcedurePerformed / isInterventionPerformed (the same in every version)."""
    return e.status == "completed"


def symptom(e: ClinicalEntry) -> bool:
    return e.status in SYMPTOM_STATUSES


def _has_category(e: ClinicalEntry, category: str | None) -> bool:
    return category is None or category in e.categories


STATUS_2025 = StatusLibrary(
    version="1.8.000",
    encounter_statuses=frozenset({"finished", "arrived", "triaged", "in-progress", "onleave"}),
    order_intents=frozenset({"order"}),
    assessment_category="survey",
    laboratory_category="laboratory",
    diagnostic_study_category=None,
    verifies_conditions=False,
    checks_device_do_not_perform=True,
)
STATUS_2026 = StatusLibrary(
    version="1.15.000",
    encounter_statuses=frozenset({"finished"}),
    order_intents=frozenset({"order", "original-order", "reflex-order", "filler-order", "instance-order"}),
    assessment_category=None,
    laboratory_category=None,
    diagnostic_study_category="imaging",
    verifies_conditions=True,
    checks_device_do_not_perform=False,
)
