"""Measure logic for CMS122 (M001), CMS125 (M112), CMS130 (M113), CMS165 (M236) and CMS2 (M134).

A faithful translation of the 2025 QI-Core CQL (``../shared/fixtures/ecqm-tests/cql/``): the measure
libraries and the shared libraries they include (AdultOutpatientEncounters, Hospice, PalliativeCare,
AdvancedIllnessandFrailty, Status, QICoreCommon, CumulativeMedicationDuration). Each function below
names the CQL definition it implements. Populations follow proportion-measure semantics: the
denominator exclusion is evaluated within the denominator, the numerator within the denominator less
exclusions, and the exception only for patients neither excluded nor in the numerator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.records import Gender, Performance
from aco_sync.ecqm import codes as c
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.model import ClinicalEntry, EntryKind, PatientModel
from aco_sync.ecqm.timing import (
    Interval,
    add_months,
    add_years,
    age_in_years_at,
    end_of_day,
    point,
    start_of_day,
)
from aco_sync.ecqm.valuesets import ValueSetLibrary, bundled_value_sets, default_value_sets

FINAL_STATUSES = frozenset({"final", "amended", "corrected"})
SYMPTOM_STATUSES = FINAL_STATUSES | {"preliminary"}
ENCOUNTER_PERFORMED_STATUSES = frozenset({"finished", "arrived", "triaged", "in-progress", "onleave"})
ORDER_STATUSES = frozenset({"active", "completed"})
ACTIVE_CONDITION_STATUSES = frozenset({"active", "recurrence", "relapse"})
NON_OUTPATIENT_BP_ENCOUNTER_CLASSES = frozenset({"EMER", "IMP", "ACUTE", "NONAC", "PRENC", "SS"})

QUALIFYING_OUTPATIENT_ENCOUNTERS = (
    "Office Visit",
    "Annual Wellness Visit",
    "Preventive Care Services Established Office Visit, 18 and Up",
    "Preventive Care Services Initial Office Visit, 18 and Up",
    "Home Healthcare Services",
    "Virtual Encounter",
    "Telephone Visits",
)


# Every value set the logic retrieves by name (checked when a user supplies their own expansions).
REQUIRED_VALUE_SETS = (
    *QUALIFYING_OUTPATIENT_ENCOUNTERS,
    "Advanced Illness",
    "Bilateral Mastectomy",
    "Bipolar Disorder",
    "CT Colonography",
    "Chronic Kidney Disease, Stage 5",
    "Colonoscopy",
    "Dementia Medications",
    "Diabetes",
    "Dialysis Services",
    "ESRD Monthly Outpatient Services",
    "Emergency Department Evaluation and Management Visit",
    "Encounter Inpatient",
    "Encounter to Screen for Depression",
    "End Stage Renal Disease",
    "Essential Hypertension",
    "Fecal Occult Blood Test (FOBT)",
    "Flexible Sigmoidoscopy",
    "Frailty Device",
    "Frailty Diagnosis",
    "Frailty Encounter",
    "Frailty Symptom",
    "HbA1c Laboratory Test",
    "History of bilateral mastectomy",
    "Hospice Care Ambulatory",
    "Hospice Diagnosis",
    "Hospice Encounter",
    "Kidney Transplant",
    "Kidney Transplant Recipient",
    "Malignant Neoplasm of Colon",
    "Mammography",
    "Medical Reason",
    "Palliative Care Diagnosis",
    "Palliative Care Encounter",
    "Palliative Care Intervention",
    "Physical Therapy Evaluation",
    "Pregnancy",
    "Status Post Left Mastectomy",
    "Status Post Right Mastectomy",
    "Total Colectomy",
    "Unilateral Mastectomy Left",
    "Unilateral Mastectomy Right",
    "Unilateral Mastectomy, Unspecified Laterality",
    "sDNA FIT Test",
    "Adolescent Depression Medications",
    "Adult Depression Medications",
    "Referral for Adolescent Depression",
    "Referral for Adult Depression",
    "Follow Up for Adolescent Depression",
    "Follow Up for Adult Depression",
)


def check_value_sets(value_sets: ValueSetLibrary) -> None:
    """Raise InvalidInputError naming the value sets the measure logic needs that are not loaded."""
    missing = value_sets.missing(REQUIRED_VALUE_SETS)
    if missing:
        raise InvalidInputError(
            f"value sets missing from the loaded expansions ({len(missing)}): {', '.join(missing)}"
        )


@dataclass(frozen=True, slots=True)
class MeasurePopulations:
    """One patient's populations on one measure, and the performance record they become.

    ``performance`` is None when the patient is not in the denominator (no record is produced).
    Mapping (the aggregation vocabulary counts MET as "performance met" as CMS reports it):
    exclusion -> DENOMINATOR_EXCLUSION; numerator -> MET (for the inverse M001 a numerator hit,
    "glycemic status > 9% or missing", is performance met: the bad outcome); exception ->
    DENOMINATOR_EXCEPTION; otherwise NOT_MET.
    """

    measure_id: str
    initial_population: bool
    denominator: bool
    denominator_exclusion: bool
    numerator: bool
    denominator_exception: bool
    performance: Performance | None
    performance_date: date | None
    note: str = ""  # what decided the outcome, for users checking a patient (no PHI)
    hba1c: float | None = None  # M001: the lowest glycemic status on the most recent day
    systolic: int | None = None  # M236: the lowest readings on the most recent blood pressure day
    diastolic: int | None = None

    def counts(self) -> dict[str, int]:
        """The populations as the FHIR MeasureReport codes them (0/1)."""
        return {
            "initial-population": int(self.initial_population),
            "denominator": int(self.denominator),
            "denominator-exclusion": int(self.denominator_exclusion),
            "denominator-exception": int(self.denominator_exception),
            "numerator": int(self.numerator),
        }


@dataclass(slots=True)
class _Criteria:
    """The raw CQL definitions of one measure, before proportion semantics."""

    initial_population: bool
    denominator_exclusion: Callable[[], bool]
    numerator: Callable[[], bool]
    denominator_exception: Callable[[], bool] = lambda: False
    evidence_date: Callable[[], date | None] = lambda: None
    encounter_date: date | None = None
    note: Callable[[], str] = lambda: ""
    values: Callable[[], dict[str, float | None]] = dict


class MeasureContext:
    """A patient, a measurement period and value sets: the CQL evaluation context."""

    def __init__(self, patient: PatientModel, period: tuple[date, date], value_sets: ValueSetLibrary) -> None:
        self.patient = patient
        self.first_day, self.last_day = period
        if self.last_day < self.first_day:
            raise ValueError(f"measurement period ends ({self.last_day}) before it starts ({self.first_day})")
        self.mp_start = start_of_day(self.first_day)
        self.mp_end = end_of_day(self.last_day)
        if value_sets is not bundled_value_sets():
            check_value_sets(value_sets)
        self.value_sets = value_sets
        self.age_at_end = age_in_years_at(patient.birth_date, self.last_day)
        self.age_at_start = age_in_years_at(patient.birth_date, self.first_day)
        self._by_kind: dict[EntryKind, list[ClinicalEntry]] = {}
        for entry in patient.entries:
            self._by_kind.setdefault(entry.kind, []).append(entry)
        self._memo: dict[str, object] = {}

    # ---- retrieves ----
    def retrieve(self, kind: EntryKind, *value_sets: str, code: Code | None = None) -> list[ClinicalEntry]:
        """``[Kind: "Value Set"]`` (union over several value sets) or ``[Kind: code]``."""
        wanted: frozenset[Code] = frozenset({code}) if code is not None else frozenset()
        if value_sets:
            wanted = wanted | self.value_sets.union(*value_sets)
        return [e for e in self._by_kind.get(kind, ()) if not e.codes.isdisjoint(wanted)]

    def entries(self, kind: EntryKind) -> list[ClinicalEntry]:
        return self._by_kind.get(kind, [])

    def in_value_set(self, codes: Iterable[Code], value_set: str) -> bool:
        return not self.value_sets.codes(value_set).isdisjoint(codes)

    def memo(self, key: str, compute: Callable[[], object]) -> object:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # ---- shared library: AdultOutpatientEncounters ----
    def qualifying_encounters(self) -> list[ClinicalEntry]:
        """AdultOutpatientEncounters."Qualifying Encounters"."""

        def compute() -> list[ClinicalEntry]:
            return [
                e
                for e in self.retrieve(EntryKind.ENCOUNTER, *QUALIFYING_OUTPATIENT_ENCOUNTERS)
                if encounter_performed(e) and _during_days(period_of(e), self.first_day, self.last_day)
            ]

        return self.memo("qualifying_encounters", compute)  # type: ignore[return-value]

    # ---- shared library: Hospice ----
    def has_hospice_services(self) -> bool:
        """Hospice."Has Hospice Services"."""
        first, last = self.first_day, self.last_day
        hospice_discharges = {c.DISCHARGE_TO_HOME_FOR_HOSPICE, c.DISCHARGE_TO_FACILITY_FOR_HOSPICE}
        return (
            any(
                encounter_performed(e)
                and not e.discharge_disposition.isdisjoint(hospice_discharges)
                and _ends_during_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.ENCOUNTER, "Encounter Inpatient")
            )
            or any(
                encounter_performed(e) and _overlaps_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.ENCOUNTER, "Hospice Encounter")
            )
            or any(
                assessment_performed(e)
                and c.YES_QUALIFIER in e.value_codes
                and _overlaps_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.OBSERVATION, code=c.HOSPICE_CARE_MDS)
            )
            or any(
                order_placed(e) and _during_days(point(e.authored_on), first, last)
                for e in self.retrieve(EntryKind.SERVICE_REQUEST, "Hospice Care Ambulatory")
            )
            or any(
                e.status == "completed" and _overlaps_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.PROCEDURE, "Hospice Care Ambulatory")
            )
            or any(
                prevalence(e).overlaps_days(first, last)
                for e in self.retrieve(EntryKind.CONDITION, "Hospice Diagnosis")
            )
        )

    # ---- shared library: PalliativeCare ----
    def has_palliative_care(self) -> bool:
        """PalliativeCare."Has Palliative Care in the Measurement Period"."""
        first, last = self.first_day, self.last_day
        return (
            any(
                assessment_performed(e) and _overlaps_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.OBSERVATION, code=c.FACIT_PAL)
            )
            or any(
                prevalence(e).overlaps_days(first, last)
                for e in self.retrieve(EntryKind.CONDITION, "Palliative Care Diagnosis")
            )
            or any(
                encounter_performed(e) and _overlaps_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.ENCOUNTER, "Palliative Care Encounter")
            )
            or any(
                e.status == "completed" and _overlaps_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.PROCEDURE, "Palliative Care Intervention")
            )
        )

    # ---- shared library: AdvancedIllnessandFrailty ----
    def has_frailty(self) -> bool:
        """AIFrailLTCF."Has Criteria Indicating Frailty"."""
        first, last = self.first_day, self.last_day
        return (
            any(
                order_placed(e) and not e.do_not_perform and _during_days(point(e.authored_on), first, last)
                for e in self.retrieve(EntryKind.DEVICE_REQUEST, "Frailty Device")
            )
            or any(
                assessment_performed(e)
                and self.in_value_set(e.value_codes, "Frailty Device")
                and _ends_during_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.OBSERVATION, code=c.MEDICAL_EQUIPMENT_USED)
            )
            or any(
                prevalence(e).overlaps_days(first, last)
                for e in self.retrieve(EntryKind.CONDITION, "Frailty Diagnosis")
            )
            or any(
                encounter_performed(e) and _overlaps_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.ENCOUNTER, "Frailty Encounter")
            )
            or any(
                e.status in SYMPTOM_STATUSES and _overlaps_days(period_of(e), first, last)
                for e in self.retrieve(EntryKind.OBSERVATION, "Frailty Symptom")
            )
        )

    def has_advanced_illness_or_dementia_medication(self) -> bool:
        """CQL "Has Advanced Illness in Year Before or During Measurement Period" or
        "Has Dementia Medications in Year Before or During Measurement Period"."""
        first, last = add_years(self.first_day, -1), self.last_day
        if any(
            prevalence(e).starts_during_days(first, last)
            for e in self.retrieve(EntryKind.CONDITION, "Advanced Illness")
        ):
            return True
        for med in self.retrieve(EntryKind.MEDICATION_REQUEST, "Dementia Medications"):
            if med.status == "active" and med.intent == "order":
                supply_period = medication_request_period(med)
                if supply_period is not None and supply_period.overlaps_days(first, last):
                    return True
        return False

    def is_66_or_older_with_advanced_illness_and_frailty(self) -> bool:
        return (
            self.age_at_end >= 66
            and self.has_frailty()
            and self.has_advanced_illness_or_dementia_medication()
        )

    def is_66_to_80_with_illness_and_frailty_or_81_with_frailty(self) -> bool:
        if 66 <= self.age_at_end <= 80:
            return self.has_frailty() and self.has_advanced_illness_or_dementia_medication()
        return self.age_at_end >= 81 and self.has_frailty()

    def is_66_or_older_in_nursing_home(self) -> bool:
        """AIFrailLTCF."Is Age 66 or Older Living Long Term in a Nursing Home"."""
        if self.age_at_end < 66:
            return False
        housing = [
            e
            for e in self.retrieve(EntryKind.OBSERVATION, code=c.HOUSING_STATUS)
            if assessment_performed(e) and _ends_on_or_before_day(period_of(e), self.last_day)
        ]
        if not housing:
            return False
        last_status = max(housing, key=lambda e: (e.latest or self.mp_start, *tie_break(e)))
        return c.LIVES_IN_NURSING_HOME in last_status.value_codes

    def last_encounter_date(self, encounters: Iterable[ClinicalEntry]) -> date | None:
        dates = [e.latest.date() for e in encounters if e.latest is not None]
        return max(dates) if dates else None


# ---------------------------------------------------------------- Status / QICoreCommon helpers
def tie_break(e: ClinicalEntry) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A deterministic order among entries of the same time (the CQL leaves it to retrieval order):
    the result never depends on the order of the patient's data."""
    return e.id, tuple(sorted((v.system, v.code) for v in e.value_codes))


