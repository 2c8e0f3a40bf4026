"""Achievement points of one measure instance against its CMS benchmark.

Decile k is the highest k whose lower bound the rate reaches (``rate >= L_k``; ``rate <= L_k`` for
inverse measures); ``points = k + (rate - L_k) / (L_{k+1} - L_k)`` (the distance travelled through the
decile, for inverse measures measured downwards), 10 in decile 10, at least 1, rounded to 4 decimals
(half up); topped-out-by-program benchmarks cap points at 7. A measure is scored only with a benchmark
and at least 20 eligible patients (case minimum); one that is scored but below 75% data completeness
earns 0 points and still counts in the quality score's denominator.

Case count, data completeness and performance rate are computed from the counts of the submission
file (:mod:`aco_sync.scoring.submitted_counts`: registry exclusions subtracted from the eligible
population), the way CMS computes them; ``MeasureScore`` carries those submitted counts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from pydantic import computed_field

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.records import CollectionType, MeasureStats
from aco_sync.scoring.benchmarks import Benchmark, BenchmarkSet, submission_method_for
from aco_sync.scoring.submitted_counts import SubmittedCounts, submitted_counts

CASE_MINIMUM = 20
DATA_COMPLETENESS_THRESHOLD = 75.0
TOPPED_OUT_CAP = 7.0
MINIMUM_POINTS = 1.0


class ScoreStatus(StrEnum):
    SCORED = "scored"  # points from the benchmark
    ZERO_DATA_COMPLETENESS = "data_completeness_not_met"  # counts, earns 0 points
    NO_BENCHMARK = "no_benchmark"  # not scored
    BELOW_CASE_MINIMUM = "below_case_minimum"  # not scored
    NO_PERFORMANCE_RATE = "no_performance_rate"  # not scored: no MET/NOT_MET patient


@dataclass(frozen=True, slots=True)
class DecileTarget:
    """What it takes to reach the next decile (with the same patients in the performance denominator)."""

    decile: int
    rate: float  # the decile's lower bound
    patients: int  # more patients met (fewer, for inverse measures)
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"decile": self.decile, "rate": self.rate, "patients": self.patients, "message": self.message}


@dataclass(frozen=True, slots=True)
class MeasureScore:
    measure_id: str  # catalog id, "M001"
    collection_type: CollectionType
    qpp_measure_id: str  # "001" (eCQM/CQM) or "001SSP" (MCQM)
    submission_method: str  # electronicHealthRecord | registry
    title: str
    inverse: bool
    eligible_population: int
    performance_met: int
    performance_not_met: int
    eligible_population_exclusion: int
    eligible_population_exception: int
    performance_rate: float | None
    data_completeness: float | None
    case_minimum_met: bool
    data_completeness_met: bool
    status: ScoreStatus
    reason: str  # why it earns what it earns, a sentence
    decile: int | None = None
    points: float | None = None  # 4 decimals; None when not scored
    uncapped_points: float | None = None
    capped: bool = False  # topped-out cap of 7 applied
    benchmark: Benchmark | None = None
    next_decile: DecileTarget | None = None
    completeness_gap: int | None = None  # more patients with performance data needed to reach 75%

    @computed_field  # type: ignore[prop-decorator]  # in quality-score.json (aco_sync.wire)
    @property
    def counts_in_quality_score(self) -> bool:
        return self.status in (ScoreStatus.SCORED, ScoreStatus.ZERO_DATA_COMPLETENESS)

    @property
    def instance(self) -> str:
        return f"{self.measure_id} {self.collection_type.value}"


def round_points(value: float) -> float:
    """4 decimals, half up (8.958463... -> 8.9585)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _reaches(rate: float, bound: float, inverse: bool) -> bool:
    return rate <= bound if inverse else rate >= bound


def decile_for_rate(rate: float, benchmark: Benchmark) -> int:
    """The highest decile whose lower bound the rate reaches (decile 1 always)."""
    decile = 1
    for k in range(2, 11):
        if _reaches(rate, benchmark.lower_bound(k), benchmark.inverse):
            decile = k
    return decile


def points_for_rate(
    rate: float, benchmark: Benchmark, *, minimum_points: float = MINIMUM_POINTS
) -> tuple[int, float, float, bool]:
    """(decile, points, uncapped points, capped) for a performance rate.

    ``minimum_points`` is the floor (1 from 2023; the 2019 rules, used in the QPP scoring example,
    floored measures that met case minimum and data completeness at 3).
    """
    decile = decile_for_rate(rate, benchmark)
    if decile == 10:
        raw = 10.0
    else:
        low, high = benchmark.lower_bound(decile), benchmark.lower_bound(decile + 1)
        raw = decile + (rate - low) / (high - low) if high != low else float(decile)
    raw = max(raw, minimum_points)
    uncapped = round_points(raw)
    if benchmark.caps_at_seven and uncapped > TOPPED_OUT_CAP:
        return decile, TOPPED_OUT_CAP, uncapped, True
    return decile, uncapped, uncapped, False


