"""The APP Plus quality score of a Shared Savings Program ACO and its shared-savings outcome, per year.

Rules (docs/SCORING.md cites the source of each); the year's numbers are data
(``aco_sync/data/scoring/app_plus.json``), the year's measure set comes from qpp-measures-data:

1. The APP Plus measures of the year: every measure whose ``allowedPrograms`` has ``appPlus`` (2025:
   001, 112, 134, 236, 321, 479; 2026 adds 113 and 484). The clinical ones (eCQM, MIPS CQM, Medicare
   CQM ``<id>SSP``) count once, in their highest-scoring submitted instance; 321 (CAHPS for MIPS) and the
   claims-based 479 and 484 (inverse) are CMS's to compute: the ACO may enter CMS's points, or the
   claims measures' rates, in the optional CMS results file (:class:`CmsResults`,
   ``config/cms-results/<aco_id>.json``); without it the score covers the clinical measures only.
2. Measures below the case minimum or without a benchmark are left out of the score; below 75% data
   completeness they earn 0 points and count; topped-out-by-program measures are capped at 7 points
   unless CMS removed the cap for the measure (``isSevenPointCapRemoved``) (aco_sync.scoring.points).
3. Complex organization adjustment (eCQM reporting): one point per eCQM that meets the case minimum and
   data completeness, at most 10% of the available points.
4. Quality score = 100 x (points + complex organization adjustment) / (10 x measures scored), plus the
   health equity adjustment: bonus = measure performance scaler (per measure 4 / 2 / 0 points for the
   top / middle / bottom third of ACOs' performance) x underserved multiplier (the share of underserved
   beneficiaries, 0 below 20%), at most 10 points; the score is capped at 100.
5. Shared-savings outcome: the quality performance standard is met with a (health equity adjusted)
   score at or above the year's 40th percentile MIPS Quality score, or, reporting every APP Plus
   clinical measure as eCQM / MIPS CQM, with one outcome measure at or above its 10th percentile and
   another measure at or above its 40th percentile: the full sharing rate. Otherwise the alternative
   standard (one outcome measure at or above its 10th percentile) gives the maximum sharing rate scaled
   by the score (a score of 50 shares at half the rate). Otherwise no shared savings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aco_sync.domain.errors import MeasureDataNotFoundError
from aco_sync.domain.qpp_measures import qpp_measures
from aco_sync.domain.records import CollectionType
from aco_sync.scoring.benchmarks import BenchmarkSet
from aco_sync.scoring.points import MeasureScore, points_for_rate, round_points
from aco_sync.scoring.quality import QualityScore

CMS_MEASURES = ("321", "479", "484")  # computed by CMS (survey vendor, administrative claims)
CLAIMS_METHOD = "administrativeClaims"


class CmsMeasureResult(BaseModel):
    """CMS's result for a measure the ACO does not submit: its points, or (claims measures) its rate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    points: float | None = Field(default=None, ge=0, le=10)
    rate: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_of(self) -> CmsMeasureResult:
        if (self.points is None) == (self.rate is None):
            raise ValueError("give either points or rate")
        return self


class HealthEquityInputs(BaseModel):
    """What the health equity adjustment needs, from CMS's reports to the ACO."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    underserved_share: float = Field(ge=0, le=1)  # share of assigned beneficiaries who are underserved
    # per APP Plus measure: the third of all ACOs' performance the ACO's result falls in
    performance_thirds: dict[str, Literal["top", "middle", "bottom"]] = Field(default_factory=dict)


class CmsResults(BaseModel):
    """``config/cms-results/<aco_id>.json`` (optional; docs/SCORING.md): CMS-reported results."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    performance_year: int = Field(ge=2017, le=2100)
    measures: dict[Literal["321", "479", "484"], CmsMeasureResult] = Field(default_factory=dict)
    health_equity: HealthEquityInputs | None = None


@dataclass(frozen=True, slots=True)
class AppPlusRules:
    performance_year: int
    measures: tuple[str, ...]  # QPP ids of the APP Plus set (base ids, no SSP)
    outcome_measures: tuple[str, ...]
    standard_score: float | None
    standard_source: str
    standard_estimated_from: int | None  # the year whose value stands in when the year's is unpublished
    outcome_percentile: int
    other_percentile: int
    equity: dict[str, float] | None  # None: no health equity adjustment in the year (removed from PY2026)
    complex_organization: dict[str, float]
    benchmark_gap_floor: bool  # 42 CFR 425.512(a)(7)(ii)(B)