def encounter_performed(e: ClinicalEntry) -> bool:
    return e.status in ENCOUNTER_PERFORMED_STATUSES


def assessment_performed(e: ClinicalEntry) -> bool:
    return e.status in FINAL_STATUSES and "survey" in e.categories


def lab_test_performed(e: ClinicalEntry) -> bool:
    return e.status in FINAL_STATUSES and "laboratory" in e.categories


def order_placed(e: ClinicalEntry) -> bool:
    """isInterventionOrder / isDeviceOrder / isMedicationOrder: active or completed orders."""
    return e.status in ORDER_STATUSES and e.intent == "order"


def period_of(e: ClinicalEntry) -> Interval | None:
    """``toInterval()`` of the entry's effective/performed/period time."""
    if e.start is None and e.end is None:
        return None
    if e.start is None:
        return None  # Interval(null, end]: unknown start
    return Interval(e.start, e.end)


def prevalence(e: ClinicalEntry) -> Interval:
    """QICoreCommon ``prevalenceInterval()`` of a condition."""
    if e.end is not None:
        return Interval(e.start, e.end)
    return Interval(e.start, None, high_unknown=e.clinical_status not in ACTIVE_CONDITION_STATUSES)


def medication_request_period(e: ClinicalEntry) -> Interval | None:
    """CumulativeMedicationDuration ``medicationRequestPeriod()``."""
    supply = e.supply
    starts = [
        d
        for d in (
            supply.bounds_start if supply else None,
            e.authored_on,
            supply.validity_start if supply else None,
        )
        if d is not None
    ]
    if not starts:
        return None
    start_date = starts[0].date()
    total_days: float | None = None
    if supply is not None:
        if supply.days_supply is not None:
            total_days = supply.days_supply
        elif supply.quantity is not None and supply.dose:
            total_days = supply.quantity / (supply.dose * (supply.doses_per_day or 1.0))
        if total_days is not None:
            total_days *= 1 + supply.refills
    if total_days is not None:
        end_date = start_date + timedelta(days=int(total_days - 1))
        return Interval(start_of_day(start_date), start_of_day(end_date))
    if supply is not None and supply.bounds_end is not None:
        return Interval(start_of_day(start_date), start_of_day(supply.bounds_end.date()))
    return None


