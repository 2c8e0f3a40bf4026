"""The ACO quality score across measure instances."""

from __future__ import annotations

from test_scoring_points import CATALOG, benchmark_set, make_benchmark, make_stats

from aco_sync.domain.records import CollectionType
from aco_sync.scoring.points import score_measure
from aco_sync.scoring.quality import aco_quality_score


def test_score_is_100_points_over_10_per_counted_measure() -> None:
    benchmarks = benchmark_set(
        make_benchmark(measure_id="236", method="electronicHealthRecord"),
        make_benchmark((90, 80, 70, 60, 50, 40, 30, 20, 10), measure_id="001", inverse=True),
        make_benchmark(measure_id="134"),
    )
    scores = [
        score_measure(make_stats(met=8231, not_met=1769), benchmarks, catalog=CATALOG),  # 82.31%: 8.9585
        score_measure(
            make_stats("M001", met=15, not_met=85, inverse=True), benchmarks, catalog=CATALOG
        ),  # 9.5
        score_measure(
            make_stats("M134", met=30, not_met=10, eligible=60), benchmarks, catalog=CATALOG
        ),  # DC 0
        score_measure(make_stats("M112", met=10, not_met=5), benchmarks, catalog=CATALOG),  # no benchmark
    ]
    quality = aco_quality_score(scores)
    assert quality.measures_scored == 3
    assert quality.total_points == 18.4585
    assert quality.score == round(100 * 18.4585 / 30, 4) == 61.5283
    assert quality.counted_instances == ["M236 eCQM", "M001 eCQM", "M134 eCQM"]
    assert [s.instance for s in quality.not_counted] == ["M112 eCQM"]
    assert quality.targets == (
        "to reach decile 9 on M236 (eCQM) you need 82.71%, i.e. 40 more patients met",
        "to reach decile 10 on M001 (eCQM) you need 10.00% or lower, i.e. 5 fewer patients met",
        "to earn points on M134 (eCQM) report the performance of 5 more of its 60 eligible patients "
        "(data completeness 66.67%, 75% needed)",
    )
    data = quality.to_dict()
    assert data["max_points"] == 30 and data["score"] == 61.5283


def test_issue_example_shape_for_m236() -> None:
    # 236 eCQM at 75% of 460 patients against the 2025 deciles: 79.31 is the next bound
    benchmark = make_benchmark((45.71, 55.17, 61.16, 65.32, 68.735, 71.94, 75.31, 79.31, 84.74))
    stats = make_stats(met=345, not_met=115)  # 75.00%
    score = score_measure(stats, benchmark_set(benchmark), catalog=CATALOG)
    assert score.decile == 7  # 75.31 is decile 8's lower bound: 75.00% is still in decile 7
    target = score.next_decile
    assert target is not None
    # decile 8 starts at 75.31%: ceil(0.7531 * 460) = 347 met, 2 more than 345
    assert target.message == "to reach decile 8 on M236 (eCQM) you need 75.31%, i.e. 2 more patients met"


def test_no_counted_measure_has_no_score() -> None:
    scores = [
        score_measure(
            make_stats(collection_type=CollectionType.CQM, met=5, not_met=1),
            benchmark_set(make_benchmark(method="registry")),
            catalog=CATALOG,
        )
    ]
    quality = aco_quality_score(scores)
    assert quality.score is None and quality.measures_scored == 0 and quality.targets == ()


def test_a_measure_counts_once_in_its_highest_scoring_collection_type() -> None:
    benchmarks = benchmark_set(
        make_benchmark(measure_id="236", method="electronicHealthRecord"),
        make_benchmark((50, 55, 60, 65, 70, 75, 80, 85, 90), measure_id="236SSP", method="registry"),
    )
    ecqm = score_measure(make_stats(met=8231, not_met=1769), benchmarks, catalog=CATALOG)  # 8.9585
    mcqm = score_measure(
        make_stats(collection_type=CollectionType.MCQM, met=92, not_met=8), benchmarks, catalog=CATALOG
    )  # 92% -> decile 10
    quality = aco_quality_score([ecqm, mcqm])
    assert quality.measures_scored == 1
    assert quality.counted_instances == ["M236 MCQM"]
    assert quality.score == 100.0 and quality.total_points == 10.0
    assert quality.superseded == (ecqm,)
    assert quality.why_not_counted(ecqm) == (
        "Not counted: M236 MCQM scores higher (10.0000 points); "
        "a measure counts once, in its highest-scoring collection type."
    )
    assert quality.why_not_counted(mcqm) is None
    assert quality.to_dict()["not_counted"][0]["instance"] == "M236 eCQM"
    assert quality.targets == ()  # the counted instance is already in decile 10


def test_measures_below_data_completeness_say_how_many_patients_to_report() -> None:
    benchmarks = benchmark_set(make_benchmark(measure_id="236"))
    # 40 reported of 54 eligible: 75% of 54 = 40.5 -> 41 needed, 1 more
    score = score_measure(make_stats(met=30, not_met=10, eligible=54), benchmarks, catalog=CATALOG)
    assert score.completeness_gap == 1
    quality = aco_quality_score([score])
    assert quality.targets == (
        "to earn points on M236 (eCQM) report the performance of 1 more of its 54 eligible patients "
        "(data completeness 74.07%, 75% needed)",
    )
    # 39 eligible, 18 reported: 30 needed (29.25 rounded up), 12 more
    score = score_measure(make_stats(met=5, not_met=13, eligible=39), benchmarks, catalog=CATALOG)
    assert score.completeness_gap == 12
