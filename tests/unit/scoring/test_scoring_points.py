"""Decile points: the CMS worked example, the QPP scoring example, and hand-checked edge cases."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.outcome_codes import EXCEPTION, EXCLUSION, MET, NOT_MET
from aco_sync.domain.records import CollectionType, MeasureStats
from aco_sync.domain.stats import build_measure_stats
from aco_sync.scoring.benchmarks import Benchmark, BenchmarkSet, parse_benchmark
from aco_sync.scoring.points import (
    ScoreStatus,
    decile_for_rate,
    next_decile_target,
    points_for_rate,
    round_points,
    score_measure,
)
from shared_fixtures import shared_path

CMS_DECILES = (0.0, 26.89, 40.49, 50.0, 57.07, 64.79, 73.08, 82.71, 96.44)
CATALOG = default_catalog()


def make_benchmark(
    deciles: tuple[float, ...] = CMS_DECILES,
    *,
    measure_id: str = "236",
    method: str = "electronicHealthRecord",
    inverse: bool = False,
    topped_out_by_program: bool = False,
) -> Benchmark:
    return Benchmark(
        measure_id=measure_id,
        performance_year=2025,
        benchmark_year=2023,
        submission_method=method,
        deciles=deciles,
        inverse=inverse,
        topped_out=topped_out_by_program,
        topped_out_by_program=topped_out_by_program,
    )


def benchmark_set(*benchmarks: Benchmark) -> BenchmarkSet:
    return BenchmarkSet(
        performance_year=2025, benchmarks={(b.measure_id, b.submission_method): b for b in benchmarks}
    )


def make_stats(
    measure_id: str = "M236",
    collection_type: CollectionType = CollectionType.ECQM,
    *,
    met: int,
    not_met: int,
    excl: int = 0,
    excep: int = 0,
    eligible: int | None = None,
    rate: float | None = None,
    inverse: bool = False,
) -> MeasureStats:
    """Stats of ``met``/``not_met``/``excl``/``excep`` patients (``eligible`` counts the denominator-only
    ones too) through the engine's ``build_measure_stats``; ``rate`` overrides the performance rate."""
    counts = {MET: met, NOT_MET: not_met, EXCLUSION: excl, EXCEPTION: excep}
    denominator_only = 0 if eligible is None else eligible - sum(counts.values())
    stats = build_measure_stats(
        measure_id,
        collection_type,
        outcome_counts=counts,
        patients_by_tin={},
        inverse=inverse,
        denominator_only_counts=denominator_only,
    )
    return stats if rate is None else replace(stats, performance_rate=rate)


def test_cms_worked_example_rate_8231_scores_89585() -> None:
    decile, points, uncapped, capped = points_for_rate(82.31, make_benchmark())
    assert (decile, points, uncapped, capped) == (8, 8.9585, 8.9585, False)


def test_cms_worked_example_through_score_measure() -> None:
    # scoring uses the submitted counts: 8,231 met of 10,000 is the example's 82.31%
    stats = make_stats(met=8231, not_met=1769, excep=2)
    score = score_measure(stats, benchmark_set(make_benchmark()), catalog=CATALOG)
    assert score.status is ScoreStatus.SCORED
    assert score.decile == 8
    assert score.points == 8.9585
    assert score.case_minimum_met and score.data_completeness_met
    assert score.counts_in_quality_score


def test_qpp_scoring_example_output_is_reproduced() -> None:
    """CMSgov/qpp-submissions-docs scoring example: measure 110 and the floored measure 046."""
    path = shared_path("fixtures", "qpp", "qpp-submissions-docs__scoring-example-output-quality.json")
    output = json.loads(path.read_text())
    measurement_set = output["parts"][0]["original"]["parts"][0]
    measurements = {part["name"]: part["metadata"] for part in measurement_set["parts"]}

    m110 = measurements["110"]
    bench_110 = make_benchmark(tuple(m110["deciles"]))
    decile, points, _, _ = points_for_rate(m110["performanceRate"], bench_110)
    assert decile == m110["decile"] == 8
    assert points == m110["decileScore"] == 8.9585
    assert round(points - decile, 4) == m110["partialDecileScore"]

    # 046 is topped out; the 2019 rules floored a measure meeting case minimum and completeness at 3
    m046 = measurements["046"]
    bench_046 = make_benchmark(tuple(m046["deciles"]))
    _, floored, _, _ = points_for_rate(m046["performanceRate"], bench_046, minimum_points=3)
    assert floored == m046["decileScore"] == 3
    # today's floor is 1: 82.31 in decile 2 (0..96.15) earns 2 + 82.31/96.15
    decile, points, _, _ = points_for_rate(m046["performanceRate"], bench_046)
    assert (decile, points) == (2, round_points(2 + 82.31 / 96.15))


