"""CMS125 (M112) Breast Cancer Screening.

PY2025: BreastCancerScreeningFHIR (QI-Core 4.1.1, CMS125v13): women 52-74 (administrative gender).
PY2026: CMS125FHIRBreastCancerScreening (QI-Core 6.0.0, CMS125v14): ages 42-74 and ``Patient.sex``
(us-core-sex, SNOMED CT 248152002 female); mammography must be an imaging result; verified diagnoses.
"""

from __future__ import annotations

from datetime import date

from aco_sync.domain.records import Gender
from aco_sync.ecqm import codes as c
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries import adult_outpatient_encounters as aoe
from aco_sync.ecqm.libraries import advanced_illness_frailty as aif
from aco_sync.ecqm.libraries import hospice, palliative_care
from aco_sync.ecqm.libraries.qicore_common import ends_during_days, ends_on_or_before, period_of, prevalence
from aco_sync.ecqm.libraries.status import procedure_performed
from aco_sync.ecqm.model import ClinicalEntry, EntryKind
from aco_sync.ecqm.populations import Criteria, Criterion, all_of, any_of, criterion
from aco_sync.ecqm.registry import catalog_id, register_measure

CMS_ID = "CMS125"
MEASURE_ID = catalog_id(CMS_ID)
VALUE_SETS = (
    *aoe.VALUE_SETS,
    *hospice.VALUE_SETS,
    *palliative_care.VALUE_SETS,
    *aif.VALUE_SETS,
    "Bilateral Mastectomy",
    "History of bilateral mastectomy",
    "Mammography",
    "Status Post Left Mastectomy",
    "Status Post Right Mastectomy",
    "Unilateral Mastectomy Left",
    "Unilateral Mastectomy Right",
    "Unilateral Mastectomy, Unspecified Laterality",
)


def _demographics_2025(ctx: MeasureContext) -> tuple[Criterion, ...]:
    return (
        criterion(
            "age 52-74 at the end of the measurement period",
            52 <= ctx.age_at_end <= 74,
            detail=f"age {ctx.age_at_end}",
        ),
        criterion("female (administrative gender)", ctx.patient.gender == Gender.FEMALE),
    )


def _demographics_2026(ctx: MeasureContext) -> tuple[Criterion, ...]:
    return (
        criterion(
            "age 42-74 at the end of the measurement period",
            42 <= ctx.age_at_end <= 74,
            detail=f"age {ctx.age_at_end}",
        ),
        criterion("sex female (us-core-sex)", ctx.patient.sex == c.FEMALE_FINDING.code),
    )


def _criteria(ctx: MeasureContext, demographics: tuple[Criterion, ...]) -> Criteria:
    encounters = aoe.qualifying_encounters(ctx)
    initial_population = all_of("Initial population", *demographics, aoe.has_qualifying_encounter(encounters))

    def condition_before_end(name: str, value_set: str, site: Code | None = None) -> Criterion:
        return criterion(
            name,
            [
                e
                for e in ctx.conditions(value_set)
                if prevalence(e).starts_on_or_before(ctx.mp_end) and (site is None or site in e.body_sites)
            ],
        )

    def procedure_before_end(name: str, value_set: str) -> Criterion:
        return criterion(
            name,
            [
                e
                for e in ctx.retrieve(EntryKind.PROCEDURE, value_set)
                if procedure_performed(e) and ends_on_or_before(period_of(e), ctx.mp_end)
            ],
        )

    def exclusion() -> Criterion:
        unspecified = "Unilateral Mastectomy, Unspecified Laterality"
        right = any_of(
            "right mastectomy by the end of the period",
            condition_before_end("status post right mastectomy", "Status Post Right Mastectomy"),
            condition_before_end("unilateral mastectomy, right side", unspecified, c.RIGHT_QUALIFIER),
            procedure_before_end("unilateral mastectomy right", "Unilateral Mastectomy Right"),
        )
        left = any_of(
            "left mastectomy by the end of the period",
            condition_before_end("status post left mastectomy", "Status Post Left Mastectomy"),
            condition_before_end("unilateral mastectomy, left side", unspecified, c.LEFT_QUALIFIER),
            procedure_before_end("unilateral mastectomy left", "Unilateral Mastectomy Left"),
        )
        return any_of(
            "Denominator exclusion",
            hospice.has_hospice_services(ctx),
            all_of("right and left mastectomy by the end of the period", right, left),
            condition_before_end(
                "history of bilateral mastectomy by the end of the period", "History of bilateral mastectomy"
            ),
            procedure_before_end("bilateral mastectomy by the end of the period", "Bilateral Mastectomy"),
            aif.is_66_or_older_with_advanced_illness_and_frailty(ctx),
            aif.is_66_or_older_in_nursing_home(ctx),
            palliative_care.has_palliative_care(ctx),
        )

    # "October 1 Two Years Prior to the Measurement Period"
    window_start = date(ctx.first_day.year - 2, 10, 1)

    def mammograms() -> list[ClinicalEntry]:
        return [
            e
            for e in ctx.retrieve(EntryKind.OBSERVATION, "Mammography")
            if ctx.status.diagnostic_study_performed(e)
            and ends_during_days(period_of(e), window_start, ctx.last_day)
            and e.end is not None
        ]

    def mammogram_dates() -> list[date]:
        return [e.end.date() for e in mammograms() if e.end is not None]

    def numerator() -> Criterion:
        return criterion(
            f"mammography from {window_start} to the end of the measurement period", mammograms()
        )

    def evidence() -> date | None:
        found = mammogram_dates()
        return max(found) if found else None

    def note() -> str:
        return f"mammography on {evidence()}" if evidence() else "no mammography since " + str(window_start)

    return Criteria.from_encounters(encounters, initial_population, exclusion, numerator, evidence, note=note)


register_measure(
    MEASURE_ID,
    CMS_ID,
    {
        2025: (
            "BreastCancerScreeningFHIR 0.0.001",
            lambda ctx: _criteria(ctx, _demographics_2025(ctx)),
            VALUE_SETS,
        ),
        2026: (
            "CMS125FHIRBreastCancerScreening 0.4.000",
            lambda ctx: _criteria(ctx, _demographics_2026(ctx)),
            VALUE_SETS,
        ),
    },
)