def _during_days(interval: Interval | None, first: date, last: date) -> bool:
    return interval is not None and interval.during_days(first, last)


def _overlaps_days(interval: Interval | None, first: date, last: date) -> bool:
    return interval is not None and interval.overlaps_days(first, last)


def _ends_during_days(interval: Interval | None, first: date, last: date) -> bool:
    return interval is not None and interval.ends_during_days(first, last)


def _ends_on_or_before_day(interval: Interval | None, day: date) -> bool:
    return interval is not None and interval.ends_on_or_before_day(day)


def _ends_on_or_before(interval: Interval | None, instant: datetime) -> bool:
    return interval is not None and interval.ends_on_or_before(instant)


def _latest_date(e: ClinicalEntry) -> date | None:
    return e.latest.date() if e.latest is not None else None


# ---------------------------------------------------------------- CMS122 (M001)
def _cms122(ctx: MeasureContext) -> _Criteria:
    encounters = ctx.qualifying_encounters()
    initial_population = (
        18 <= ctx.age_at_end <= 75
        and bool(encounters)
        and any(
            prevalence(e).overlaps_days(ctx.first_day, ctx.last_day)
            for e in ctx.retrieve(EntryKind.CONDITION, "Diabetes")
        )
    )

    def exclusion() -> bool:
        return (
            ctx.has_hospice_services()
            or ctx.is_66_or_older_in_nursing_home()
            or ctx.is_66_or_older_with_advanced_illness_and_frailty()
            or ctx.has_palliative_care()
        )

    def assessments() -> list[ClinicalEntry]:
        return ctx.memo("glycemic", glycemic_status_assessments)  # type: ignore[return-value]

    def glycemic_status_assessments() -> list[ClinicalEntry]:
        """The CQL "Glycemic Status Assessment"."""
        return [
            e
            for e in ctx.retrieve(
                EntryKind.OBSERVATION, "HbA1c Laboratory Test", code=c.GLUCOSE_MANAGEMENT_INDICATOR
            )
            if lab_test_performed(e)
            and e.latest is not None
            and ctx.first_day <= e.latest.date() <= ctx.last_day
        ]

    def most_recent_day() -> date | None:
        days = [d for d in map(_latest_date, assessments()) if d is not None]
        return max(days) if days else None

    def outcome() -> tuple[bool, str]:
        day = most_recent_day()
        if day is None:
            return True, "no glycemic status assessment in the period (numerator: missing)"
        readings = [e for e in assessments() if _latest_date(e) == day]
        values = [e.value_quantity.value if e.value_quantity else None for e in readings]
        if any(v is None for v in values):
            return True, f"most recent glycemic status assessment ({day}) has no result (numerator)"
        lowest = min(v for v in values if v is not None)
        if lowest > 9:
            return True, f"most recent glycemic status {lowest:g}% on {day} is > 9% (numerator)"
        return False, f"most recent glycemic status {lowest:g}% on {day} is <= 9%"

    def values() -> dict[str, float | None]:
        day = most_recent_day()
        found = [e.value_quantity.value for e in assessments() if _latest_date(e) == day and e.value_quantity]
        return {"hba1c": min(found) if found else None}

    return _Criteria(
        initial_population=initial_population,
        denominator_exclusion=exclusion,
        numerator=lambda: outcome()[0],
        evidence_date=most_recent_day,
        encounter_date=ctx.last_encounter_date(encounters),
        note=lambda: outcome()[1],
        values=values,
    )