@cache
def _table() -> dict[str, Any]:
    text = resources.files("aco_sync").joinpath("data/scoring/app_plus.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def app_plus_rules(performance_year: int) -> AppPlusRules:
    """The year's rules; MeasureDataNotFoundError when the year is not in the table or its measure data."""
    table = _table()
    year_rules = table.get(str(performance_year))
    if year_rules is None:
        years = ", ".join(k for k in table if k.isdigit())
        raise MeasureDataNotFoundError(
            f"No APP Plus scoring rules for performance year {performance_year} ({years})"
        )
    measures = qpp_measures(performance_year)
    app_plus = [
        m
        for m in measures.measures.values()
        if "appPlus" in m.allowed_programs and not m.measure_id.endswith("SSP")
    ]
    data = json.loads(
        resources.files("aco_sync")
        .joinpath(f"data/benchmarks/qpp_measures_{performance_year}_selected.json")
        .read_text(encoding="utf-8")
    )
    outcome_types = {
        str(e["measureId"]) for e in data if e.get("measureType") in ("outcome", "intermediateOutcome")
    }
    standard = year_rules["quality_performance_standard"]
    score, estimated_from = standard["score"], None
    if score is None:  # the latest earlier year with a published value
        for year in sorted(
            (int(k) for k in table if k.isdigit() and int(k) < performance_year), reverse=True
        ):
            earlier = table[str(year)]["quality_performance_standard"]["score"]
            if earlier is not None:
                score, estimated_from = earlier, year
                break
    return AppPlusRules(
        performance_year=performance_year,
        measures=tuple(sorted(m.measure_id for m in app_plus)),
        outcome_measures=tuple(sorted(m.measure_id for m in app_plus if m.measure_id in outcome_types)),
        standard_score=score,
        standard_source=standard["source"],
        standard_estimated_from=estimated_from,
        outcome_percentile=int(year_rules["alternative_standard"]["outcome_percentile"]),
        other_percentile=int(year_rules["alternative_standard"]["other_percentile"]),
        equity=(
            {k: float(v) for k, v in year_rules["health_equity_adjustment"].items() if k != "source"}
            if year_rules.get("health_equity_adjustment")
            else None
        ),
        complex_organization={
            k: float(v) for k, v in year_rules["complex_organization_adjustment"].items() if k != "source"
        },
        benchmark_gap_floor=bool(year_rules.get("benchmark_gap_floor", False)),
    )


@dataclass(frozen=True, slots=True)
class AppPlusMeasure:
    measure_id: str  # QPP base id
    source: str  # "M236 eCQM", or "CMS results"
    points: float | None  # None: not scored (left out)
    decile: int | None
    outcome: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure_id": self.measure_id,
            "source": self.source,
            "points": self.points,
            "decile": self.decile,
            "outcome": self.outcome,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class AppPlusScore:
    performance_year: int
    measures: tuple[AppPlusMeasure, ...]
    clinical_only: bool  # no CMS results: 321 / 479 / 484 missing
    achievement_points: float
    complex_organization_points: float
    measures_scored: int
    quality_score: float | None  # before the health equity adjustment
    health_equity_bonus: float | None  # None: no inputs for it
    adjusted_score: float | None
    standard_score: float | None
    standard_note: str
    outcome: str  # "full sharing rate" | "scaled sharing rate" | "no shared savings" | "not determined"
    sharing_rate_factor: float | None  # share of the track's maximum sharing rate
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "performance_year": self.performance_year,
            "clinical_measures_only": self.clinical_only,
            "measures": [m.to_dict() for m in self.measures],
            "achievement_points": self.achievement_points,
            "complex_organization_points": self.complex_organization_points,
            "measures_scored": self.measures_scored,
            "quality_score": self.quality_score,
            "health_equity_bonus": self.health_equity_bonus,
            "health_equity_adjusted_score": self.adjusted_score,
            "quality_performance_standard": self.standard_score,
            "quality_performance_standard_note": self.standard_note,
            "shared_savings_outcome": self.outcome,
            "sharing_rate_factor": self.sharing_rate_factor,
            "reasons": list(self.reasons),
        }


