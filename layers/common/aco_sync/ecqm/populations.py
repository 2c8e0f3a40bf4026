"""What a measure's logic yields (:class:`Criteria`: its raw CQL definitions) and what the engine
makes of it (:class:`MeasurePopulations`: proportion-measure semantics and the performance record)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from aco_sync.domain.records import Performance


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


def _no_values() -> dict[str, float | None]:
    return {}


@dataclass(slots=True)
class Criteria:
    """The raw CQL definitions of one measure for one patient, before proportion semantics."""

    initial_population: bool
    denominator_exclusion: Callable[[], bool]
    numerator: Callable[[], bool]
    denominator_exception: Callable[[], bool] = lambda: False
    evidence_date: Callable[[], date | None] = lambda: None
    encounter_date: date | None = None
    note: Callable[[], str] = lambda: ""
    values: Callable[[], dict[str, float | None]] = field(default=_no_values)


def populations(measure_id: str, criteria: Criteria) -> MeasurePopulations:
    """Proportion-measure semantics: the exclusion within the denominator, the numerator within the
    denominator less exclusions, the exception only for patients neither excluded nor in the numerator."""
    ip = criteria.initial_population
    denominator = ip
    excluded = denominator and criteria.denominator_exclusion()
    numerator = denominator and not excluded and criteria.numerator()
    exception = denominator and not excluded and not numerator and criteria.denominator_exception()
    performance: Performance | None
    if not denominator:
        performance, when, note = None, None, "not in the initial population"
    elif excluded:
        performance, when, note = (
            Performance.DENOMINATOR_EXCLUSION,
            criteria.encounter_date,
            "denominator exclusion",
        )
    elif numerator:
        performance, when, note = Performance.MET, criteria.evidence_date(), criteria.note()
    elif exception:
        performance, when, note = (
            Performance.DENOMINATOR_EXCEPTION,
            criteria.encounter_date,
            "denominator exception",
        )
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