# ---------------------------------------------------------------- CMS125 (M112)
def _cms125(ctx: MeasureContext) -> _Criteria:
    encounters = ctx.qualifying_encounters()
    initial_population = (
        52 <= ctx.age_at_end <= 74 and ctx.patient.gender == Gender.FEMALE and bool(encounters)
    )

    def condition_before_end(value_set: str, site: Code | None = None) -> bool:
        return any(
            prevalence(e).starts_on_or_before(ctx.mp_end) and (site is None or site in e.body_sites)
            for e in ctx.retrieve(EntryKind.CONDITION, value_set)
        )

    def procedure_before_end(value_set: str) -> bool:
        return any(
            e.status == "completed" and _ends_on_or_before(period_of(e), ctx.mp_end)
            for e in ctx.retrieve(EntryKind.PROCEDURE, value_set)
        )

    def exclusion() -> bool:
        unspecified = "Unilateral Mastectomy, Unspecified Laterality"
        right = (
            condition_before_end("Status Post Right Mastectomy")
            or condition_before_end(unspecified, c.RIGHT_QUALIFIER)
            or procedure_before_end("Unilateral Mastectomy Right")
        )
        left = (
            condition_before_end("Status Post Left Mastectomy")
            or condition_before_end(unspecified, c.LEFT_QUALIFIER)
            or procedure_before_end("Unilateral Mastectomy Left")
        )
        return (
            ctx.has_hospice_services()
            or (right and left)
            or condition_before_end("History of bilateral mastectomy")
            or procedure_before_end("Bilateral Mastectomy")
            or ctx.is_66_or_older_with_advanced_illness_and_frailty()
            or ctx.is_66_or_older_in_nursing_home()
            or ctx.has_palliative_care()
        )

    window_start = date(
        ctx.first_day.year - 2, 10, 1
    )  # "October 1 Two Years Prior to the Measurement Period"

    def mammogram_dates() -> list[date]:
        return [
            e.end.date()
            for e in ctx.retrieve(EntryKind.OBSERVATION, "Mammography")
            if e.status in FINAL_STATUSES
            and _ends_during_days(period_of(e), window_start, ctx.last_day)
            and e.end is not None
        ]

    def evidence() -> date | None:
        found = mammogram_dates()
        return max(found) if found else None

    return _Criteria(
        initial_population=initial_population,
        denominator_exclusion=exclusion,
        numerator=lambda: bool(mammogram_dates()),
        evidence_date=evidence,
        encounter_date=ctx.last_encounter_date(encounters),
        note=lambda: (
            f"mammography on {evidence()}" if evidence() else "no mammography since " + str(window_start)
        ),
    )


