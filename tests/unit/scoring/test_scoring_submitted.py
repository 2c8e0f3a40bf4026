"""Scoring on the submitted numbers: case count, data completeness and performance rate computed from the
values of the submission file, as CMS defines them (qpp-submissions-docs data.ts)."""

from __future__ import annotations

import pytest
from test_scoring_points import CATALOG, benchmark_set, make_benchmark, make_stats

from aco_sync.domain.records import CollectionType
from aco_sync.scoring.points import ScoreStatus, score_measure
from aco_sync.scoring.submitted_counts import submitted_counts

REGISTRY = make_benchmark(method="registry")


def test_22_patients_3_excluded_is_below_cms_case_minimum() -> None:
    """The issue's example: 22 eligible, 3 excluded. Counting the exclusions in the eligible population
    scored it (7.67 points); CMS sees eligiblePopulation 19 < 20 and does not score it."""
    stats = make_stats("M236", CollectionType.CQM, met=15, not_met=4, excl=3)
    assert stats.eligible_population == 22
    submitted = submitted_counts(stats)
    assert (submitted.eligible_population, submitted.eligible_population_exclusion) == (19, 0)
    assert submitted.case_count == 19
    score = score_measure(stats, benchmark_set(REGISTRY), catalog=CATALOG)
    assert score.status is ScoreStatus.BELOW_CASE_MINIMUM and score.points is None
    assert not score.counts_in_quality_score
    assert score.eligible_population == 19 and score.eligible_population_exclusion == 0
    assert score.reason.startswith("Not scored: 19 eligible patients, below the case minimum of 20.")
    assert "3 excluded patients are subtracted" in score.reason
    # the same counts as an eCQM: DENOM includes the exclusions, caseCount = eligiblePopulation = 22
    ecqm = score_measure(make_stats("M236", met=15, not_met=4, excl=3), benchmark_set(make_benchmark()),
                         catalog=CATALOG)  # fmt: skip
    assert ecqm.status is ScoreStatus.SCORED and ecqm.eligible_population == 22


def test_76_percent_here_is_70_percent_for_cms_and_earns_nothing() -> None:
    """100 eligible, 20 excluded, 56 reported: (56 + 20) / 100 = 76% with the exclusions inside the eligible
    population, but CMS computes 56 / 80 = 70%, below the 75% threshold: 0 points."""
    stats = make_stats("M236", CollectionType.CQM, met=40, not_met=16, excl=20, eligible=100)
    assert stats.data_completeness == pytest.approx(76.0)
    score = score_measure(stats, benchmark_set(REGISTRY), catalog=CATALOG)
    assert score.data_completeness == pytest.approx(70.0)
    assert score.status is ScoreStatus.ZERO_DATA_COMPLETENESS and score.points == 0.0
    assert score.counts_in_quality_score  # still counts in the score's denominator
    # 75% of 80 = 60 reported: 4 more patients
    assert score.completeness_gap == 4


def test_reporting_rate_and_performance_rate_follow_data_ts() -> None:
    submitted = submitted_counts(make_stats("M134", CollectionType.MCQM, met=30, not_met=10, excl=5, excep=5,
                                            eligible=60))  # fmt: skip
    # eligiblePopulation 55, exclusion 0: reportingRate = (30 + 0 + 5 + 10) / 55
    assert submitted.reporting_rate == pytest.approx(100 * 45 / 55)
    assert submitted.performance_rate == pytest.approx(75.0)
    assert submitted.value(end_to_end=False) == {
        "isEndToEndReported": False,
        "performanceMet": 30,
        "performanceNotMet": 10,
        "eligiblePopulationExclusion": 0,
        "eligiblePopulationException": 5,
        "eligiblePopulation": 55,
    }
    empty = submitted_counts(make_stats("M134", CollectionType.CQM, met=0, not_met=0, eligible=0))
    assert empty.reporting_rate is None and empty.performance_rate is None