@pytest.mark.parametrize(
    ("rate", "decile", "points"),
    [
        (0.0, 2, 2.0),  # the CMS list's first bound is 0: decile 2 starts at 0 (decile 1 is empty)
        (10.0, 2, round_points(2 + 10 / 26.89)),
        (26.89, 3, 3.0),  # exactly on a lower bound: 0 is decile 2's bound, 26.89 decile 3's
        (96.44, 10, 10.0),
        (100.0, 10, 10.0),
        (73.08, 8, 8.0),
    ],
)
def test_decile_boundaries(rate: float, decile: int, points: float) -> None:
    assert points_for_rate(rate, make_benchmark())[:2] == (decile, points)


def test_inverse_measure_lower_is_better_hand_checked() -> None:
    # 001 eCQM 2025 percentiles: p10..p90 ascending; inverse -> bounds descending
    entry = {
        "measureId": "001",
        "performanceYear": 2025,
        "benchmarkYear": 2023,
        "submissionMethod": "electronicHealthRecord",
        "isInverse": True,
        "isToppedOut": False,
        "isToppedOutByProgram": False,
        "percentiles": {
            "1": 2.385, "10": 13.46, "20": 18.485, "30": 23.02, "40": 27.54, "50": 32.915,
            "60": 40.275, "70": 51.68, "80": 73.2, "90": 94.35, "99": 100,
        },
    }  # fmt: skip
    benchmark = parse_benchmark(entry)
    assert benchmark is not None
    assert benchmark.deciles == (94.35, 73.2, 51.68, 40.275, 32.915, 27.54, 23.02, 18.485, 13.46)
    # 20%: decile 8 starts at 23.02 (<= 23.02), decile 9 at 18.485: 8 + (23.02-20)/(23.02-18.485)
    decile, points, _, _ = points_for_rate(20.0, benchmark)
    assert decile == 8
    assert points == round_points(8 + 3.02 / 4.535) == 8.6659
    assert points_for_rate(10.0, benchmark)[:2] == (10, 10.0)  # very low poor-control rate: best
    assert points_for_rate(100.0, benchmark)[:2] == (1, 1.0)  # the worst possible rate: the 1-point floor
    assert points_for_rate(99.0, benchmark)[:2] == (1, round_points(1 + 1 / 5.65))  # decile 1: 100 -> 94.35
    # 96%: decile 1 runs 100 -> 94.35, so 1 + (100-96)/(100-94.35)
    assert points_for_rate(96.0, benchmark)[1] == round_points(1 + 4 / 5.65)


def test_inverse_next_decile_needs_fewer_patients_met() -> None:
    benchmark = make_benchmark((90, 80, 70, 60, 50, 40, 30, 20, 10), measure_id="001", inverse=True)
    # 15 of 100 poor control: decile 9 (<= 20), decile 10 needs <= 10%: 5 fewer patients met
    target = next_decile_target(9, benchmark, met=15, not_met=85, measure_id="M001")
    assert target is not None
    assert (target.decile, target.patients) == (10, 5)
    assert target.message == "to reach decile 10 on M001 you need 10.00% or lower, i.e. 5 fewer patients met"


def test_flat_benchmark_hand_checked() -> None:
    # 236 registry: CMS flat percentage benchmark 10, 20, ... 90
    entry = {
        "measureId": "236", "performanceYear": 2025, "benchmarkYear": 2023, "submissionMethod": "registry",
        "isInverse": False, "isToppedOut": False, "isToppedOutByProgram": False,
        "percentiles": {"1": 1, "10": 10, "20": 20, "30": 30, "40": 40, "50": 50, "60": 60, "70": 70,
                        "80": 80, "90": 90, "99": 99},
    }  # fmt: skip
    benchmark = parse_benchmark(entry)
    assert benchmark is not None and benchmark.is_flat
    assert points_for_rate(75.5, benchmark)[:2] == (8, 8.55)  # 8 + 5.5/10
    assert points_for_rate(90.0, benchmark)[:2] == (10, 10.0)
    assert points_for_rate(5.0, benchmark)[:2] == (1, 1.5)  # 1 + 5/10