# ---------------------------------------------------------------- CMS130 (M113)
def _cms130(ctx: MeasureContext) -> _Criteria:
    encounters = ctx.qualifying_encounters()
    initial_population = 46 <= ctx.age_at_end <= 75 and bool(encounters)

    def exclusion() -> bool:
        return (
            ctx.has_hospice_services()
            or any(
                prevalence(e).low is None or prevalence(e).low.date() <= ctx.last_day  # type: ignore[union-attr]
                for e in ctx.retrieve(EntryKind.CONDITION, "Malignant Neoplasm of Colon")
            )
            or any(
                e.status == "completed" and _ends_on_or_before_day(period_of(e), ctx.last_day)
                for e in ctx.retrieve(EntryKind.PROCEDURE, "Total Colectomy")
            )
            or ctx.is_66_or_older_with_advanced_illness_and_frailty()
            or ctx.is_66_or_older_in_nursing_home()
            or ctx.has_palliative_care()
        )

    def years_back(n: int) -> date:
        return add_years(ctx.first_day, -n)

    def screenings() -> list[tuple[date, str]]:
        found: list[tuple[date, str]] = []
        for e in ctx.retrieve(EntryKind.OBSERVATION, "Fecal Occult Blood Test (FOBT)"):
            day = _latest_date(e)
            if lab_test_performed(e) and e.has_value and day and ctx.first_day <= day <= ctx.last_day:
                found.append((day, "FOBT"))
        for e in ctx.retrieve(EntryKind.OBSERVATION, "sDNA FIT Test"):
            day = _latest_date(e)
            if lab_test_performed(e) and e.has_value and day and years_back(2) <= day <= ctx.last_day:
                found.append((day, "sDNA FIT test"))
        for value_set, years, label in (
            ("Flexible Sigmoidoscopy", 4, "flexible sigmoidoscopy"),
            ("Colonoscopy", 9, "colonoscopy"),
        ):
            for e in ctx.retrieve(EntryKind.PROCEDURE, value_set):
                if e.status == "completed" and _ends_during_days(
                    period_of(e), years_back(years), ctx.last_day
                ):
                    found.append((e.end.date() if e.end else ctx.last_day, label))
        for e in ctx.retrieve(EntryKind.OBSERVATION, "CT Colonography"):
            if e.status in FINAL_STATUSES and _ends_during_days(period_of(e), years_back(4), ctx.last_day):
                found.append((e.end.date() if e.end else ctx.last_day, "CT colonography"))
        return sorted(found)

    def evidence() -> date | None:
        found = screenings()
        return found[-1][0] if found else None

    def note() -> str:
        found = screenings()
        return (
            f"{found[-1][1]} on {found[-1][0]}"
            if found
            else "no colorectal cancer screening in its look-back"
        )

    return _Criteria(
        initial_population=initial_population,
        denominator_exclusion=exclusion,
        numerator=lambda: bool(screenings()),
        evidence_date=evidence,
        encounter_date=ctx.last_encounter_date(encounters),
        note=note,
    )


