"""Why a patient is in a measure's initial population or not, criterion by criterion (``aco-sync measure``).

Each criterion of the initial population of the five eCQMs (PY2025 specifications: age at the end of the
measurement period, or at its start for CMS2; gender for CMS125; the qualifying encounters; the
diagnosis CMS122 and CMS165 require) is checked with the same helpers the calculation uses
(:class:`aco_sync.ecqm.logic.MeasureContext`), and reported with what was found. A test checks that
the criteria agree with the calculated initial population on every published test case.
No PHI: ages, counts and dates of clinical entries only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aco_sync.domain.records import Gender
from aco_sync.ecqm.logic import MeasureContext, period_of, prevalence
from aco_sync.ecqm.model import ClinicalEntry, EntryKind
from aco_sync.ecqm.timing import add_months


@dataclass(frozen=True)
class Criterion:
    text: str  # the criterion, e.g. "age 18-75 at the end of the measurement period"
    met: bool
    found: str  # what the patient's data gave, e.g. "age 80"

    def to_dict(self) -> dict[str, object]:
        return {"criterion": self.text, "met": self.met, "found": self.found}


# ecqm id -> (lowest age, highest age or None, "end"/"start" of the measurement period)
AGE_RANGES = {
    "CMS122": (18, 75, "end"),
    "CMS125": (52, 74, "end"),
    "CMS130": (46, 75, "end"),
    "CMS165": (18, 85, "end"),
    "CMS2": (12, None, "start"),
}
CMS2_ENCOUNTERS = ("Encounter to Screen for Depression", "Physical Therapy Evaluation", "Telephone Visits")


def _during(entry: ClinicalEntry, first: date, last: date) -> bool:
    period = period_of(entry)
    return period is not None and period.during_days(first, last)


def _encounters(ctx: MeasureContext, ecqm_id: str) -> tuple[str, list[ClinicalEntry]]:
    if ecqm_id == "CMS2":
        found = [
            e
            for e in ctx.retrieve(EntryKind.ENCOUNTER, *CMS2_ENCOUNTERS)
            if e.status == "finished" and _during(e, ctx.first_day, ctx.last_day)
        ]
        return "a depression screening, physical therapy evaluation or telephone visit in the period", found
    return "a qualifying outpatient encounter in the period", ctx.qualifying_encounters()


def _count(entries: list[ClinicalEntry], what: str) -> str:
    if not entries:
        return f"no {what}"
    days = sorted({p.low.date() for e in entries if (p := period_of(e)) is not None and p.low is not None})
    when = f" ({', '.join(map(str, days[:3]))}{', ...' if len(days) > 3 else ''})" if days else ""
    return f"{len(entries)} {what}{'s' if len(entries) != 1 else ''}{when}"


def initial_population_criteria(ctx: MeasureContext, ecqm_id: str) -> list[Criterion]:
    """The criteria of ``ecqm_id``'s initial population for the patient of ``ctx``."""
    low, high, at = AGE_RANGES[ecqm_id]
    age = ctx.age_at_end if at == "end" else ctx.age_at_start
    ages = f"{low}-{high}" if high is not None else f"{low} or older"
    criteria = [
        Criterion(
            f"age {ages} at the {at} of the measurement period",
            age >= low and (high is None or age <= high),
            f"age {age}",
        )
    ]
    if ecqm_id == "CMS125":
        criteria.append(
            Criterion("female", ctx.patient.gender == Gender.FEMALE, f"gender {ctx.patient.gender.value}")
        )
    what, encounters = _encounters(ctx, ecqm_id)
    criteria.append(Criterion(what, bool(encounters), _count(encounters, "encounter")))
    if ecqm_id == "CMS122":
        diabetes = [
            e
            for e in ctx.retrieve(EntryKind.CONDITION, "Diabetes")
            if prevalence(e).overlaps_days(ctx.first_day, ctx.last_day)
        ]
        criteria.append(
            Criterion("diabetes during the measurement period", bool(diabetes), _count(diabetes, "diagnosis"))
        )
    if ecqm_id == "CMS165":
        six_months = add_months(ctx.mp_start, 6)
        hypertension = [
            e
            for e in ctx.retrieve(EntryKind.CONDITION, "Essential Hypertension")
            if prevalence(e).overlaps(ctx.mp_start, six_months, high_open=True)
        ]
        criteria.append(
            Criterion(
                "essential hypertension starting before or in the first six months of the period",
                bool(hypertension),
                _count(hypertension, "diagnosis"),
            )
        )
    return criteria