def next_decile_target(
    decile: int, benchmark: Benchmark, *, met: int, not_met: int, measure_id: str
) -> DecileTarget | None:
    """``measure_id`` is the label used in the message, e.g. "M236 (eCQM)"."""
    """The rate and number of patients that lift the measure out of its decile (None in decile 10)."""
    if decile >= 10 or met + not_met == 0:
        return None
    bound = benchmark.lower_bound(decile + 1)
    target_decile = decile_for_rate(bound, benchmark)
    denominator = met + not_met
    exact = Fraction(Decimal(repr(bound))) * denominator / 100
    if benchmark.inverse:
        needed_met = math.floor(exact)
        patients = max(met - needed_met, 0)
        message = (
            f"to reach decile {target_decile} on {measure_id} you need {bound:.2f}% or lower, "
            f"i.e. {patients} fewer patient{'s' if patients != 1 else ''} met"
        )
    else:
        needed_met = math.ceil(exact)
        patients = max(needed_met - met, 0)
        message = (
            f"to reach decile {target_decile} on {measure_id} you need {bound:.2f}%, "
            f"i.e. {patients} more patient{'s' if patients != 1 else ''} met"
        )
    return DecileTarget(decile=target_decile, rate=bound, patients=patients, message=message)


def completeness_gap(stats: MeasureStats | SubmittedCounts) -> int:
    """Patients whose performance (met, not met, exclusion, exception) must still be reported to reach
    75% data completeness (of the counts given: pass the submitted counts)."""
    reported = (
        stats.performance_met
        + stats.performance_not_met
        + stats.eligible_population_exclusion
        + stats.eligible_population_exception
    )
    needed = math.ceil(Fraction(int(DATA_COMPLETENESS_THRESHOLD)) * stats.eligible_population / 100)
    return max(needed - reported, 0)


def score_measure(
    stats: MeasureStats,
    benchmarks: BenchmarkSet,
    *,
    catalog: MeasureCatalog,
    minimum_points: float = MINIMUM_POINTS,
) -> MeasureScore:
    """Decile, points and status of one measure instance (see the module docstring for the rules)."""
    definition = catalog.get(stats.measure_id)
    if stats.collection_type == CollectionType.MCQM:
        qpp_id = definition.mcqm_quality_id
    else:
        qpp_id = definition.quality_id
    method = submission_method_for(stats.collection_type)
    benchmark = benchmarks.get(qpp_id, method)
    submitted = submitted_counts(stats)
    case_minimum_met = submitted.case_count >= CASE_MINIMUM
    completeness = submitted.reporting_rate
    rate = submitted.performance_rate
    completeness_met = completeness is not None and completeness >= DATA_COMPLETENESS_THRESHOLD
    base: dict[str, Any] = {
        "measure_id": stats.measure_id,
        "collection_type": stats.collection_type,
        "qpp_measure_id": qpp_id,
        "submission_method": method,
        "title": definition.title,
        "inverse": benchmark.inverse if benchmark else stats.inverse,
        **dataclasses.asdict(submitted),  # the five counts, as CMS counts them for the submission
        "performance_rate": rate,
        "data_completeness": completeness,
        "case_minimum_met": case_minimum_met,
        "data_completeness_met": completeness_met,
        "benchmark": benchmark,
    }
    if benchmark is None:
        return MeasureScore(
            **base,
            status=ScoreStatus.NO_BENCHMARK,
            reason=(
                f"Not scored: no {benchmarks.performance_year} CMS benchmark for measure {qpp_id} ({method})."
            ),
        )
    if not case_minimum_met:
        return MeasureScore(
            **base,
            status=ScoreStatus.BELOW_CASE_MINIMUM,
            reason=(
                f"Not scored: {submitted.case_count} eligible patients, below the case minimum "
                f"of {CASE_MINIMUM}."
                + (
                    f" ({stats.eligible_population_exclusion} excluded patients are subtracted from the "
                    "eligible population, as CMS requires for registry measures.)"
                    if submitted.eligible_population != stats.eligible_population
                    else ""
                )
            ),
        )
    if not completeness_met:
        shown = "no" if completeness is None else f"{completeness:.2f}%"
        return MeasureScore(
            **base,
            status=ScoreStatus.ZERO_DATA_COMPLETENESS,
            points=0.0,
            completeness_gap=completeness_gap(submitted),
            reason=(
                f"0 points: data completeness {shown} is below the {DATA_COMPLETENESS_THRESHOLD:.0f}% "
                "threshold (the measure still counts in the quality score)."
            ),
        )
    if rate is None:
        return MeasureScore(
            **base,
            status=ScoreStatus.NO_PERFORMANCE_RATE,
            reason="Not scored: no patient is MET or NOT_MET (all excluded or excepted), so no rate.",
        )
    decile, points, uncapped, capped = points_for_rate(rate, benchmark, minimum_points=minimum_points)
    reason = f"Decile {decile}: {points:.4f} points"
    if capped:
        reason += f" (topped-out measure: capped at {TOPPED_OUT_CAP:.0f}, {uncapped:.4f} uncapped)"
    if benchmark.is_flat:
        reason += "; flat percentage benchmark"
    reason += "."
    return MeasureScore(
        **base,
        status=ScoreStatus.SCORED,
        reason=reason,
        decile=decile,
        points=points,
        uncapped_points=uncapped,
        capped=capped,
        next_decile=next_decile_target(
            decile,
            benchmark,
            met=stats.performance_met,
            not_met=stats.performance_not_met,
            measure_id=f"{stats.measure_id} ({stats.collection_type.value})",
        ),
    )
