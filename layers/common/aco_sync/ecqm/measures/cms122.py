"""CMS122 (M001) Diabetes: Glycemic Status Assessment Greater Than 9%.

PY2025: DiabetesGlycemicStatusAssessmentGreaterThan9PercentFHIR 0.1.002 (QI-Core 4.1.1, CMS122v13);
PY2026: CMS122FHIRDiabetesAssessGreaterThan9Percent 0.5.000 (QI-Core 6.0.0, CMS122v14): its own
"Qualifying Encounters" (no Virtual Encounter; Nutrition Services and five medical nutrition therapy
codes added) and verified diabetes diagnoses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from aco_sync.ecqm import codes as c
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries import adult_outpatient_encounters as aoe
from aco_sync.ecqm.libraries import advanced_illness_frailty as aif
from aco_sync.ecqm.libraries import hospice, palliative_care
from aco_sync.ecqm.libraries.qicore_common import during_days, latest_date, period_of
from aco_sync.ecqm.model import ClinicalEntry, EntryKind
from aco_sync.ecqm.populations import Criteria, Criterion, all_of, any_of, criterion
from aco_sync.ecqm.registry import catalog_id, register_measure

CMS_ID = "CMS122"
MEASURE_ID = catalog_id(CMS_ID)
SHARED_VALUE_SETS = (*hospice.VALUE_SETS, *palliative_care.VALUE_SETS, *aif.VALUE_SETS)
VALUE_SETS_2025 = (*aoe.VALUE_SETS, "Diabetes", "HbA1c Laboratory Test", *SHARED_VALUE_SETS)
ENCOUNTER_VALUE_SETS_2026 = (
    "Office Visit",
    "Annual Wellness Visit",
    "Preventive Care Services Established Office Visit, 18 and Up",
    "Preventive Care Services Initial Office Visit, 18 and Up",
    "Home Healthcare Services",
    "Nutrition Services",
    "Telephone Visits",
)
VALUE_SETS_2026 = (*ENCOUNTER_VALUE_SETS_2026, "Diabetes", "HbA1c Laboratory Test", *SHARED_VALUE_SETS)


def qualifying_encounters_2026(ctx: MeasureContext) -> list[ClinicalEntry]:
    """CMS122 PY2026 "Qualifying Encounters" (the measure's own, not AdultOutpatientEncounters')."""
    wanted = ctx.value_sets.union(*ENCOUNTER_VALUE_SETS_2026) | c.MEDICAL_NUTRITION_THERAPY
    return [
        e
        for e in ctx.entries(EntryKind.ENCOUNTER)
        if not e.codes.isdisjoint(wanted)
        and ctx.status.encounter_performed(e)
        and during_days(period_of(e), ctx.first_day, ctx.last_day)
    ]


def _comparable_percent(e: ClinicalEntry) -> float | None:
    """``value as Quantity`` usable in ``> 9 '%'``: None for no value, a non-Quantity value or a
    unit that is not a percentage (the CQL comparison is then null)."""
    if e.value_quantity is None or e.value_quantity.unit not in ("%", ""):
        return None
    return e.value_quantity.value


def _criteria(ctx: MeasureContext, encounters: list[ClinicalEntry]) -> Criteria:
    initial_population = all_of(
        "Initial population",
        criterion(
            "age 18-75 at the end of the measurement period",
            18 <= ctx.age_at_end <= 75,
            detail=f"age {ctx.age_at_end}",
        ),
        aoe.has_qualifying_encounter(encounters, "a qualifying encounter during the measurement period"),
        criterion(
            "diabetes overlapping the measurement period",
            ctx.conditions_in_period("Diabetes"),
        ),
    )

    def exclusion() -> Criterion:
        return any_of(
            "Denominator exclusion",
            hospice.has_hospice_services(ctx),
            aif.is_66_or_older_in_nursing_home(ctx),
            aif.is_66_or_older_with_advanced_illness_and_frailty(ctx),
            palliative_care.has_palliative_care(ctx),
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
            if ctx.status.lab_test_performed(e)
            and e.latest is not None
            and ctx.first_day <= e.latest.date() <= ctx.last_day
        ]

    def most_recent_day() -> date | None:
        days = [d for d in map(latest_date, assessments()) if d is not None]
        return max(days) if days else None

    def outcome() -> tuple[bool, str]:
        day = most_recent_day()
        if day is None:
            return True, "no glycemic status assessment in the period (numerator: missing)"
        readings = [e for e in assessments() if latest_date(e) == day]
        # "Lowest ... on Most Recent Day" sorts by ``value as Quantity``: a reading without a usable
        # Quantity sorts first. Without any value it is "without result" (numerator); with a value
        # that is not a comparable Quantity, "> 9 '%'" is null and the numerator is not met.
        if any(not e.has_value for e in readings):
            return True, f"most recent glycemic status assessment ({day}) has no result (numerator)"
        values = [_comparable_percent(e) for e in readings]
        if any(v is None for v in values):
            return False, f"most recent glycemic status assessment ({day}) has no result in %"
        lowest = min(v for v in values if v is not None)
        if lowest > 9:
            return True, f"most recent glycemic status {lowest:g}% on {day} is > 9% (numerator)"
        return False, f"most recent glycemic status {lowest:g}% on {day} is <= 9%"

    def numerator() -> Criterion:
        day = most_recent_day()
        met, note = outcome()
        return Criterion(
            "most recent glycemic status assessment in the period is > 9%, has no result, or is missing",
            met,
            evidence=tuple(e for e in assessments() if latest_date(e) == day) if day else (),
            detail=note,
        )

    def values() -> dict[str, float | None]:
        day = most_recent_day()
        found = [e.value_quantity.value for e in assessments() if latest_date(e) == day and e.value_quantity]
        return {"hba1c": min(found) if found else None}

    def note() -> str:
        return outcome()[1]

    return Criteria.from_encounters(
        encounters, initial_population, exclusion, numerator, most_recent_day, note=note, values=values
    )


def _logic(
    encounters: Callable[[MeasureContext], list[ClinicalEntry]],
) -> Callable[[MeasureContext], Criteria]:
    return lambda ctx: _criteria(ctx, encounters(ctx))


register_measure(
    MEASURE_ID,
    CMS_ID,
    {
        2025: (
            "DiabetesGlycemicStatusAssessmentGreaterThan9PercentFHIR 0.1.002",
            _logic(aoe.qualifying_encounters),
            VALUE_SETS_2025,
        ),
        2026: (
            "CMS122FHIRDiabetesAssessGreaterThan9Percent 0.5.000",
            _logic(qualifying_encounters_2026),
            VALUE_SETS_2026,
        ),
    },
)
