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
from aco_sync.ecqm.timing import add_years, point

VALUE_SETS = (
    "Advanced Illness",
    "Dementia Medications",
    "Frailty Device",
    "Frailty Diagnosis",
    "Frailty Encounter",
    "Frailty Symptom",
)


def has_frailty(ctx: MeasureContext) -> bool:
    """AIFrailLTCF."Has Criteria Indicating Frailty"."""
    first, last, status = ctx.first_day, ctx.last_day, ctx.status
    return (
        any(
            status.device_ordered(e) and during_days(point(e.authored_on), first, last)
            for e in ctx.retrieve(EntryKind.DEVICE_REQUEST, "Frailty Device")
        )
        or any(
            status.assessment_performed(e)
            and ctx.in_value_set(e.value_codes, "Frailty Device")
            and ends_during_days(period_of(e), first, last)
            for e in ctx.retrieve(EntryKind.OBSERVATION, code=c.MEDICAL_EQUIPMENT_USED)
        )
        or any(prevalence(e).overlaps_days(first, last) for e in ctx.conditions("Frailty Diagnosis"))
        or any(
            status.encounter_performed(e) and overlaps_days(period_of(e), first, last)
            for e in ctx.retrieve(EntryKind.ENCOUNTER, "Frailty Encounter")
        )
        or any(
            symptom(e) and overlaps_days(period_of(e), first, last)
            for e in ctx.retrieve(EntryKind.OBSERVATION, "Frailty Symptom")
        )
    )


def has_advanced_illness_or_dementia_medication(ctx: MeasureContext) -> bool:
    """ "Has Advanced Illness in Year Before or During Measurement Period" or
    "Has Dementia Medications in Year Before or During Measurement Period"."""
    first, last = add_years(ctx.first_day, -1), ctx.last_day
    if any(prevalence(e).starts_during_days(first, last) for e in ctx.conditions("Advanced Illness")):
        return True
    for med in ctx.retrieve(EntryKind.MEDICATION_REQUEST, "Dementia Medications"):
        if ctx.status.medication_active(med):
            supply_period = medication_request_period(med)
            if supply_period is not None and supply_period.overlaps_days(first, last):
                return True
    return False


def is_66_or_older_with_advanced_illness_and_frailty(ctx: MeasureContext) -> bool:
    return ctx.age_at_end >= 66 and has_frailty(ctx) and has_advanced_illness_or_dementia_medication(ctx)


def is_66_to_80_with_illness_and_frailty_or_81_with_frailty(ctx: MeasureContext) -> bool:
    if 66 <= ctx.age_at_end <= 80:
        return has_frailty(ctx) and has_advanced_illness_or_dementia_medication(ctx)
    return ctx.age_at_end >= 81 and has_frailty(ctx)


def is_66_or_older_in_nursing_home(ctx: MeasureContext) -> bool:
    """AIFrailLTCF."Is Age 66 or Older Living Long Term in a Nursing Home"."""
    if ctx.age_at_end < 66:
        return False
    housing = [
        e
        for e in ctx.retrieve(EntryKind.OBSERVATION, code=c.HOUSING_STATUS)
        if ctx.status.assessment_performed(e) and ends_on_or_before_day(period_of(e), ctx.last_day)
    ]
    if not housing:
        return False
    last_status = max(housing, key=lambda e: (e.latest or ctx.mp_start, *tie_break(e)))
    return c.LIVES_IN_NURSING_HOME in last_status.value_codes