# ---------------------------------------------------------------- CMS165 (M236)
def _component_value(e: ClinicalEntry, code: Code) -> float | None:
    if code in e.codes and e.value_quantity is not None:
        return e.value_quantity.value
    for component in e.components:
        if code in component.codes and component.quantity is not None:
            return component.quantity.value
    return None


def _is_bp_reading(e: ClinicalEntry, code: Code) -> bool:
    """Part of the ``["observation-bp"]`` retrieve for the given component: a blood pressure panel,
    or (QRDA-I / QDM) a separate systolic or diastolic physical exam."""
    if not e.codes.isdisjoint(c.BP_PANEL_CODES):
        return True
    if code in e.codes:
        return True
    return any(code in comp.codes for comp in e.components)


def _cms165(ctx: MeasureContext) -> _Criteria:
    encounters = ctx.qualifying_encounters()
    six_months = add_months(ctx.mp_start, 6)
    initial_population = (
        18 <= ctx.age_at_end <= 85
        and any(
            prevalence(e).overlaps(ctx.mp_start, six_months, high_open=True)
            for e in ctx.retrieve(EntryKind.CONDITION, "Essential Hypertension")
        )
        and bool(encounters)
    )

    def exclusion() -> bool:
        return (
            ctx.has_hospice_services()
            or any(
                prevalence(e).overlaps(ctx.mp_start, ctx.mp_end)
                for e in ctx.retrieve(
                    EntryKind.CONDITION,
                    "Pregnancy",
                    "End Stage Renal Disease",
                    "Kidney Transplant Recipient",
                    "Chronic Kidney Disease, Stage 5",
                )
            )
            or any(
                e.status == "completed" and _ends_on_or_before(period_of(e), ctx.mp_end)
                for e in ctx.retrieve(EntryKind.PROCEDURE, "Kidney Transplant", "Dialysis Services")
            )
            or any(
                encounter_performed(e) and e.start is not None and e.start <= ctx.mp_end
                for e in ctx.retrieve(EntryKind.ENCOUNTER, "ESRD Monthly Outpatient Services")
            )
            or ctx.is_66_to_80_with_illness_and_frailty_or_81_with_frailty()
            or ctx.is_66_or_older_in_nursing_home()
            or ctx.has_palliative_care()
        )

    encounter_class = {e.id: e.encounter_class for e in ctx.entries(EntryKind.ENCOUNTER) if e.id}

    def readings(code: Code) -> list[tuple[date, float | None]]:
        return ctx.memo(f"bp-{code.code}", lambda: qualifying_readings(code))  # type: ignore[return-value]

    def qualifying_readings(code: Code) -> list[tuple[date, float | None]]:
        """The CQL "Qualifying Systolic/Diastolic Blood Pressure Reading": (day, value)."""
        result = []
        for e in ctx.entries(EntryKind.OBSERVATION):
            if e.status not in FINAL_STATUSES or not _is_bp_reading(e, code):
                continue
            if encounter_class.get(e.encounter_id, "") in NON_OUTPATIENT_BP_ENCOUNTER_CLASSES:
                continue
            day = _latest_date(e)
            if day is not None and ctx.first_day <= day <= ctx.last_day:
                result.append((day, _component_value(e, code)))
        return result

    def most_recent_day() -> date | None:
        days = {d for d, _ in readings(c.SYSTOLIC_BP)} & {d for d, _ in readings(c.DIASTOLIC_BP)}
        return max(days) if days else None

    def lowest(code: Code, day: date) -> float | None:
        values = [v for d, v in readings(code) if d == day]
        if not values or any(v is None for v in values):
            return None  # CQL sorts nulls first: a reading without a value wins First()
        return min(v for v in values if v is not None)

    def outcome() -> tuple[bool, str]:
        day = most_recent_day()
        if day is None:
            return False, "no qualifying blood pressure reading in the period"
        systolic, diastolic = lowest(c.SYSTOLIC_BP, day), lowest(c.DIASTOLIC_BP, day)
        met = systolic is not None and diastolic is not None and systolic < 140 and diastolic < 90
        shown = "/".join("none" if v is None else f"{v:g}" for v in (systolic, diastolic))
        return met, f"most recent blood pressure day {day}: lowest {shown} mmHg"

    def values() -> dict[str, float | None]:
        day = most_recent_day()
        if day is None:
            return {}
        return {"systolic": lowest(c.SYSTOLIC_BP, day), "diastolic": lowest(c.DIASTOLIC_BP, day)}

    return _Criteria(
        initial_population=initial_population,
        denominator_exclusion=exclusion,
        numerator=lambda: outcome()[0],
        evidence_date=most_recent_day,
        encounter_date=ctx.last_encounter_date(encounters),
        note=lambda: outcome()[1],
        values=values,
    )


