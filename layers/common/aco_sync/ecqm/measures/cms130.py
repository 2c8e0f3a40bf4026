"""CMS130 (M113) Colorectal Cancer Screening.

PY2025: ColonCancerScreeningFHIR 0.1.000 (QI-Core 4.1.1, CMS130v13); PY2026:
CMS130FHIRColorectalCancerScreening 0.4.000 (QI-Core 6.0.0, CMS130v14): verified diagnoses, CT
colonography must be an imaging result. The logic is otherwise the same.
"""

from __future__ import annotations

from datetime import date

from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries import adult_outpatient_encounters as aoe
from aco_sync.ecqm.libraries import advanced_illness_frailty as aif
from aco_sync.ecqm.libraries import hospice, palliative_care
from aco_sync.ecqm.libraries.qicore_common import (
    ends_during_days,
    ends_on_or_before_day,
    latest_date,
    period_of,
    prevalence,
)
from aco_sync.ecqm.libraries.status import procedure_performed
from aco_sync.ecqm.model import ClinicalEntry, EntryKind
from aco_sync.ecqm.populations import Criteria, Criterion, all_of, any_of, criterion
from aco_sync.ecqm.registry import catalog_id, register_measure
from aco_sync.ecqm.timing import add_years

CMS_ID = "CMS130"
MEASURE_ID = catalog_id(CMS_ID)
VALUE_SETS = (
    *aoe.VALUE_SETS,
    *hospice.VALUE_SETS,
    *palliative_care.VALUE_SETS,
    *aif.VALUE_SETS,
    "CT Colonography",
    "Colonoscopy",
    "Fecal Occult Blood Test (FOBT)",
    "Flexible Sigmoidoscopy",
    "Malignant Neoplasm of Colon",
    "Total Colectomy",
    "sDNA FIT Test",
)


def criteria(ctx: MeasureContext) -> Criteria:
    encounters = aoe.qualifying_encounters(ctx)
    initial_population = all_of(
        "Initial population",
        criterion(
            "age 46-75 at the end of the measurement period",
            46 <= ctx.age_at_end <= 75,
            detail=f"age {ctx.age_at_end}",
        ),
        aoe.has_qualifying_encounter(encounters),
    )
    status = ctx.status

    def exclusion() -> Criterion:
        return any_of(
            "Denominator exclusion",
            hospice.has_hospice_services(ctx),
            criterion(
                "colorectal cancer starting by the end of the measurement period",
                [
                    e
                    for e in ctx.conditions("Malignant Neoplasm of Colon")
                    if prevalence(e).low is None or prevalence(e).low.date() <= ctx.last_day  # type: ignore[union-attr]
                ],
            ),
            criterion(
                "total colectomy by the end of the measurement period",
                [
                    e
                    for e in ctx.retrieve(EntryKind.PROCEDURE, "Total Colectomy")
                    if procedure_performed(e) and ends_on_or_before_day(period_of(e), ctx.last_day)
                ],
            ),
            aif.is_66_or_older_with_advanced_illness_and_frailty(ctx),
            aif.is_66_or_older_in_nursing_home(ctx),
            palliative_care.has_palliative_care(ctx),
        )

    def years_back(n: int) -> date:
        return add_years(ctx.first_day, -n)

    def screening_criteria() -> list[tuple[str, str, list[tuple[date, ClinicalEntry]]]]:
        """Each kind of screening of the numerator with its look-back, and the screenings found."""

        def lab_tests(value_set: str, since: date) -> list[tuple[date, ClinicalEntry]]:
            """The lab tests of the value set performed with a result from ``since`` to the period's end."""
            return [
                (day, e)
                for e in ctx.retrieve(EntryKind.OBSERVATION, value_set)
                if (day := latest_date(e))
                and status.lab_test_performed(e)
                and e.has_value
                and since <= day <= ctx.last_day
            ]

        found = [
            (
                "FOBT",
                "FOBT during the measurement period",
                lab_tests("Fecal Occult Blood Test (FOBT)", ctx.first_day),
            ),
            (
                "sDNA FIT test",
                "sDNA FIT test during the period or the 2 years before",
                lab_tests("sDNA FIT Test", years_back(2)),
            ),
        ]
        for value_set, years, label in (
            ("Flexible Sigmoidoscopy", 4, "flexible sigmoidoscopy"),
            ("Colonoscopy", 9, "colonoscopy"),
        ):
            found.append(
                (
                    label,
                    f"{label} during the period or the {years} years before",
                    [
                        (e.end.date() if e.end else ctx.last_day, e)
                        for e in ctx.retrieve(EntryKind.PROCEDURE, value_set)
                        if procedure_performed(e)
                        and ends_during_days(period_of(e), years_back(years), ctx.last_day)
                    ],
                )
            )
        found.append(
            (
                "CT colonography",
                "CT colonography during the period or the 4 years before",
                [
                    (e.end.date() if e.end else ctx.last_day, e)
                    for e in ctx.retrieve(EntryKind.OBSERVATION, "CT Colonography")
                    if status.diagnostic_study_performed(e)
                    and ends_during_days(period_of(e), years_back(4), ctx.last_day)
                ],
            )
        )
        return found

    def by_kind() -> list[tuple[str, str, list[tuple[date, ClinicalEntry]]]]:
        return ctx.memo("colorectal_screenings", screening_criteria)  # type: ignore[return-value]

    def screenings() -> list[tuple[date, str]]:
        return sorted((day, label) for label, _, found in by_kind() for day, _ in found)

    def numerator() -> Criterion:
        return any_of(
            "a colorectal cancer screening in its look-back",
            *(criterion(name, [e for _, e in found]) for _, name, found in by_kind()),
        )

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

    return Criteria.from_encounters(encounters, initial_population, exclusion, numerator, evidence, note=note)


register_measure(
    MEASURE_ID,
    CMS_ID,
    {
        2025: ("ColonCancerScreeningFHIR 0.1.000", criteria, VALUE_SETS),
        2026: ("CMS130FHIRColorectalCancerScreening 0.4.000", criteria, VALUE_SETS),
    },
)