def _base_id(qpp_id: str) -> str:
    return qpp_id[:-3] if qpp_id.upper().endswith("SSP") else qpp_id


def _cms_measure(
    measure_id: str, result: CmsMeasureResult, benchmarks: BenchmarkSet, outcome: bool
) -> AppPlusMeasure:
    if result.points is not None:
        points = round_points(result.points)
        return AppPlusMeasure(
            measure_id,
            "CMS results",
            points,
            min(max(math.floor(points), 1), 10),
            outcome,
            f"{points:.4f} points as CMS reported them.",
        )
    benchmark = benchmarks.get(measure_id, CLAIMS_METHOD)
    if benchmark is None or result.rate is None:
        return AppPlusMeasure(
            measure_id,
            "CMS results",
            None,
            None,
            outcome,
            f"Not scored: no {benchmarks.performance_year} benchmark for {measure_id}.",
        )
    decile, points, _, _ = points_for_rate(result.rate, benchmark)
    return AppPlusMeasure(
        measure_id,
        "CMS results",
        points,
        decile,
        outcome,
        f"Rate {result.rate:g} (lower is better): decile {decile}, {points:.4f} points.",
    )


def app_plus_score(
    scores: list[MeasureScore],
    quality: QualityScore,
    benchmarks: BenchmarkSet,
    *,
    performance_year: int,
    cms_results: CmsResults | None = None,
) -> AppPlusScore:
    rules = app_plus_rules(performance_year)
    reasons: list[str] = []
    if cms_results is not None and cms_results.performance_year != performance_year:
        reasons.append(
            f"The CMS results are for {cms_results.performance_year}, not {performance_year}: not used."
        )
        cms_results = None
    best: dict[str, MeasureScore] = {}
    for score in quality.counted:
        base = _base_id(score.qpp_measure_id)
        if base in rules.measures and (base not in best or (score.points or 0) > (best[base].points or 0)):
            best[base] = score
    measures: list[AppPlusMeasure] = []
    for measure_id in rules.measures:
        outcome = measure_id in rules.outcome_measures
        if measure_id in CMS_MEASURES:
            result = cms_results.measures.get(measure_id) if cms_results else None  # type: ignore[call-overload]
            if result is None:
                measures.append(
                    AppPlusMeasure(
                        measure_id,
                        "CMS",
                        None,
                        None,
                        outcome,
                        "Computed by CMS: not in the CMS results file.",
                    )
                )
            else:
                measures.append(_cms_measure(measure_id, result, benchmarks, outcome))
            continue
        best_score = best.get(measure_id)
        if best_score is None:
            submitted = [s for s in scores if _base_id(s.qpp_measure_id) == measure_id]
            reason = submitted[0].reason if submitted else "Not reported."
            measures.append(AppPlusMeasure(measure_id, "-", None, None, outcome, reason))
        else:
            measures.append(
                AppPlusMeasure(
                    measure_id,
                    best_score.instance,
                    best_score.points,
                    best_score.decile,
                    outcome,
                    best_score.reason,
                )
            )
    scored = [m for m in measures if m.points is not None]
    clinical_only = any(m.measure_id in CMS_MEASURES and m.points is None for m in measures)
    total = round_points(sum(m.points or 0.0 for m in scored))
    available = 10 * len(scored)
    ecqms = [
        s
        for s in best.values()
        if s.collection_type == CollectionType.ECQM and s.case_minimum_met and s.data_completeness_met
    ]
    # one point per eCQM, a measure at most 10 points, in all at most 10% of the available points
    complex_points = min(
        sum(min(rules.complex_organization["points_per_ecqm"], 10.0 - (s.points or 0.0)) for s in ecqms),
        rules.complex_organization["max_share_of_available_points"] * available,
    )
    base_score = round_points(min(100 * (total + complex_points) / available, 100.0)) if available else None

    bonus: float | None = None
    equity = cms_results.health_equity if cms_results else None
    if equity is not None and rules.equity is None:
        reasons.append(f"No health equity adjustment in PY{performance_year} (removed from PY2026).")
    elif equity is not None and rules.equity is not None and base_score is not None:
        points_for = {
            "top": rules.equity["points_top_third"],
            "middle": rules.equity["points_middle_third"],
            "bottom": rules.equity["points_bottom_third"],
        }
        scaler = sum(
            points_for[third] for m, third in equity.performance_thirds.items() if m in rules.measures
        )
        multiplier = (
            equity.underserved_share
            if equity.underserved_share >= rules.equity["underserved_minimum"]
            else 0.0
        )
        bonus = round_points(min(scaler * multiplier, rules.equity["max_bonus_points"]))
    adjusted = round_points(min(base_score + (bonus or 0.0), 100.0)) if base_score is not None else None
    clinical_ids = [m for m in rules.measures if m not in CMS_MEASURES]
    reported = {_base_id(s.qpp_measure_id): s for s in scores if _base_id(s.qpp_measure_id) in clinical_ids}
    if (
        rules.benchmark_gap_floor
        and adjusted is not None
        and rules.standard_score is not None
        and set(reported) == set(clinical_ids)
        and all(s.data_completeness is not None and s.data_completeness >= 75.0 for s in reported.values())
        and any(s.benchmark is None for s in reported.values())
        and adjusted < rules.standard_score
    ):
        reasons.append(
            f"Every APP Plus clinical measure reported with 75% data completeness and "
            f"{', '.join(sorted(m for m, s in reported.items() if s.benchmark is None))} has no benchmark: "
            f"CMS uses the higher of the score ({adjusted:.2f}) and the 40th percentile "
            f"({rules.standard_score:.2f}) (42 CFR 425.512(a)(7)(ii)(B))."
        )
        adjusted = rules.standard_score

    standard = rules.standard_score
    note = rules.standard_source
    if rules.standard_estimated_from is not None:
        note = (
            f"The PY{performance_year} quality performance standard is not published; estimated with the "
            f"PY{rules.standard_estimated_from} value ({standard:.2f})."
        )
    outcome_text, factor = "not determined", None
    if adjusted is not None and standard is not None:
        outcome_ok = [m for m in measures if m.outcome and m.decile is not None and m.decile >= 2]
        others_ok = [
            m
            for m in measures
            if m.decile is not None and m.decile >= 5 and not (len(outcome_ok) == 1 and m is outcome_ok[0])
        ]
        clinical = [m for m in rules.measures if m not in CMS_MEASURES]
        all_ecqm_cqm = all(
            m in best
            and best[m].collection_type in (CollectionType.ECQM, CollectionType.CQM)
            and best[m].data_completeness_met
            and best[m].case_minimum_met
            for m in clinical
        )
        if adjusted >= standard:
            outcome_text, factor = "full sharing rate", 1.0
            reasons.append(
                f"Quality score {adjusted:.2f} reaches the quality performance standard {standard:.2f}."
            )
        elif all_ecqm_cqm and outcome_ok and others_ok:
            outcome_text, factor = "full sharing rate", 1.0
            reasons.append(
                "Every APP Plus clinical measure reported as eCQM/MIPS CQM, an outcome measure at or "
                "above its 10th percentile and another measure at or above its 40th percentile."
            )
        elif outcome_ok:
            outcome_text, factor = "scaled sharing rate", round(adjusted / 100, 4)
            reasons.append(
                f"Below the standard {standard:.2f}, but outcome measure {outcome_ok[0].measure_id} is at or "
                "above its "
                f"10th percentile (alternative standard): the maximum sharing rate x {adjusted:.2f}%."
            )
        else:
            outcome_text, factor = "no shared savings", 0.0
            reasons.append(
                f"Below the standard {standard:.2f} and no outcome measure at its 10th percentile."
            )
    if clinical_only:
        reasons.append(
            "The score covers the clinical measures only: CMS's results for "
            + ", ".join(m.measure_id for m in measures if m.measure_id in CMS_MEASURES and m.points is None)
            + " are not in config/cms-results/<aco_id>.json."
        )
    return AppPlusScore(
        performance_year=performance_year,
        measures=tuple(measures),
        clinical_only=clinical_only,
        achievement_points=total,
        complex_organization_points=round_points(complex_points),
        measures_scored=len(scored),
        quality_score=base_score,
        health_equity_bonus=bonus,
        adjusted_score=adjusted,
        standard_score=standard,
        standard_note=note,
        outcome=outcome_text,
        sharing_rate_factor=factor,
        reasons=tuple(reasons),
    )
