"""Statistics per measure instance: counts, rates (None when undefined), completeness, inverse, TINs."""

from __future__ import annotations

from datetime import date

import pytest
from engine_factories import CATALOG, TIN_A, TIN_B, plan_for, record

from aco_sync.domain.engine import aggregate_members
from aco_sync.domain.records import CollectionType, Performance
from aco_sync.domain.stats import data_completeness, performance_rate
from aco_sync.wire import stats_from_dict, stats_to_dict
from pseudonym_keys import TEST_KEY

P = Performance


def _stats(records, measure="M001", instance=CollectionType.CQM):
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    stats = result.stats_for(measure, instance)
    assert stats is not None
    return stats


def test_counts_rate_and_completeness_per_instance():
    records = [
        record(first="A", perf=P.MET),
        record(first="B", perf=P.MET),
        record(first="C", perf=P.NOT_MET),
        record(first="D", perf=P.DENOMINATOR_EXCLUSION),
        record(first="E", perf=P.DENOMINATOR_EXCEPTION),
        record(first="F", perf=P.DENOMINATOR_ONLY, tin=TIN_B),
    ]
    stats = _stats(records)
    assert (
        stats.eligible_population,
        stats.performance_met,
        stats.performance_not_met,
        stats.eligible_population_exclusion,
        stats.eligible_population_exception,
    ) == (6, 2, 1, 1, 1)
    assert stats.performance_rate == pytest.approx(200 / 3)
    assert stats.data_completeness == pytest.approx(500 / 6)
    assert stats.patients_by_tin == {TIN_A: 5, TIN_B: 1}
    assert stats.roster_coverage is None


def test_performance_rate_is_none_when_no_numerator():
    stats = _stats([record(perf=P.DENOMINATOR_EXCLUSION)])
    assert stats.performance_rate is None and stats.data_completeness == 100.0
    assert performance_rate(0, 0) is None and data_completeness(0, 0, 0, 0, 0) is None


def test_inverse_flag_comes_from_catalog():
    assert _stats([record(measure="M001")], "M001").inverse is True
    assert _stats([record(measure="M236")], "M236").inverse is False


def test_patient_seen_at_two_tins_counts_for_both():
    records = [record(tin=TIN_A, day=date(2025, 1, 1)), record(tin=TIN_B, day=date(2025, 2, 1))]
    stats = _stats(records)
    assert stats.eligible_population == 1 and stats.patients_by_tin == {TIN_A: 1, TIN_B: 1}


def test_ecqm_instance_stats_and_their_json():
    records = [record(ct=CollectionType.ECQM, measure="M236")]
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert result.counts["records"] == 1 and result.counts["patients"] == 1 and result.outcome_count == 1
    (instance,) = [stats_to_dict(s) for s in result.stats]
    assert instance["collection_type"] == "eCQM" and instance["eligible_population"] == 1
    assert stats_from_dict(instance) == result.stats[0]


def test_sync_log_has_per_tin_counts():
    records = [record(tin=TIN_A), record(tin=TIN_A, measure="M236"), record(tin=TIN_B, first="Bo")]
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    lines = [e.message for e in result.log if e.kind == "tin_counts"]
    assert lines == [f"TIN {TIN_A}: records read: 2", f"TIN {TIN_B}: records read: 1"]
