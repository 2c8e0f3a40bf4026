"""CMS165 (M236) Controlling High Blood Pressure.

PY2025: ControllingHighBloodPressureFHIR 0.1.000 (QI-Core 4.1.1, CMS165v13): readings during the
period whose ``Observation.encounter`` is not an emergency/inpatient class.
PY2026: CMS165FHIRControllingHighBloodPressure 0.5.000 (QI-Core 6.0.0, CMS165v14): the qualifying
readings are the union of (a) readings whose day is not within a performed "Encounter Inpatient" or
"Emergency Department Evaluation and Management Visit" (the CQL sets no period bound on this part)
and (b) the PY2025 readings; verified diagnoses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from aco_sync.ecqm import codes as c
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries import adult_outpatient_encounters as aoe
from aco_sync.ecqm.libraries import advanced_illness_frailty as aif
from aco_sync.ecqm.libraries import hospice, palliative_care
from aco_sync.ecqm.libraries.qicore_common import ends_on_or_before, latest_date, period_of, prevalence
from aco_sync.ecqm.libraries.status import FINAL_STATUSES, procedure_performed
from aco_sync.ecqm.model import ClinicalEntry, EntryKind
from aco_sync.ecqm.populations import Criteria, Criterion, all_of, any_of, criterion
from aco_sync.ecqm.registry import catalog_id, register_measure
from aco_sync.ecqm.timing import add_months

CMS_ID = "CMS165"
MEASURE_ID = catalog_id(CMS_ID)
NON_OUTPATIENT_BP_ENCOUNTER_CLASSES = frozenset({"EMER", "IMP", "ACUTE", "NONAC", "PRENC", "SS"})
DISQUALIFYING_ENCOUNTERS = ("Encounter Inpatient", "Emergency Department Evaluation and Management Visit")
VALUE_SETS = (
    *aoe.VALUE_SETS,
    *hospice.VALUE_SETS,
    *palliative_care.VALUE_SETS,
    *aif.VALUE_SETS,
    *DISQUALIFYING_ENCOUNTERS,
    "Chronic Kidney Disease, Stage 5",
    "Dialysis Services",
    "ESRD Monthly Outpatient Services",
    "End Stage Renal Disease",
    "Essential Hypertension",
    "Kidney Transplant",
    "Kidney Transplant Recipient",
    "Pregnancy",
)


def _component_value(e: ClinicalEntry, code: Code) -> float | None:
    if code in e.codes and e.value_quantity is not None:
        return e.value_quantity.value
    for component in e.components:
        if code in component.codes and component.quantity is not None:
            return component.quantity.value
    return None


def is_bp_reading(e: ClinicalEntry, code: Code) -> bool:
    """Part of the blood-pressure profile retrieve for the given component: a blood pressure panel,
    or (QRDA-I / QDM) a separate systolic or diastolic physical exam."""
    if not e.codes.isdisjoint(c.BP_PANEL_CODES):
        return True
    if code in e.codes:
        return True
    return any(code in comp.codes for comp in e.components)


Reading = tuple[date, float | None, ClinicalEntry]  # day, value of the component, the record
Readings = Callable[[MeasureContext, Code], list[Reading]]


def _outpatient_readings(ctx: MeasureContext, code: Code) -> list[ClinicalEntry]:
    """Readings during the period whose encounter (by reference) is not emergency/inpatient."""
    encounter_class = {e.id: e.encounter_class for e in ctx.entries(EntryKind.ENCOUNTER) if e.id}
    result = []
    for e in ctx.entries(EntryKind.OBSERVATION):
        if e.status not in FINAL_STATUSES or not is_bp_reading(e, code):
            continue
        if encounter_class.get(e.encounter_id, "") in NON_OUTPATIENT_BP_ENCOUNTER_CLASSES:
            continue
        day = latest_date(e)
        if day is not None and ctx.first_day <= day <= ctx.last_day:
            result.append(e)
    return result


def readings_2025(ctx: MeasureContext, code: Code) -> list[Reading]:
    """PY2025 "Qualifying Systolic/Diastolic Blood Pressure Reading": (day, value, record)."""
    return [
        (d, _component_value(e, code), e) for e in _outpatient_readings(ctx, code) if (d := latest_date(e))
    ]


def readings_2026(ctx: MeasureContext, code: Code) -> list[Reading]:
    """PY2026 "Qualifying Systolic/Diastolic Blood Pressure Reading": (day, value, record)."""
    disqualifying = [
        e
        for e in ctx.retrieve(EntryKind.ENCOUNTER, *DISQUALIFYING_ENCOUNTERS)
        if ctx.status.encounter_performed(e) and e.start is not None
    ]

    def within_disqualifying(day: date) -> bool:
        return any(
            enc.start is not None and enc.start.date() <= day and (enc.end is None or day <= enc.end.date())
            for enc in disqualifying
        )

    chosen: dict[int, ClinicalEntry] = {}
    for e in ctx.entries(EntryKind.OBSERVATION):
        if e.status in FINAL_STATUSES and is_bp_reading(e, code):
            day = latest_date(e)
            if day is not None and not within_disqualifying(day):
                chosen[id(e)] = e
    for e in _outpatient_readings(ctx, code):
        chosen[id(e)] = e
    return [(d, _component_value(e, code), e) for e in chosen.values() if (d := latest_date(e))]


def _criteria(ctx: MeasureContext, qualifying_readings: Readings) -> Criteria:
    encounters = aoe.qualifying_encounters(ctx)
    six_months = add_months(ctx.mp_start, 6)
    initial_population = all_of(
        "Initial population",
        criterion(
            "age 18-85 at the end of the measurement period",
            18 <= ctx.age_at_end <= 85,
            detail=f"age {ctx.age_at_end}",
        ),
        criterion(
            "essential hypertension overlapping the first six months of the measurement period",
            [
                e
                for e in ctx.conditions("Essential Hypertension")
                if prevalence(e).overlaps(ctx.mp_start, six_months, high_open=True)
            ],
        ),
        aoe.has_qualifying_encounter(encounters),
    )

    def exclusion() -> Criterion:
        return any_of(
            "Denominator exclusion",
            hospice.has_hospice_services(ctx),
            criterion(
                "pregnancy, end stage renal disease, kidney transplant or CKD stage 5 during the period",
                [
                    e
                    for e in ctx.conditions(
                        "Pregnancy",
                        "End Stage Renal Disease",
                        "Kidney Transplant Recipient",
                        "Chronic Kidney Disease, Stage 5",
                    )
                    if prevalence(e).overlaps(ctx.mp_start, ctx.mp_end)
                ],
            ),
            criterion(
                "kidney transplant or dialysis by the end of the period",
                [
                    e
                    for e in ctx.retrieve(EntryKind.PROCEDURE, "Kidney Transplant", "Dialysis Services")
                    if procedure_performed(e) and ends_on_or_before(period_of(e), ctx.mp_end)
                ],
            ),
            criterion(
                "ESRD monthly outpatient services by the end of the period",
                [
                    e
                    for e in ctx.retrieve(EntryKind.ENCOUNTER, "ESRD Monthly Outpatient Services")
                    if ctx.status.encounter_performed(e) and e.start is not None and e.start <= ctx.mp_end
                ],
            ),
            aif.is_66_to_80_with_illness_and_frailty_or_81_with_frailty(ctx),
            aif.is_66_or_older_in_nursing_home(ctx),
            palliative_care.has_palliative_care(ctx),
        )

    def readings(code: Code) -> list[Reading]:
        return ctx.memo(f"bp-{code.code}", lambda: qualifying_readings(ctx, code))  # type: ignore[return-value]

    def most_recent_day() -> date | None:
        days = {d for d, _, _ in readings(c.SYSTOLIC_BP)} & {d for d, _, _ in readings(c.DIASTOLIC_BP)}
        return max(days) if days else None

    def lowest(code: Code, day: date) -> float | None:
        values = [v for d, v, _ in readings(code) if d == day]
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

    def readings_on(day: date) -> tuple[ClinicalEntry, ...]:
        """The qualifying blood pressure records of the day (the evidence of the numerator)."""
        found = {
            id(e): e for code in (c.SYSTOLIC_BP, c.DIASTOLIC_BP) for d, _, e in readings(code) if d == day
        }
        return tuple(found.values())

    def numerator() -> Criterion:
        day = most_recent_day()
        met, note = outcome()
        evidence = readings_on(day) if day is not None else ()
        return all_of(
            "Numerator",
            Criterion("a qualifying blood pressure reading during the measurement period", day is not None),
            Criterion(
                "lowest systolic < 140 and lowest diastolic < 90 mmHg on the most recent reading day",
                met,
                evidence=evidence,
                detail=note,
            ),
        )

    def values() -> dict[str, float | None]:
        day = most_recent_day()
        if day is None:
            return {}
        return {"systolic": lowest(c.SYSTOLIC_BP, day), "diastolic": lowest(c.DIASTOLIC_BP, day)}

    def note() -> str:
        return outcome()[1]

    return Criteria.from_encounters(
        encounters, initial_population, exclusion, numerator, most_recent_day, note=note, values=values
    )


register_measure(
    MEASURE_ID,
    CMS_ID,
    {
        2025: (
            "ControllingHighBloodPressureFHIR 0.1.000",
            lambda ctx: _criteria(ctx, readings_2025),
            VALUE_SETS,
        ),
        2026: (
            "CMS165FHIRControllingHighBloodPressure 0.5.000",
            lambda ctx: _criteria(ctx, readings_2026),
            VALUE_SETS,
        ),
    },
)
