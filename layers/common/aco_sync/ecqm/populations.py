"""What a measure's logic yields (:class:`Criteria`: its raw CQL definitions, each a named
:class:`Criterion` with the records that decided it) and what the engine makes of it
(:class:`MeasurePopulations`: proportion-measure semantics, the performance record and, per
population, the criteria that put the patient in it or kept them out: :class:`PopulationVerdict`).

The measure modules declare and evaluate their criteria; the populations and their explanation are
both read from the same evaluated :class:`Criterion` values, so they cannot disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from aco_sync.domain.records import Performance
from aco_sync.ecqm.model import ClinicalEntry

INITIAL_POPULATION = "initial-population"
DENOMINATOR = "denominator"
DENOMINATOR_EXCLUSION = "denominator-exclusion"
NUMERATOR = "numerator"
DENOMINATOR_EXCEPTION = "denominator-exception"
POPULATION_NAMES = {
    INITIAL_POPULATION: "Initial population",
    DENOMINATOR: "Denominator",
    DENOMINATOR_EXCLUSION: "Denominator exclusion",
    NUMERATOR: "Numerator",
    DENOMINATOR_EXCEPTION: "Denominator exception",
}


@dataclass(frozen=True, slots=True)
class Criterion:
    """One named criterion of a population expression, as evaluated for one patient.

    ``name`` is the measure's wording (no patient data); ``detail`` may add a derived fact such as
    "age 67" or "lowest 128/82 mmHg"; ``evidence`` holds the patient's records that satisfied it
    (for a met criterion) or that decided it. A criterion built from ``parts`` is met when all of
    them are (``rule`` "all") or any of them is ("any")."""

    name: str
    met: bool
    evidence: tuple[ClinicalEntry, ...] = ()
    detail: str = ""
    parts: tuple[Criterion, ...] = ()
    rule: str = ""  # "all" or "any" when built from parts

    def failed(self) -> list[Criterion]:
        """The innermost criteria that are not met and make this criterion not met (empty if met)."""
        if self.met:
            return []
        if not self.parts:
            return [self]
        failing = [p for p in self.parts if not p.met]
        return [leaf for p in failing for leaf in p.failed()]


def criterion(name: str, evidence: Iterable[ClinicalEntry] | bool, detail: str = "") -> Criterion:
    """A criterion met when the (non-empty) records say so, or by a plain truth value."""
    if isinstance(evidence, bool):
        return Criterion(name, evidence, detail=detail)
    found = tuple(evidence)
    return Criterion(name, bool(found), evidence=found, detail=detail)


def all_of(name: str, *parts: Criterion, detail: str = "") -> Criterion:
    return Criterion(name, all(p.met for p in parts), detail=detail, parts=parts, rule="all")


def any_of(name: str, *parts: Criterion, detail: str = "") -> Criterion:
    return Criterion(name, any(p.met for p in parts), detail=detail, parts=parts, rule="any")


@dataclass(frozen=True, slots=True)
class PopulationVerdict:
    """Whether the patient is in one population and the criteria that decided it. ``criteria`` are
    the population's own criteria when they were evaluated, else the proportion rule that kept the
    patient out (e.g. "in the denominator: NOT met"); ``member`` is the population count (0/1)."""

    population: str  # the FHIR MeasureReport code, e.g. "initial-population"
    member: bool
    criteria: tuple[Criterion, ...]

    @property
    def title(self) -> str:
        return POPULATION_NAMES[self.population]

    def failed(self) -> list[Criterion]:
        return [leaf for c in self.criteria for leaf in c.failed()]


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
    verdicts: tuple[PopulationVerdict, ...] = field(default=(), compare=False, repr=False)

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
    """The raw CQL definitions of one measure for one patient, before proportion semantics: each
    population a named :class:`Criterion` (the later ones evaluated only when the proportion rules
    reach them; ``denominator_exception`` None when the measure defines none)."""

    initial_population: Criterion
    denominator_exclusion: Callable[[], Criterion]
    numerator: Callable[[], Criterion]
    denominator_exception: Callable[[], Criterion] | None = None
    evidence_date: Callable[[], date | None] = lambda: None
    encounter_date: date | None = None
    note: Callable[[], str] = lambda: ""
    values: Callable[[], dict[str, float | None]] = field(default=_no_values)

    @classmethod
    def from_encounters(
        cls,
        encounters: Iterable[ClinicalEntry],
        initial_population: Criterion,
        exclusion: Callable[[], Criterion],
        numerator: Callable[[], Criterion],
        evidence: Callable[[], date | None],
        *,
        note: Callable[[], str],
        exception: Callable[[], Criterion] | None = None,
        values: Callable[[], dict[str, float | None]] = _no_values,
    ) -> Criteria:
        """A measure's criteria (its populations, then the date of its evidence) dated by its qualifying
        encounters (the encounter date: the last of them)."""
        dates = [e.latest.date() for e in encounters if e.latest is not None]
        encounter_date = max(dates) if dates else None
        return cls(
            initial_population, exclusion, numerator, exception, evidence, encounter_date, note, values
        )


def populations(measure_id: str, criteria: Criteria) -> MeasurePopulations:
    """Proportion-measure semantics: the exclusion within the denominator, the numerator within the
    denominator less exclusions, the exception only for patients neither excluded nor in the numerator."""
    ip_criterion = criteria.initial_population
    ip = ip_criterion.met
    denominator = ip
    exclusion_criterion = criteria.denominator_exclusion() if denominator else None
    excluded = exclusion_criterion is not None and exclusion_criterion.met
    numerator_criterion = criteria.numerator() if denominator and not excluded else None
    numerator = numerator_criterion is not None and numerator_criterion.met
    exception_criterion = (
        criteria.denominator_exception()
        if criteria.denominator_exception is not None and denominator and not excluded and not numerator
        else None
    )
    exception = exception_criterion is not None and exception_criterion.met
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
        verdicts=_verdicts(
            criteria, ip_criterion, exclusion_criterion, numerator_criterion, exception_criterion
        ),
    )


def _verdicts(
    criteria: Criteria,
    ip: Criterion,
    exclusion: Criterion | None,
    numerator: Criterion | None,
    exception: Criterion | None,
) -> tuple[PopulationVerdict, ...]:
    """Each population's verdict from the evaluated criteria (the same values the counts come from)."""
    in_denominator = Criterion("in the denominator", ip.met)
    excluded = exclusion is not None and exclusion.met
    not_excluded = Criterion("not a denominator exclusion", not excluded)
    denominator = Criterion("in the initial population", ip.met)  # DENOM = IPP in these measures
    verdicts = [
        PopulationVerdict(INITIAL_POPULATION, ip.met, (ip,)),
        PopulationVerdict(DENOMINATOR, denominator.met, (denominator,)),
        PopulationVerdict(
            DENOMINATOR_EXCLUSION, excluded, (exclusion,) if exclusion is not None else (in_denominator,)
        ),
    ]
    if numerator is not None:
        verdicts.append(PopulationVerdict(NUMERATOR, numerator.met, (numerator,)))
    else:
        verdicts.append(
            PopulationVerdict(NUMERATOR, False, (in_denominator if not ip.met else not_excluded,))
        )
    if criteria.denominator_exception is not None:
        if exception is not None:
            verdicts.append(PopulationVerdict(DENOMINATOR_EXCEPTION, exception.met, (exception,)))
        else:
            blocker = (
                in_denominator
                if not ip.met
                else not_excluded
                if excluded
                else Criterion("not in the numerator", False)
            )
            verdicts.append(PopulationVerdict(DENOMINATOR_EXCEPTION, False, (blocker,)))
    return tuple(verdicts)


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)
