"""APP Plus quality score and the shared-savings outcome, rule by rule (docs/SCORING.md cites the sources).

Worked numbers: mdinteractive.com ("Minimum Performance Standards for Shared Savings ACOs", May 2025):
an average of 7.67 points on the six PY2025 APP Plus measures reaches the 76.70 standard; the ACO
Quality Score Calculator example: a score of 50 under the alternative standard shares at half of the
track's maximum sharing rate.
"""

from __future__ import annotations

import json

import pytest
from test_scoring_points import CATALOG, make_stats

from aco_sync.domain.errors import MeasureDataNotFoundError
from aco_sync.domain.records import CollectionType
from aco_sync.scoring.app_plus import CmsResults, app_plus_rules, app_plus_score
from aco_sync.scoring.benchmarks import Benchmark, BenchmarkSet, load_benchmarks
from aco_sync.scoring.points import score_measure
from aco_sync.scoring.quality import aco_quality_score


def _benchmark(measure_id: str, method: str, *, inverse: bool = False) -> Benchmark:
    deciles = tuple(float(10 * k) for k in range(1, 10))
    return Benchmark(measure_id, 2025, 2023, method, tuple(reversed(deciles)) if inverse else deciles,
                     inverse, False, False)  # fmt: skip


def _rate_for(points: float, inverse: bool = False) -> float:
    """With flat 10/20/.../90 deciles (decile k starts at 10(k-1)), points p >= 2 come from the rate
    10p - 10 (inverse: 110 - 10p)."""
    return 110 - 10 * points if inverse else 10 * points - 10


def _scored(
    points: dict[str, float], collection_type: CollectionType = CollectionType.ECQM, year: int = 2025
):
    """Clinical APP Plus measures at the given points (rates chosen against flat benchmarks)."""
    catalog_ids = {"001": "M001", "112": "M112", "134": "M134", "236": "M236", "113": "M113"}
    method = "electronicHealthRecord" if collection_type == CollectionType.ECQM else "registry"
    benchmarks = {}
    scores = []
    for qpp_id, wanted in points.items():
        inverse = qpp_id == "001"
        submitted_id = qpp_id + "SSP" if collection_type == CollectionType.MCQM else qpp_id
        benchmarks[(submitted_id, method)] = _benchmark(submitted_id, method, inverse=inverse)
        rate = _rate_for(wanted, inverse)
        met = round(rate * 100)
        stats = make_stats(
            catalog_ids[qpp_id], collection_type, met=met, not_met=10000 - met, inverse=inverse
        )
        scores.append(score_measure(stats, BenchmarkSet(year, benchmarks), catalog=CATALOG))
    for key, benchmark in load_benchmarks(year).benchmarks.items():
        if key[1] == "administrativeClaims":
            benchmarks[key] = benchmark
    return scores, aco_quality_score(scores), BenchmarkSet(year, benchmarks)


def _with_claims_measures(
    points: dict[str, float], collection_type: CollectionType, *, claims: tuple[float, float]
):
    """The PY2025 APP Plus result of the clinical measures at ``points`` and the claims measures 321 and
    479 at ``claims`` points."""
    scores, quality, benchmarks = _scored(points, collection_type)
    cms = CmsResults(
        performance_year=2025, measures={"321": {"points": claims[0]}, "479": {"points": claims[1]}}
    )
    return app_plus_score(scores, quality, benchmarks, performance_year=2025, cms_results=cms)


def test_the_measure_set_and_outcome_measures_come_from_the_years_measure_data() -> None:
    assert app_plus_rules(2025).measures == ("001", "112", "134", "236", "321", "479")
    assert app_plus_rules(2025).outcome_measures == ("001", "236", "479")
    assert app_plus_rules(2026).measures == ("001", "112", "113", "134", "236", "321", "479", "484")
    assert app_plus_rules(2026).outcome_measures == ("001", "236", "479", "484")
    with pytest.raises(MeasureDataNotFoundError, match="No APP Plus scoring rules for performance year 2031"):
        app_plus_rules(2031)


