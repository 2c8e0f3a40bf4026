"""CMS2 (M134) Preventive Care and Screening: Screening for Depression and Follow-Up Plan.

PY2025: PCSDepressionScreenAndFollowUpFHIR 0.2.000 (QI-Core 4.1.1, CMS2v14).
PY2026: CMS2FHIRPCSDepressionScreenAndFollowUp 0.4.001 (QI-Core 6.0.0, CMS2v15): screenings
``final`` or ``corrected``; a follow-up medication counts only when its medicationRequestPeriod
overlaps after a qualifying encounter; bipolar history is any such condition starting before the
day of the encounter; a reason for not screening is issued during the day of the encounter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from aco_sync.ecqm import codes as c
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries.qicore_common import (
    during_days,
    latest_date,
    medication_request_period,
    period_of,
    prevalence,
    tie_break,
)
from aco_sync.ecqm.libraries.status import ORDER_STATUSES, procedure_performed
from aco_sync.ecqm.model import ClinicalEntry, EntryKind
from aco_sync.ecqm.populations import Criteria, Criterion, all_of, any_of, criterion
from aco_sync.ecqm.registry import catalog_id, register_measure
from aco_sync.ecqm.timing import Interval

CMS_ID = "CMS2"
MEASURE_ID = catalog_id(CMS_ID)
ENCOUNTER_VALUE_SETS = (
    "Encounter to Screen for Depression",
    "Physical Therapy Evaluation",
    "Telephone Visits",
)
VALUE_SETS = (
    *ENCOUNTER_VALUE_SETS,
    "Bipolar Disorder",
    "Medical Reason",
    "Adolescent Depression Medications",
    "Adult Depression Medications",
    "Referral for Adolescent Depression",
    "Referral for Adult Depression",
    "Follow Up for Adolescent Depression",
    "Follow Up for Adult Depression",
)


@dataclass(frozen=True, slots=True)
class _Version:
    screening_statuses: frozenset[str]
    bipolar_categories: frozenset[str] | None  # None: every condition of the value set
    bipolar_day_precision: bool
    reason_day_precision: bool
    reason_requires_cancelled: bool
    medication_overlaps_after_encounter: bool


PY2025 = _Version(
    screening_statuses=frozenset({"final"}),
    bipolar_categories=frozenset({"problem-list-item", "health-concern"}),
    bipolar_day_precision=False,
    reason_day_precision=False,
    reason_requires_cancelled=True,
    medication_overlaps_after_encounter=False,
)
PY2026 = _Version(
    screening_statuses=frozenset({"final", "corrected"}),
    bipolar_categories=None,
    bipolar_day_precision=True,
    reason_day_precision=True,
    reason_requires_cancelled=False,
    medication_overlaps_after_encounter=True,
)


def _criteria(ctx: MeasureContext, version: _Version) -> Criteria:
    encounters = [
        e
        for e in ctx.retrieve(EntryKind.ENCOUNTER, *ENCOUNTER_VALUE_SETS)
        if e.status == "finished" and during_days(period_of(e), ctx.first_day, ctx.last_day)
    ]
    initial_population = all_of(
        "Initial population",
        criterion(
            "age 12 or older at the start of the measurement period",
            ctx.age_at_start >= 12,
            detail=f"age {ctx.age_at_start}",
        ),
        criterion("a qualifying encounter during the measurement period", encounters),
    )

    def bipolar_before_encounter(condition: ClinicalEntry) -> bool:
        if version.bipolar_categories is not None and not (version.bipolar_categories & condition.categories):
            return False
        onset = prevalence(condition).low
        for enc in encounters:
            if enc.start is None:
                continue
            if onset is None:
                return True
            if onset.date() < enc.start.date() if version.bipolar_day_precision else onset < enc.start:
                return True
        return False

    def exclusion() -> Criterion:
        """ "History of Bipolar Diagnosis Before Qualifying Encounter"."""
        return any_of(
            "Denominator exclusion",
            criterion(
                "bipolar disorder diagnosed before a qualifying encounter",
                [
                    e
                    for e in ctx.retrieve(EntryKind.CONDITION, "Bipolar Disorder")
                    if bipolar_before_encounter(e)
                ],
            ),
        )

    def screened_before(e: ClinicalEntry, enc: ClinicalEntry) -> bool:
        """effective 14 days or less on or before day of start of the encounter."""
        day = latest_date(e)
        return (
            day is not None
            and enc.start is not None
            and enc.start.date() - timedelta(days=14) <= day <= enc.start.date()
        )

    def screened_before_encounter(e: ClinicalEntry) -> bool:
        return any(screened_before(e, enc) for enc in encounters)

    def screenings(code: Code) -> list[ClinicalEntry]:
        return [
            e
            for e in ctx.retrieve(EntryKind.OBSERVATION, code=code)
            if not e.negated
            and e.status in version.screening_statuses
            and e.has_value
            and screened_before_encounter(e)
        ]

    def most_recent(code: Code) -> ClinicalEntry | None:
        found = [e for e in screenings(code) if e.start is not None]
        return max(found, key=lambda e: (e.start, *tie_break(e))) if found else None

    def medication_follows_encounter(med: ClinicalEntry, screen: ClinicalEntry) -> bool:
        """PY2026: with a qualifying encounter such that the screening is within 14 days before it and
        ``medicationRequestPeriod() overlaps after day of`` the encounter's period."""
        supply = medication_request_period(med)
        if supply is None or supply.low is None:
            return False
        for enc in encounters:
            if enc.start is None or not screened_before(screen, enc):
                continue
            enc_end = enc.end.date() if enc.end is not None else None
            starts_by_end = enc_end is None or supply.low.date() <= enc_end
            ends_after = enc_end is not None and (supply.high is None or supply.high.date() > enc_end)
            if starts_by_end and ends_after:
                return True
        return False

    def follow_ups(adolescent: bool, screen: ClinicalEntry) -> list[ClinicalEntry]:
        prefix = "Adolescent" if adolescent else "Adult"
        medications = [
            e
            for e in ctx.retrieve(EntryKind.MEDICATION_REQUEST, f"{prefix} Depression Medications")
            if ctx.status.order_placed(e)
            and (not version.medication_overlaps_after_encounter or medication_follows_encounter(e, screen))
        ]
        return (
            medications
            + [
                e
                for e in ctx.retrieve(EntryKind.SERVICE_REQUEST, f"Referral for {prefix} Depression")
                if e.status in ORDER_STATUSES
            ]
            + [
                e
                for e in ctx.retrieve(EntryKind.PROCEDURE, f"Follow Up for {prefix} Depression")
                if procedure_performed(e)
            ]
        )

    def negative(code: Code) -> Criterion:
        screen = most_recent(code)
        met = screen is not None and c.DEPRESSION_SCREENING_NEGATIVE in screen.value_codes
        return Criterion("most recent screening negative", met, evidence=(screen,) if met and screen else ())

    def positive_with_follow_up(code: Code, adolescent: bool) -> Criterion:
        screen = most_recent(code)
        name = "most recent screening positive, with a follow-up plan"
        if (
            screen is None
            or screen.start is None
            or c.DEPRESSION_SCREENING_POSITIVE not in screen.value_codes
        ):
            return Criterion(name, False)
        follow_up = first_follow_up(screen, adolescent)
        return Criterion(
            name,
            follow_up is not None,
            evidence=(screen, follow_up) if follow_up is not None else (screen,),
            detail="" if follow_up is not None else "positive screening without a follow-up plan",
        )

    def first_follow_up(screen: ClinicalEntry, adolescent: bool) -> ClinicalEntry | None:
        candidates = follow_ups(adolescent, screen)
        for enc in encounters:
            if enc.start is None or not screened_before(screen, enc):
                continue
            enc_period = Interval(enc.start, enc.end)
            for follow_up in candidates:
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
                    and ctx.first_day <= when.date() <= ctx.last_day
                ):
                    return follow_up
        return None

    adolescent, adult = c.ADOLESCENT_DEPRESSION_SCREENING, c.ADULT_DEPRESSION_SCREENING

    def numerator() -> Criterion:
        age = ctx.age_at_start
        adolescent_ok = any_of(
            "adolescent depression screening (ages 12-17) within 14 days before a qualifying encounter",
            negative(adolescent),
            positive_with_follow_up(adolescent, adolescent=True),
        )
        adult_ok = any_of(
            "adult depression screening (age 17 or older) within 14 days before a qualifying encounter",
            negative(adult),
            positive_with_follow_up(adult, adolescent=False),
        )
        if 12 <= age <= 16:
            return all_of("Numerator", adolescent_ok)
        if age == 17:
            return any_of("Numerator", adolescent_ok, adult_ok)
        return all_of(
            "Numerator", criterion("age 18 or older at the start of the period", age >= 18), adult_ok
        )

    def reason_not_screened(code: Code) -> list[ClinicalEntry]:
        reasons = ctx.value_sets.codes("Medical Reason") | {c.DEPRESSION_SCREENING_DECLINED}
        return [
            e
            for e in ctx.retrieve(EntryKind.OBSERVATION, code=code)
            if e.issued is not None
            and not e.not_done_reason.isdisjoint(reasons)
            and reason_during_encounter(e)
        ]

    def reason_during_encounter(e: ClinicalEntry) -> bool:
        issued = e.issued
        if issued is None:
            return False
        if version.reason_requires_cancelled and not (e.negated and e.status == "cancelled"):
            return False
        for enc in encounters:
            if enc.start is None:
                continue
            if version.reason_day_precision:
                if enc.start.date() <= issued.date() and (enc.end is None or issued.date() <= enc.end.date()):
                    return True
            elif Interval(enc.start, enc.end).contains(issued):
                return True
        return False

    def exception() -> Criterion:
        def unscreened_with_reason(label: str, code: Code) -> Criterion:
            return all_of(
                f"{label}: a medical reason or refusal for not screening during a qualifying encounter, "
                "and no screening",
                criterion(f"{label}: medical reason or refusal documented", reason_not_screened(code)),
                criterion(
                    f"{label}: no screening within 14 days before a qualifying encounter",
                    not screenings(code),
                ),
            )

        return any_of(
            "Denominator exception",
            unscreened_with_reason("adolescent screening", adolescent),
            unscreened_with_reason("adult screening", adult),
        )

    def evidence() -> date | None:
        dates = [e.start.date() for code in (adolescent, adult) if (e := most_recent(code)) and e.start]
        return max(dates) if dates else None

    def note() -> str:
        return (
            f"most recent depression screening on {evidence()}" if evidence() else "no depression screening"
        )

    return Criteria.from_encounters(
        encounters, initial_population, exclusion, numerator, evidence, note=note, exception=exception
    )


register_measure(
    MEASURE_ID,
    CMS_ID,
    {
        2025: ("PCSDepressionScreenAndFollowUpFHIR 0.2.000", lambda ctx: _criteria(ctx, PY2025), VALUE_SETS),
        2026: (
            "CMS2FHIRPCSDepressionScreenAndFollowUp 0.4.001",
            lambda ctx: _criteria(ctx, PY2026),
            VALUE_SETS,
        ),
    },
)