# ---------------------------------------------------------------- CMS2 (M134)
def _cms2(ctx: MeasureContext) -> _Criteria:
    encounters = [
        e
        for e in ctx.retrieve(
            EntryKind.ENCOUNTER,
            "Encounter to Screen for Depression",
            "Physical Therapy Evaluation",
            "Telephone Visits",
        )
        if e.status == "finished" and _during_days(period_of(e), ctx.first_day, ctx.last_day)
    ]
    initial_population = ctx.age_at_start >= 12 and bool(encounters)

    def exclusion() -> bool:
        """CQL "History of Bipolar Diagnosis Before Qualifying Encounter"."""
        for condition in ctx.retrieve(EntryKind.CONDITION, "Bipolar Disorder"):
            if not ({"problem-list-item", "health-concern"} & condition.categories):
                continue
            onset = prevalence(condition).low
            if any(enc.start is not None and (onset is None or onset < enc.start) for enc in encounters):
                return True
        return False

    def screened_before_encounter(e: ClinicalEntry) -> bool:
        """effective 14 days or less on or before day of start of a qualifying encounter."""
        day = _latest_date(e)
        return day is not None and any(
            enc.start is not None and enc.start.date() - timedelta(days=14) <= day <= enc.start.date()
            for enc in encounters
        )

    def screenings(code: Code) -> list[ClinicalEntry]:
        return [
            e
            for e in ctx.retrieve(EntryKind.OBSERVATION, code=code)
            if not e.negated and e.status == "final" and e.has_value and screened_before_encounter(e)
        ]

    def most_recent(code: Code) -> ClinicalEntry | None:
        found = [e for e in screenings(code) if e.start is not None]
        return max(found, key=lambda e: (e.start, *tie_break(e))) if found else None

    def follow_ups(adolescent: bool) -> list[ClinicalEntry]:
        prefix = "Adolescent" if adolescent else "Adult"
        return (
            [
                e
                for e in ctx.retrieve(EntryKind.MEDICATION_REQUEST, f"{prefix} Depression Medications")
                if order_placed(e)
            ]
            + [
                e
                for e in ctx.retrieve(EntryKind.SERVICE_REQUEST, f"Referral for {prefix} Depression")
                if e.status in ORDER_STATUSES
            ]
            + [
                e
                for e in ctx.retrieve(EntryKind.PROCEDURE, f"Follow Up for {prefix} Depression")
                if e.status == "completed"
            ]
        )

    def negative(code: Code) -> bool:
        screen = most_recent(code)
        return screen is not None and c.DEPRESSION_SCREENING_NEGATIVE in screen.value_codes

    def positive_with_follow_up(code: Code, adolescent: bool) -> bool:
        screen = most_recent(code)
        if (
            screen is None
            or screen.start is None
            or c.DEPRESSION_SCREENING_POSITIVE not in screen.value_codes
        ):
            return False
        screen_day = screen.start.date()
        for enc in encounters:
            if enc.start is None or not (
                enc.start.date() - timedelta(days=14) <= screen_day <= enc.start.date()
            ):
                continue
            enc_period = Interval(enc.start, enc.end)
            for follow_up in follow_ups(adolescent):
                performed = follow_up.start if follow_up.kind == EntryKind.PROCEDURE else None
                authored = follow_up.authored_on if follow_up.kind != EntryKind.PROCEDURE else None
                in_encounter = performed is not None and enc_period.contains(performed)
                after_encounter = (
                    authored is not None
                    and enc.end is not None
                    and enc.end.date() <= authored.date() <= enc.end.date() + timedelta(days=2)
                )
                when = performed or authored
                if (
                    (in_encounter or after_encounter)
                    and when is not None
                    and (ctx.first_day <= when.date() <= ctx.last_day)
                ):
                    return True
        return False

    adolescent, adult = c.ADOLESCENT_DEPRESSION_SCREENING, c.ADULT_DEPRESSION_SCREENING

    def numerator() -> bool:
        age = ctx.age_at_start
        adolescent_ok = negative(adolescent) or positive_with_follow_up(adolescent, adolescent=True)
        adult_ok = negative(adult) or positive_with_follow_up(adult, adolescent=False)
        if 12 <= age <= 16:
            return adolescent_ok
        if age == 17:
            return adolescent_ok or adult_ok
        return age >= 18 and adult_ok

    def reason_not_screened(code: Code) -> bool:
        reasons = ctx.value_sets.codes("Medical Reason") | {c.DEPRESSION_SCREENING_DECLINED}
        for e in ctx.retrieve(EntryKind.OBSERVATION, code=code):
            if not (e.negated and e.status == "cancelled" and e.issued is not None):
                continue
            if e.not_done_reason.isdisjoint(reasons):
                continue
            if any(
                enc.start is not None and Interval(enc.start, enc.end).contains(e.issued)
                for enc in encounters
            ):
                return True
        return False

    def exception() -> bool:
        return (reason_not_screened(adolescent) and not screenings(adolescent)) or (
            reason_not_screened(adult) and not screenings(adult)
        )

    def evidence() -> date | None:
        dates = [e.start.date() for code in (adolescent, adult) if (e := most_recent(code)) and e.start]
        return max(dates) if dates else None

    return _Criteria(
        initial_population=initial_population,
        denominator_exclusion=exclusion,
        numerator=numerator,
        denominator_exception=exception,
        evidence_date=evidence,
        encounter_date=ctx.last_encounter_date(encounters),
        note=lambda: (
            f"most recent depression screening on {evidence()}" if evidence() else "no depression screening"
        ),
    )