def test_average_767_points_on_six_measures_reaches_the_7670_standard() -> None:
    """mdinteractive: 7.67 points per measure on the six PY2025 measures = 76.70, the standard."""
    scores, quality, benchmarks = _scored({"001": 7.67, "112": 7.67, "134": 7.67, "236": 7.67},
                                          CollectionType.CQM)  # fmt: skip
    cms = CmsResults(performance_year=2025, measures={"321": {"points": 7.67}, "479": {"points": 7.67}})
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025, cms_results=cms)
    assert not result.clinical_only and result.measures_scored == 6
    assert result.achievement_points == pytest.approx(46.02)
    assert result.quality_score == 76.7 and result.standard_score == 76.7
    assert (result.outcome, result.sharing_rate_factor) == ("full sharing rate", 1.0)
    # a little below, with an outcome measure at its 10th percentile: the alternative standard
    scores, quality, benchmarks = _scored(
        {"001": 7.6, "112": 7.6, "134": 7.6, "236": 7.6}, CollectionType.MCQM
    )
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025, cms_results=cms)
    assert result.quality_score == 76.2333  # (4 x 7.6 + 2 x 7.67) / 60
    assert result.outcome == "scaled sharing rate" and result.sharing_rate_factor == 0.7623


def test_a_score_of_50_under_the_alternative_standard_shares_at_half_the_rate() -> None:
    result = _with_claims_measures(
        {"001": 5.0, "112": 5.0, "134": 5.0, "236": 5.0}, CollectionType.MCQM, claims=(5.0, 5.0)
    )
    assert result.quality_score == 50.0
    assert (result.outcome, result.sharing_rate_factor) == ("scaled sharing rate", 0.5)


def test_no_outcome_measure_at_its_10th_percentile_means_no_shared_savings() -> None:
    result = _with_claims_measures(
        {"001": 1.0, "112": 9.0, "134": 9.0, "236": 1.0}, CollectionType.MCQM, claims=(9.0, 1.0)
    )
    assert result.quality_score == 50.0
    assert (result.outcome, result.sharing_rate_factor) == ("no shared savings", 0.0)


def test_ecqm_cqm_reporting_passes_with_one_outcome_at_p10_and_another_at_p40() -> None:
    result = _with_claims_measures(
        {"001": 2.0, "112": 5.0, "134": 1.0, "236": 1.0}, CollectionType.CQM, claims=(1.0, 1.0)
    )
    assert result.quality_score < 76.7 and result.outcome == "full sharing rate"


def test_without_cms_results_the_score_covers_the_clinical_measures_only() -> None:
    scores, quality, benchmarks = _scored(
        {"001": 8.0, "112": 6.0, "134": 7.0, "236": 9.0}, CollectionType.MCQM
    )
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025)
    assert result.clinical_only and result.measures_scored == 4 and result.quality_score == 75.0
    assert any("clinical measures only" in r and "321, 479" in r for r in result.reasons)


def test_claims_measure_rate_is_scored_against_its_inverse_benchmark() -> None:
    scores, quality, benchmarks = _scored({"236": 8.0}, CollectionType.MCQM)
    hwr = benchmarks.get("479", "administrativeClaims")
    assert hwr is not None and hwr.inverse
    rate = hwr.lower_bound(6)  # exactly the lower bound of decile 6: 6 points
    cms = CmsResults(performance_year=2025, measures={"479": {"rate": rate}})
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025, cms_results=cms)
    m479 = next(m for m in result.measures if m.measure_id == "479")
    assert (m479.decile, m479.points, m479.outcome) == (6, 6.0, True)