def test_all_equal_bounds_flat_at_100() -> None:
    benchmark = make_benchmark((100.0,) * 9)
    assert points_for_rate(100.0, benchmark)[:2] == (10, 10.0)
    assert points_for_rate(95.0, benchmark)[:2] == (1, 1.95)


def test_topped_out_by_program_caps_at_seven() -> None:
    benchmark = make_benchmark(topped_out_by_program=True)
    decile, points, uncapped, capped = points_for_rate(82.31, benchmark)
    assert (decile, points, uncapped, capped) == (8, 7.0, 8.9585, True)
    # below the cap nothing changes
    assert points_for_rate(60.0, benchmark)[1:] == (
        round_points(6 + 2.93 / 7.72),
        round_points(6 + 2.93 / 7.72),
        False,
    )
    stats = make_stats(met=90, not_met=10)
    score = score_measure(stats, benchmark_set(benchmark), catalog=CATALOG)
    assert score.points == 7.0 and score.capped
    assert "capped at 7" in score.reason


def test_no_benchmark_is_not_scored() -> None:
    stats = make_stats("M113", CollectionType.MCQM, met=50, not_met=10)
    score = score_measure(stats, benchmark_set(make_benchmark()), catalog=CATALOG)
    assert score.qpp_measure_id == "113SSP" and score.submission_method == "registry"
    assert score.status is ScoreStatus.NO_BENCHMARK
    assert score.points is None and score.decile is None
    assert not score.counts_in_quality_score
    assert "no 2025 CMS benchmark for measure 113SSP (registry)" in score.reason


def test_below_case_minimum_is_not_scored() -> None:
    stats = make_stats(met=15, not_met=4)  # 19 eligible
    score = score_measure(stats, benchmark_set(make_benchmark()), catalog=CATALOG)
    assert score.status is ScoreStatus.BELOW_CASE_MINIMUM
    assert not score.case_minimum_met
    assert score.points is None and not score.counts_in_quality_score
    assert "19 eligible patients, below the case minimum of 20" in score.reason
    # exactly 20 is enough
    score = score_measure(make_stats(met=16, not_met=4), benchmark_set(make_benchmark()), catalog=CATALOG)
    assert score.status is ScoreStatus.SCORED


def test_data_completeness_below_75_earns_zero_but_counts() -> None:
    stats = make_stats(met=30, not_met=10, eligible=54)  # 40/54 = 74.07%
    score = score_measure(stats, benchmark_set(make_benchmark()), catalog=CATALOG)
    assert score.status is ScoreStatus.ZERO_DATA_COMPLETENESS
    assert not score.data_completeness_met and score.case_minimum_met
    assert score.points == 0.0 and score.counts_in_quality_score
    assert "74.07% is below the 75% threshold" in score.reason
    # exactly 75% meets it
    stats = make_stats(met=30, not_met=0, eligible=40)
    assert score_measure(stats, benchmark_set(make_benchmark()), catalog=CATALOG).data_completeness_met


def test_all_excluded_has_no_rate() -> None:
    stats = make_stats(met=0, not_met=0, excl=25)
    score = score_measure(stats, benchmark_set(make_benchmark()), catalog=CATALOG)
    assert score.status is ScoreStatus.NO_PERFORMANCE_RATE and score.points is None


def test_collection_types_pick_their_benchmarks() -> None:
    ehr = make_benchmark(measure_id="236", method="electronicHealthRecord")
    registry = make_benchmark((10, 20, 30, 40, 50, 60, 70, 80, 90), measure_id="236", method="registry")
    ssp = make_benchmark((50, 55, 60, 65, 70, 75, 80, 85, 90), measure_id="236SSP", method="registry")
    benchmarks = benchmark_set(ehr, registry, ssp)
    picked = {
        ct: score_measure(make_stats("M236", ct, met=70, not_met=30), benchmarks, catalog=CATALOG).benchmark
        for ct in CollectionType
    }
    assert picked == {CollectionType.ECQM: ehr, CollectionType.CQM: registry, CollectionType.MCQM: ssp}


def test_decile_for_rate_matches_points() -> None:
    benchmark = make_benchmark()
    for rate in (0, 10, 26.89, 50, 82.31, 96.43, 96.44):
        assert decile_for_rate(rate, benchmark) == points_for_rate(rate, benchmark)[0]