MEASURE_LOGIC: dict[str, Callable[[MeasureContext], _Criteria]] = {
    "M001": _cms122,
    "M112": _cms125,
    "M113": _cms130,
    "M134": _cms2,
    "M236": _cms165,
}
SUPPORTED_MEASURES = tuple(sorted(MEASURE_LOGIC))


def evaluate(
    patient: PatientModel,
    measure_id: str,
    period: tuple[date, date],
    *,
    value_sets: ValueSetLibrary | None = None,
    context: MeasureContext | None = None,
) -> MeasurePopulations:
    """The populations of ``patient`` on ``measure_id`` (catalog id, e.g. "M001") for ``period``."""
    try:
        logic = MEASURE_LOGIC[measure_id]
    except KeyError:
        raise KeyError(
            f"no eCQM logic for measure {measure_id!r}; supported: {', '.join(SUPPORTED_MEASURES)}"
        ) from None
    ctx = context or MeasureContext(
        patient, period, default_value_sets() if value_sets is None else value_sets
    )
    criteria = logic(ctx)
    ip = criteria.initial_population
    denominator = ip
    excluded = denominator and criteria.denominator_exclusion()
    numerator = denominator and not excluded and criteria.numerator()
    exception = denominator and not excluded and not numerator and criteria.denominator_exception()
    performance: Performance | None
    note = ""
    if not denominator:
        performance, when = None, None
        note = "not in the initial population"
    elif excluded:
        performance, when = Performance.DENOMINATOR_EXCLUSION, criteria.encounter_date
        note = "denominator exclusion"
    elif numerator:
        performance, when = Performance.MET, criteria.evidence_date()
        note = criteria.note()
    elif exception:
        performance, when = Performance.DENOMINATOR_EXCEPTION, criteria.encounter_date
        note = "denominator exception"
    else:
        performance = Performance.NOT_MET
        when = criteria.evidence_date() or criteria.encounter_date
        note = criteria.note()
    values = criteria.values() if denominator and not excluded else {}
    return MeasurePopulations(
        measure_id=measure_id,
        initial_population=ip,
        denominator=denominator,
        denominator_exclusion=excluded,
        numerator=numerator,
        denominator_exception=exception,
        performance=performance,
        performance_date=when,
        note=note,
        hba1c=values.get("hba1c"),
        systolic=_whole(values.get("systolic")),
        diastolic=_whole(values.get("diastolic")),
    )


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)