def test_complex_organization_adjustment_adds_a_point_per_ecqm_capped_at_10_percent() -> None:
    scores, quality, benchmarks = _scored(
        {"001": 5.0, "112": 5.0, "134": 5.0, "236": 5.0}, CollectionType.ECQM
    )
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025)
    # 4 eCQMs meeting case minimum and data completeness: 4 points, the cap is 10% of 40 = 4
    assert result.complex_organization_points == 4.0
    assert result.quality_score == 100 * (20 + 4) / 40
    scores, quality, benchmarks = _scored({"001": 5.0, "112": 5.0}, CollectionType.ECQM)
    cms = CmsResults(performance_year=2025, measures={"321": {"points": 5.0}, "479": {"points": 5.0}})
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025, cms_results=cms)
    assert result.complex_organization_points == 2.0  # 2 eCQMs (cap 4)
    mcqm = app_plus_score(*_scored({"001": 5.0}, CollectionType.MCQM), performance_year=2025)
    assert mcqm.complex_organization_points == 0.0  # Medicare CQMs: no adjustment


def test_health_equity_adjustment() -> None:
    scores, quality, benchmarks = _scored(
        {"001": 6.0, "112": 6.0, "134": 6.0, "236": 6.0}, CollectionType.MCQM
    )
    equity = {"underserved_share": 0.30, "performance_thirds": {"001": "top", "236": "top", "112": "middle",
                                                                 "134": "bottom"}}  # fmt: skip
    cms = CmsResults(performance_year=2025, measures={"321": {"points": 6.0}, "479": {"points": 6.0}},
                     health_equity=equity)  # fmt: skip
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025, cms_results=cms)
    # scaler 4 + 4 + 2 + 0 = 10, multiplier 0.30: 3 bonus points
    assert (
        result.quality_score == 60.0 and result.health_equity_bonus == 3.0 and result.adjusted_score == 63.0
    )
    low = cms.model_copy(
        update={"health_equity": cms.health_equity.model_copy(update={"underserved_share": 0.19})}
    )  # type: ignore[union-attr]
    assert (
        app_plus_score(
            scores, quality, benchmarks, performance_year=2025, cms_results=low
        ).health_equity_bonus
        == 0.0
    )
    all_top = {m: "top" for m in ("001", "112", "134", "236", "321", "479")}
    high = CmsResults.model_validate({**json.loads(cms.model_dump_json()), "health_equity": {
        "underserved_share": 0.9, "performance_thirds": all_top}})  # fmt: skip
    capped = app_plus_score(scores, quality, benchmarks, performance_year=2025, cms_results=high)
    assert capped.health_equity_bonus == 10.0  # 24 x 0.9 = 21.6, capped at 10


def test_measures_without_benchmark_or_below_case_minimum_are_left_out_below_75_percent_earn_zero() -> None:
    scores, _quality, benchmarks = _scored({"236": 8.0}, CollectionType.MCQM)
    with_001 = _scored({"001": 5.0}, CollectionType.MCQM)[2]
    below = score_measure(make_stats("M001", CollectionType.MCQM, met=5, not_met=10, inverse=True),
                          with_001, catalog=CATALOG)  # fmt: skip
    incomplete = score_measure(make_stats("M112", CollectionType.MCQM, met=30, not_met=10, eligible=100),
                               BenchmarkSet(2025, {("112SSP", "registry"): _benchmark("112SSP", "registry")}),
                               catalog=CATALOG)  # fmt: skip
    all_scores = [*scores, below, incomplete]
    result = app_plus_score(all_scores, aco_quality_score(all_scores), benchmarks, performance_year=2025)
    by_id = {m.measure_id: m for m in result.measures}
    assert by_id["001"].points is None and "below the case minimum" in by_id["001"].reason
    assert by_id["112"].points == 0.0
    assert result.measures_scored == 2 and result.quality_score == 40.0  # (8 + 0) / 20


