"""Per-measure aggregation rules, applied per MASTER_PAT_ID through aggregate_members."""

from __future__ import annotations

import random
from datetime import date

import pytest
from engine_factories import CATALOG, TIN_A, TIN_B, TIN_C, plan_for, record

from aco_sync.domain.catalog import AggregationRule
from aco_sync.domain.engine import aggregate_members
from aco_sync.domain.records import CollectionType, Performance
from pseudonym_keys import TEST_KEY
from support.rules_oracle import resolve_outcome

MET, NOT_MET = Performance.MET, Performance.NOT_MET
EXCL, EXCEP, DONLY = (
    Performance.DENOMINATOR_EXCLUSION,
    Performance.DENOMINATOR_EXCEPTION,
    Performance.DENOMINATOR_ONLY,
)


def _outcome(records):
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert len(result.outcomes) == 1
    return result.outcomes[0]


def test_m001_most_recent_numerator_is_scored_across_tins():
    records = [
        record(tin=TIN_A, perf=NOT_MET, day=date(2025, 2, 1)),
        record(tin=TIN_B, perf=MET, day=date(2025, 6, 1)),
        record(tin=TIN_C, perf=NOT_MET, day=date(2025, 4, 1)),
    ]
    outcome = _outcome(records)
    assert outcome.outcome is MET and outcome.performance_date == date(2025, 6, 1)
    assert outcome.source_tins == (TIN_A, TIN_B, TIN_C)
    assert len(outcome.source_keys) == 3


def test_m001_denominator_only_records_ignored_when_a_valid_numerator_exists():
    records = [record(perf=DONLY, day=date(2025, 12, 1)), record(perf=NOT_MET, day=date(2025, 1, 5))]
    outcome = _outcome(records)
    assert outcome.outcome is NOT_MET and outcome.performance_date == date(2025, 1, 5)


# test id: (measure, the patient's records as (performance, month of 2025 (day 1), TIN), resolved outcome)
TWO_RECORDS = {
    "m134_numerator_once_per_py_same_as_m001": ("M134", [(DONLY, 9, TIN_A), (MET, 2, TIN_A)], MET),
    "m112_any_met_wins_over_more_recent_not_met": ("M112", [(MET, 1, TIN_A), (NOT_MET, 11, TIN_B)], MET),
    "m113_follows_m112_logic": ("M113", [(NOT_MET, 12, TIN_A), (MET, 1, TIN_B)], MET),
    "m236_most_recent_numerator_even_if_not_met": ("M236", [(MET, 3, TIN_A), (NOT_MET, 10, TIN_B)], NOT_MET),
}


@pytest.mark.parametrize(("measure", "records", "expected"), TWO_RECORDS.values(), ids=TWO_RECORDS.keys())
def test_the_measure_rule_resolves_two_records(measure, records, expected):
    patient = [
        record(measure=measure, perf=perf, day=date(2025, month, 1), tin=tin) for perf, month, tin in records
    ]
    assert _outcome(patient).outcome is expected


def test_only_denominator_only_records_stay_in_eligible_population_without_performance():
    records = [record(perf=DONLY, day=date(2025, 3, 1)), record(perf=DONLY, day=date(2025, 5, 1), tin=TIN_B)]
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert result.outcomes[0].outcome is DONLY
    stats = result.stats_for("M001", CollectionType.CQM)
    assert stats is not None and stats.eligible_population == 1 and stats.data_completeness == 0.0


def test_m112_exclusion_wins_over_met():
    records = [
        record(measure="M112", perf=MET, day=date(2025, 6, 1)),
        record(measure="M112", perf=EXCL, day=date(2025, 2, 1), tin=TIN_B),
    ]
    outcome = _outcome(records)
    assert outcome.outcome is EXCL and outcome.performance_date == date(2025, 2, 1)


@pytest.mark.parametrize("measure", ["M001", "M134", "M236", "M113"])
def test_exclusion_anywhere_in_py_wins_for_every_measure(measure):
    records = [
        record(measure=measure, perf=MET, day=date(2025, 12, 1)),
        record(measure=measure, perf=EXCL, day=date(2025, 1, 1), tin=TIN_B),
    ]
    assert _outcome(records).outcome is EXCL


@pytest.mark.parametrize("measure", ["M001", "M112", "M236"])
def test_exception_applies_only_when_not_met(measure):
    met = [
        record(measure=measure, perf=MET, day=date(2025, 3, 1)),
        record(measure=measure, perf=EXCEP, day=date(2025, 4, 1)),
    ]
    assert _outcome(met).outcome is MET
    not_met = [
        record(measure=measure, perf=NOT_MET, day=date(2025, 3, 1)),
        record(measure=measure, perf=EXCEP, day=date(2025, 4, 1)),
    ]
    assert _outcome(not_met).outcome is EXCEP
    only = [record(measure=measure, perf=DONLY), record(measure=measure, perf=EXCEP)]
    assert _outcome(only).outcome is EXCEP


def test_same_date_tie_break_is_deterministic_and_order_independent():
    day = date(2025, 5, 5)
    records = [
        record(tin=TIN_A, perf=NOT_MET, day=day),
        record(tin=TIN_B, perf=MET, day=day),
        record(tin=TIN_C, perf=NOT_MET, day=day),
    ]
    results = set()
    rng = random.Random(7)
    for _ in range(10):
        shuffled = records[:]
        rng.shuffle(shuffled)
        outcome = _outcome(shuffled)
        results.add((outcome.outcome, outcome.source_keys))
    assert results == {(MET, tuple(sorted(r.source_key for r in records)))}


def test_record_without_date_counts_as_oldest():
    records = [record(perf=MET, day=None), record(perf=NOT_MET, day=date(2025, 1, 1))]
    assert _outcome(records).outcome is NOT_MET


def test_rule_comes_from_catalog_definition():
    records = [record(perf=MET, day=date(2025, 1, 1)), record(perf=NOT_MET, day=date(2025, 2, 1))]
    assert resolve_outcome(records, AggregationRule.ANY_MET_WINS).outcome is MET
    assert resolve_outcome(records, AggregationRule.MOST_RECENT_NUMERATOR).outcome is NOT_MET
    assert CATALOG.get("M112").rule is AggregationRule.ANY_MET_WINS
    assert CATALOG.get("M236").rule is AggregationRule.MOST_RECENT_NUMERATOR


def test_records_of_halted_measure_are_counted_and_logged_not_aggregated():
    records = [record(ct=CollectionType.MCQM), record(ct=CollectionType.CQM, tin=TIN_B)]
    plan = plan_for(records, has_roster=False)
    result = aggregate_members(records, plan, catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert result.outcomes == []
    assert result.counts["records_not_aggregated"] == 2
    assert any("measure is halted" in e.message for e in result.log)
