"""The normalised patient model the measure logic runs on.

Both adapters (FHIR R4 in :mod:`aco_sync.ecqm.fhir`, QRDA-I in :mod:`aco_sync.ecqm.qrda`) produce a
:class:`PatientModel`. Entries use the FHIR/QI-Core vocabulary for status, intent and categories
because the measure logic (CQL over QI-Core) is written in it; the QRDA adapter maps QDM
datatypes onto it (e.g. "Laboratory Test, Performed" -> an observation with category
``laboratory`` and status ``final``).

All datetimes are timezone-aware UTC. Dates without a time become midnight UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from aco_sync.domain.records import Gender
from aco_sync.ecqm.codes import Code


class EntryKind(StrEnum):
    ENCOUNTER = "encounter"
    CONDITION = "condition"  # diagnoses, problems, health concerns
    OBSERVATION = "observation"  # lab results, physical exams, assessments, diagnostic studies, symptoms
    PROCEDURE = "procedure"  # procedures and interventions performed
    MEDICATION_REQUEST = "medication_request"  # medication orders / active medications
    SERVICE_REQUEST = "service_request"  # intervention, diagnostic study, referral orders
    DEVICE_REQUEST = "device_request"  # device orders
    COVERAGE = "coverage"  # payer


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Component:
    """A component of an observation (e.g. systolic and diastolic of a blood pressure panel)."""

    codes: frozenset[Code]
    quantity: Quantity | None = None


@dataclass(frozen=True, slots=True)
class MedicationSupply:
    """What ``medicationRequestPeriod()`` (CumulativeMedicationDuration) needs of a medication order."""

    days_supply: float | None = None  # dispenseRequest.expectedSupplyDuration in days
    quantity: float | None = None  # dispenseRequest.quantity
    dose: float | None = None  # dosageInstruction.doseAndRate.dose (the high end of a range)
    doses_per_day: float | None = None  # from timing frequency/period or timeOfDay count
    refills: int = 0
    bounds_start: datetime | None = None
    bounds_end: datetime | None = None
    validity_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClinicalEntry:
    """One piece of patient data. ``start``/``end`` are the relevant time of the entry: the encounter
    period, the observation's effective time, the procedure's performed time, the condition's onset
    (``start``) and abatement (``end``); a point in time has ``start == end``; ``end`` None with a
    ``start`` means an open (unbounded) period."""

    kind: EntryKind
    codes: frozenset[Code]
    id: str = ""
    status: str = ""
    categories: frozenset[str] = frozenset()
    start: datetime | None = None
    end: datetime | None = None
    authored_on: datetime | None = None
    issued: datetime | None = None
    value_quantity: Quantity | None = None
    value_codes: frozenset[Code] = frozenset()
    has_value: bool = False  # any value (quantity, code, boolean, string ...)
    components: tuple[Component, ...] = ()
    intent: str = ""
    do_not_perform: bool = False
    negated: bool = False  # "not done" (ObservationNotDone, QRDA negationInd)
    not_done_reason: frozenset[Code] = frozenset()
    clinical_status: str = ""  # conditions: active, recurrence, relapse, inactive, remission, resolved
    verification_status: str = ""  # conditions: confirmed, provisional, refuted, entered-in-error, ...
    body_sites: frozenset[Code] = frozenset()
    encounter_class: str = ""  # encounters: AMB, EMER, IMP, ...
    discharge_disposition: frozenset[Code] = frozenset()
    encounter_id: str = ""  # the encounter an observation belongs to
    supply: MedicationSupply | None = None

    @property
    def latest(self) -> datetime | None:
        """QICoreCommon ``latest()``: the end of the period if it has one, else its start."""
        return self.end if self.end is not None else self.start


@dataclass(slots=True)
class PatientModel:
    """A patient and their clinical data, as the measure logic sees them. Names, birth date and MBI are
    PHI: they are left out of ``repr`` so that a logged or raised model does not leak them."""

    patient_id: str
    birth_date: date = field(repr=False)
    gender: Gender
    first_name: str = field(default="", repr=False)
    last_name: str = field(default="", repr=False)
    mbi: str | None = field(default=None, repr=False)
    sex: str = ""  # SNOMED CT code of the us-core-sex extension (PY2026 CMS125), e.g. 248152002 female
    entries: list[ClinicalEntry] = field(default_factory=list)