def test_py2026_standard_is_7385_and_has_no_health_equity_adjustment() -> None:
    """CMS memo (Dec 2025): the PY2026 standard is 73.85; the CY2026 PFS final rule removed the health
    equity adjustment from PY2026."""
    rules = app_plus_rules(2026)
    assert rules.standard_score == 73.85 and rules.standard_estimated_from is None and rules.equity is None
    scores, quality, benchmarks = _scored({"236": 8.0}, CollectionType.MCQM, year=2026)
    cms = CmsResults(
        performance_year=2026, health_equity={"underserved_share": 0.5, "performance_thirds": {"236": "top"}}
    )
    result = app_plus_score(scores, quality, benchmarks, performance_year=2026, cms_results=cms)
    assert result.health_equity_bonus is None and result.adjusted_score == result.quality_score
    assert "No health equity adjustment in PY2026 (removed from PY2026)." in result.reasons


def test_py2026_a_required_measure_without_benchmark_floors_the_score_at_the_standard() -> None:
    """42 CFR 425.512(a)(7)(ii)(B): every required measure reported with data completeness and one of them
    without a benchmark (112 and 113 eCQM in PY2026): the higher of the score and the 40th percentile."""
    scores, _, benchmarks = _scored({"001": 3.0, "134": 3.0, "236": 3.0}, CollectionType.ECQM, year=2026)
    for measure_id in ("M112", "M113"):
        stats = make_stats(measure_id, CollectionType.ECQM, met=60, not_met=40)
        scores.append(score_measure(stats, benchmarks, catalog=CATALOG))  # no 112/113 eCQM benchmark
    result = app_plus_score(scores, aco_quality_score(scores), benchmarks, performance_year=2026)
    assert result.quality_score is not None and result.quality_score < 73.85
    assert result.adjusted_score == 73.85 and result.outcome == "full sharing rate"
    assert any("425.512(a)(7)(ii)(B)" in r for r in result.reasons)
    # not in PY2025 (not a rule ACO Sync has a source for there)
    assert app_plus_rules(2025).benchmark_gap_floor is False


def test_the_complex_organization_point_never_lifts_a_measure_above_10() -> None:
    scores, quality, benchmarks = _scored({"236": 9.5, "112": 10.0}, CollectionType.ECQM)
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025)
    assert result.complex_organization_points == 0.5  # 236: +0.5 to reach 10; 112: already 10


@pytest.mark.parametrize(
    "document",
    [
        {"performance_year": 2025, "measures": {"321": {}}},
        {"performance_year": 2025, "measures": {"321": {"points": 11}}},
        {"performance_year": 2025, "measures": {"001": {"points": 5}}},
        {"performance_year": 2025, "measures": {"479": {"points": 5, "rate": 0.1}}},
        {"performance_year": 2025, "health_equity": {"underserved_share": 1.5}},
        {"performance_year": 2025, "unknown": 1},
    ],
)
def test_the_cms_results_file_is_validated(document: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        CmsResults.model_validate(document)


def test_cms_results_of_another_year_are_not_used() -> None:
    scores, quality, benchmarks = _scored({"236": 8.0}, CollectionType.MCQM)
    cms = CmsResults(performance_year=2024, measures={"321": {"points": 9.0}})
    result = app_plus_score(scores, quality, benchmarks, performance_year=2025, cms_results=cms)
    assert result.clinical_only and "The CMS results are for 2024, not 2025: not used." in result.reasons


def test_the_7_point_cap_is_lifted_where_cms_removed_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    import aco_sync.reports as reports
    from aco_sync.domain.qpp_measures import QppMeasureSet, qpp_measures

    benchmarks = load_benchmarks(2025)
    capped = benchmarks.get("134", "registry")
    assert capped is not None and capped.caps_at_seven  # 134 registry is topped out by program in 2025
    assert reports.without_removed_caps(benchmarks).get("134", "registry").caps_at_seven  # type: ignore[union-attr]
    data = qpp_measures(2025)
    uncapped_134 = replace(data.measures["134"], seven_point_cap_removed=True)
    lifted = QppMeasureSet(2025, {**data.measures, "134": uncapped_134}, data.source)
    monkeypatch.setattr(reports, "qpp_measures", lambda year: lifted)
    assert not reports.without_removed_caps(benchmarks).get("134", "registry").caps_at_seven  # type: ignore[union-attr]
