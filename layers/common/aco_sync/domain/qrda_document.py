"""The parsed form of one QRDA Category I document (one patient).

A faithful, general model of what the file says: the reader (``aco_sync.ingest.qrda``) fills it,
the eCQM engine (``aco_sync.ecqm``) decides what it means for a measure. Nothing here interprets
clinical meaning beyond naming the QDM data type an entry template stands for.

Times are naive ``datetime`` values holding the wall-clock time written in the file (a UTC offset
such as ``-0500`` is accepted and dropped, so every time compares with every other). Date-only
values become midnight. Unix epoch seconds (seen in some Cypress exports) are read as UTC.

PHI: names, birth date and identifiers are excluded from ``repr`` so that an accidental
``logger.info(doc)`` does not leak them. Never log them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from aco_sync.domain.records import Gender

# Identifier roots (OIDs) with a meaning for ACO Sync.
MBI_ROOT = "2.16.840.1.113883.4.927"
HICN_ROOT = "2.16.840.1.113883.4.572"
TIN_ROOT = "2.16.840.1.113883.4.2"
NPI_ROOT = "2.16.840.1.113883.4.6"
CCN_ROOT = "2.16.840.1.113883.4.336"
EMEASURE_VERSION_ID_ROOT = "2.16.840.1.113883.4.738"

# Gender translations of the 2026 CMS IG (administrativeGenderCode nullFlavor="OTH").
SNOMED_OID = "2.16.840.1.113883.6.96"
SNOMED_FEMALE = "248152002"
SNOMED_MALE = "248153007"


class QrdaEntryKind(StrEnum):
    """Coarse kind of a patient data entry, from its QRDA-I templateId (see ``qdm_datatype`` for the
    exact QDM data type, e.g. "Laboratory Test, Performed" vs "Laboratory Test, Order")."""

    ENCOUNTER = "encounter"
    DIAGNOSIS = "diagnosis"
    LAB_RESULT = "lab_result"  # Laboratory Test (performed, order, recommended)
    PHYSICAL_EXAM = "physical_exam"
    PROCEDURE = "procedure"
    INTERVENTION = "intervention"
    ASSESSMENT = "assessment"
    MEDICATION = "medication"  # active, administered, dispensed, order, discharge
    IMMUNIZATION = "immunization"
    DIAGNOSTIC_STUDY = "diagnostic_study"
    DEVICE = "device"
    PAYER = "payer"
    PATIENT_CHARACTERISTIC = "patient_characteristic"  # expired, clinical trial participant, ...
    SYMPTOM = "symptom"
    ALLERGY = "allergy"  # allergy/intolerance, adverse event
    COMMUNICATION = "communication"
    CARE_GOAL = "care_goal"
    FAMILY_HISTORY = "family_history"
    PARTICIPATION = "participation"
    RESULT = "result"  # a nested result observation (organizer component, "Result" template)
    REASON = "reason"  # a nested reason (template 2.16.840.1.113883.10.20.24.3.88)
    FACILITY_LOCATION = "facility_location"
    OTHER = "other"  # a nested or unrecognised template: kept, with its template ids


@dataclass(frozen=True, slots=True)
class TemplateId:
    root: str
    extension: str | None = None  # the template version, e.g. "2019-12-01"

    def __str__(self) -> str:
        return f"{self.root}:{self.extension}" if self.extension else self.root


@dataclass(frozen=True, slots=True)
class Identifier:
    """An II (``<id root= extension=>``). ``root`` alone is also a valid id (a UUID/OID)."""

    root: str | None
    extension: str | None = None
    null_flavor: str | None = None

    def __str__(self) -> str:
        return f"{self.root}:{self.extension}" if self.extension else (self.root or "")


@dataclass(frozen=True, slots=True)
class QrdaCode:
    """A coded value (CD/CE/CO). ``system`` is the code system OID.

    A code may be ``nullFlavor="UNK"`` (or ``"OTH"``) with the real code in ``translations``; use
    :meth:`all_codes` to see every (code, system) the element carries. ``value_set`` is
    ``sdtc:valueSet`` (used by negation rationale entries, where the code itself is ``nullFlavor="NA"``).
    """

    code: str | None
    system: str | None
    display: str | None = None
    system_name: str | None = None
    null_flavor: str | None = None
    value_set: str | None = None
    translations: tuple[QrdaCode, ...] = ()

    def all_codes(self) -> Iterator[QrdaCode]:
        """This code (when it has one) and every translation, depth first."""
        if self.code:
            yield self
        for translation in self.translations:
            yield from translation.all_codes()

    def matches(self, code: str, system: str | None = None) -> bool:
        return any(c.code == code and (system is None or c.system == system) for c in self.all_codes())


@dataclass(frozen=True, slots=True)
class QrdaQuantity:
    """A physical quantity (PQ), e.g. 7.2 % or 128 mm[Hg]."""

    value: Decimal
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class TextValue:
    """A value given as a string (ST/ED), an integer (INT) or a boolean (BL), kept as text."""

    text: str
    xsi_type: str | None = None


EntryValue = QrdaQuantity | QrdaCode | TextValue


@dataclass(frozen=True, slots=True)
class EncounterDiagnosis:
    """A diagnosis of an encounter (QDM ``Encounter, Performed`` attribute *diagnoses*).

    From the QRDA-I "Encounter Diagnosis QDM" observation (template 24.3.168, STU 5.1+), the C-CDA
    "Encounter Diagnosis" act (2.16.840.1.113883.10.20.22.4.80, older versions) or the "Principal
    Diagnosis" observation (24.3.152, rank 1) inside the encounter.
    """

    code: QrdaCode
    rank: int | None = None  # 1 = principal diagnosis
    present_on_admission: QrdaCode | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class FacilityLocation:
    """Where (part of) an encounter took place: a ``participant typeCode="LOC"`` (Facility Location,
    template 24.3.100) with its location type code and location period."""

    code: QrdaCode | None
    low: datetime | None = None
    high: datetime | None = None


@dataclass(frozen=True, slots=True)
class QrdaEntry:
    """One clinical statement (act, observation, encounter, procedure, substanceAdministration,
    supply, organizer) of the patient data section, or one nested inside another.

    ``codes`` are the codes that say *what* the entry is (QDM's "code" attribute): for most
    templates the element's ``<code>``; for diagnoses, symptoms, allergies, patient characteristics
    and payers (where CDA puts the concept in ``<value>``) the value; for medications and
    immunizations the ``consumable`` product code; for devices the ``playingDevice`` code. The raw
    ``<code>`` is always in ``element_code``. ``values`` are the ``<value>`` elements that are
    results (empty when the value became ``codes``).
    """

    kind: QrdaEntryKind
    qdm_datatype: str | None  # e.g. "Encounter, Performed"; None for unrecognised templates
    template_ids: tuple[TemplateId, ...]
    element: str  # CDA element name: act, observation, encounter, procedure, ...
    class_code: str | None = None
    mood_code: str | None = None  # EVN (happened), INT/RQO (order), PRP (recommended)
    ids: tuple[Identifier, ...] = ()
    codes: tuple[QrdaCode, ...] = ()
    element_code: QrdaCode | None = None
    status: str | None = None  # statusCode/@code
    effective_time: datetime | None = None  # effectiveTime/@value (a point in time)
    effective_low: datetime | None = None
    effective_high: datetime | None = None
    author_time: datetime | None = None  # author/time: when it was recorded/ordered
    values: tuple[EntryValue, ...] = ()
    negated: bool = False  # negationInd="true": the thing did NOT happen (see negation_reason)
    negation_reason: QrdaCode | None = None
    reason: QrdaCode | None = None  # the reason of a non-negated entry (template 24.3.88)
    components: tuple[QrdaEntry, ...] = ()  # nested entryRelationship/component statements
    line: int | None = None  # line in the source file
    # Encounter attributes (QDM "Encounter, Performed"); empty for other entries.
    discharge_disposition: QrdaCode | None = None  # sdtc:dischargeDispositionCode
    encounter_class: QrdaCode | None = None  # "Encounter Class" act (template 24.3.171), e.g. EMER, IMP
    diagnoses: tuple[EncounterDiagnosis, ...] = ()
    facility_locations: tuple[FacilityLocation, ...] = ()

    @property
    def entry_id(self) -> str | None:
        """The first id, as ``root:extension`` (ids are not always unique: see fixture 31_)."""
        return str(self.ids[0]) if self.ids else None

    @property
    def relevant_low(self) -> datetime | None:
        """Start of the entry's relevant period (low, else the point time)."""
        return self.effective_low or self.effective_time

    def has_template(self, root: str) -> bool:
        return any(t.root == root for t in self.template_ids)

    def iter_all(self) -> Iterator[QrdaEntry]:
        """This entry and every nested component, depth first."""
        yield self
        for component in self.components:
            yield from component.iter_all()


@dataclass(frozen=True, slots=True)
class MeasureReference:
    """A measure named in the Measure Section (externalDocument)."""

    version_specific_id: str | None  # id root 2.16.840.1.113883.4.738 extension (a GUID)
    set_id: str | None  # version-neutral id (a GUID)
    version_number: str | None = None
    title: str | None = None
    ecqm_id: str | None = None  # "CMS122", when recognised (from set id, id, title or text)
    catalog_measure_id: str | None = None  # "M001", when the measure is in the ACO Sync catalog


@dataclass(frozen=True, slots=True)
class QrdaWarning:
    """Something odd in an accepted document (no PHI in ``message``)."""

    message: str
    line: int | None = None
    code: str = ""


@dataclass(frozen=True, slots=True)
class QrdaDocument:
    """One parsed QRDA Category I document."""

    file_name: str
    given_names: tuple[str, ...] = field(default=(), repr=False)
    family_name: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)
    birth_time: datetime | None = field(default=None, repr=False)
    gender: Gender = Gender.UNKNOWN
    gender_code: QrdaCode | None = field(default=None, repr=False)  # as written (incl. OTH + translation)
    race: QrdaCode | None = field(default=None, repr=False)
    ethnicity: QrdaCode | None = field(default=None, repr=False)
    patient_ids: tuple[Identifier, ...] = field(default=(), repr=False)  # recordTarget/patientRole/id
    tins: tuple[str, ...] = ()
    npis: tuple[str, ...] = ()
    reporting_period_start: datetime | None = None
    reporting_period_end: datetime | None = None
    measures: tuple[MeasureReference, ...] = ()
    document_templates: tuple[TemplateId, ...] = ()  # ClinicalDocument/templateId: the IG versions
    entries: tuple[QrdaEntry, ...] = ()
    warnings: tuple[QrdaWarning, ...] = ()
    document_id: str | None = None

    @property
    def first_name(self) -> str | None:
        return self.given_names[0] if self.given_names else None

    @property
    def mbi(self) -> str | None:
        return self._id_with_root(MBI_ROOT)

    @property
    def hicn(self) -> str | None:
        return self._id_with_root(HICN_ROOT)

    @property
    def other_ids(self) -> tuple[Identifier, ...]:
        """Patient ids other than MBI/HICN: MRNs and vendor ids (root = the assigning system)."""
        return tuple(i for i in self.patient_ids if i.root not in (MBI_ROOT, HICN_ROOT))

    @property
    def tin(self) -> str | None:
        return self.tins[0] if self.tins else None

    @property
    def catalog_measure_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.catalog_measure_id for m in self.measures if m.catalog_measure_id))

    def entries_of(self, kind: QrdaEntryKind) -> list[QrdaEntry]:
        return [e for e in self.entries if e.kind is kind]

    def entry_counts(self) -> dict[str, int]:
        """Top-level entries by kind, e.g. ``{"encounter": 3, "lab_result": 1}``."""
        return dict(sorted(Counter(str(e.kind) for e in self.entries).items()))

    def _id_with_root(self, root: str) -> str | None:
        for identifier in self.patient_ids:
            if identifier.root == root and identifier.extension:
                return identifier.extension
        return None
