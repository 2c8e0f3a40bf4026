"""AdvancedIllnessandFrailty (AIFrailLTCF; 1.16.000 PY2025, 1.27.000 PY2026)."""

from __future__ import annotations

from aco_sync.ecqm import codes as c
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries.qicore_common import (
    during_days,
    ends_during_days,
    ends_on_or_before_day,
    medication_request_period,
    overlaps_days,
    period_of,
    prevalence,
    tie_break,
)
from aco_sync.ecqm.libraries.status import symptom
from aco_sync.ecqm.model import EntryKind
from aco_sync.ecqm.populations import Criterion, all_of, any_of, criterion
from aco_sync.ecqm.timing import add_years, point

VALUE_SETS = (
    "Advanced Illness",
    "Dementia Medications",
    "Frailty Device",
    "Frailty Diagnosis",
    "Frailty Encounter",
    "Frailty Symptom",
)


def has_frailty(ctx: MeasureContext) -> Criterion:
    """AIFrailLTCF."Has Criteria Indicating Frailty" (the records as evidence)."""
    return ctx.memo("frailty", lambda: _frailty(ctx))  # type: ignore[return-value]


def _frailty(ctx: MeasureContext) -> Criterion:
    first, last, status = ctx.first_day, ctx.last_day, ctx.status
    found = (
        [
            e
            for e in ctx.retrieve(EntryKind.DEVICE_REQUEST, "Frailty Device")
            if status.device_ordered(e) and during_days(point(e.authored_on), first, last)
        ]
        + [
            e
            for e in ctx.retrieve(EntryKind.OBSERVATION, code=c.MEDICAL_EQUIPMENT_USED)
            if status.assessment_performed(e)
            and ctx.in_value_set(e.value_codes, "Frailty Device")
            and ends_during_days(period_of(e), first, last)
        ]
        + ctx.conditions_in_period("Frailty Diagnosis")
        + ctx.encounters_in_period("Frailty Encounter")
        + [
            e
            for e in ctx.retrieve(EntryKind.OBSERVATION, "Frailty Symptom")
            if symptom(e) and overlaps_days(period_of(e), first, last)
        ]
    )
    return criterion("frailty during the measurement period", found)


def has_advanced_illness_or_dementia_medication(ctx: MeasureContext) -> Criterion:
    """ "Has Advanced Illness in Year Before or During Measurement Period" or
    "Has Dementia Medications in Year Before or During Measurement Period"."""
    return ctx.memo("advanced_illness", lambda: _advanced_illness(ctx))  # type: ignore[return-value]


def _advanced_illness(ctx: MeasureContext) -> Criterion:
    first, last = add_years(ctx.first_day, -1), ctx.last_day
    illness = [e for e in ctx.conditions("Advanced Illness") if prevalence(e).starts_during_days(first, last)]
    medications = []
    for med in ctx.retrieve(EntryKind.MEDICATION_REQUEST, "Dementia Medications"):
        if ctx.status.medication_active(med):
            supply_period = medication_request_period(med)
            if supply_period is not None and supply_period.overlaps_days(first, last):
                medications.append(med)
    return any_of(
        "advanced illness or dementia medication in the year before or during the measurement period",
        criterion("advanced illness in the year before or during the measurement period", illness),
        criterion("dementia medication in the year before or during the measurement period", medications),
    )


def _age_at_least(ctx: MeasureContext, years: int) -> Criterion:
    return criterion(f"age {years} or older at the end of the measurement period", ctx.age_at_end >= years)


def is_66_or_older_with_advanced_illness_and_frailty(ctx: MeasureContext) -> Criterion:
    return all_of(
        "age 66 or older with advanced illness and frailty",
        _age_at_least(ctx, 66),
        has_frailty(ctx),
        has_advanced_illness_or_dementia_medication(ctx),
    )


def is_66_to_80_with_illness_and_frailty_or_81_with_frailty(ctx: MeasureContext) -> Criterion:
    age = ctx.age_at_end
    return any_of(
        "age 66-80 with advanced illness and frailty, or 81 or older with frailty",
        all_of(
            "age 66-80 with advanced illness and frailty",
            criterion("age 66-80 at the end of the measurement period", 66 <= age <= 80),
            has_frailty(ctx),
            has_advanced_illness_or_dementia_medication(ctx),
        ),
        all_of("age 81 or older with frailty", _age_at_least(ctx, 81), has_frailty(ctx)),
    )


def is_66_or_older_in_nursing_home(ctx: MeasureContext) -> Criterion:
    """AIFrailLTCF."Is Age 66 or Older Living Long Term in a Nursing Home" (the deciding housing
    status assessment as evidence)."""
    return ctx.memo("nursing_home", lambda: _nursing_home(ctx))  # type: ignore[return-value]


def _nursing_home(ctx: MeasureContext) -> Criterion:
    name = "age 66 or older living long term in a nursing home"
    housing = [
        e
        for e in ctx.retrieve(EntryKind.OBSERVATION, code=c.HOUSING_STATUS)
        if ctx.status.assessment_performed(e) and ends_on_or_before_day(period_of(e), ctx.last_day)
    ]
    last_status = max(housing, key=lambda e: (e.latest or ctx.mp_start, *tie_break(e))) if housing else None
    in_nursing_home = last_status is not None and c.LIVES_IN_NURSING_HOME in last_status.value_codes
    return all_of(
        name,
        _age_at_least(ctx, 66),
        Criterion(
            "most recent housing status: lives in a nursing home",
            in_nursing_home,
            evidence=(last_status,) if last_status is not None else (),
        ),
    )
