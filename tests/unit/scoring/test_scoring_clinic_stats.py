"""Per-TIN clinic stats: own rates per measure instance and share of the ACO's patients."""

from __future__ import annotations

import json

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.records import CollectionType, PatientOutcome, Performance
from aco_sync.scoring.clinic_stats import compute_clinic_stats
from aco_sync.wire import clinic_stats_from_dict, clinic_stats_to_dict

TIN_A, TIN_B = "111111111", "222222222"


def outcome(pid: str, measure: str, result: Performance, *tins: str, ct: CollectionType = CollectionType.CQM):
    return PatientOutcome(
        master_pat_id=pid,
        measure_id=measure,
        collection_type=ct,
        outcome=result,
        performance_date=None,
        source_tins=tuple(sorted(tins)),
    )


def test_rates_and_shares_per_tin() -> None:
    outcomes = [
        outcome("P1", "M236", Performance.MET, TIN_A),
        outcome("P2", "M236", Performance.NOT_MET, TIN_A, TIN_B),  # shared patient counts for both
        outcome("P3", "M236", Performance.MET, TIN_B),
        outcome("P4", "M236", Performance.DENOMINATOR_ONLY, TIN_B),
        outcome("P1", "M001", Performance.DENOMINATOR_EXCLUSION, TIN_A),
        outcome("P5", "M001", Performance.MET, TIN_B, ct=CollectionType.MCQM),
    ]
    stats = compute_clinic_stats(outcomes, catalog=default_catalog())
    assert [s.tin for s in stats] == [TIN_A, TIN_B]
    clinic_a, clinic_b = stats
    assert (clinic_a.patients, clinic_a.aco_patients, clinic_a.share_of_aco_patients) == (2, 5, 40.0)
    assert (clinic_b.patients, clinic_b.share_of_aco_patients) == (4, 80.0)
    assert [(m.measure_id, m.collection_type) for m in clinic_a.measures] == [
        ("M001", CollectionType.CQM),
        ("M236", CollectionType.CQM),
    ]
    a236 = clinic_a.measures[1]
    assert (a236.eligible_population, a236.performance_met, a236.performance_not_met) == (2, 1, 1)
    assert a236.performance_rate == 50.0 and a236.data_completeness == 100.0
    assert a236.aco_patients == 4 and a236.share_of_aco_patients == 50.0
    b236 = next(m for m in clinic_b.measures if m.measure_id == "M236")
    assert (
        b236.performance_rate == 50.0
        and b236.data_completeness == 66.67
        and b236.share_of_aco_patients == 75.0
    )
    a001 = clinic_a.measures[0]
    assert a001.inverse and a001.performance_rate is None and a001.eligible_population_exclusion == 1


def test_round_trips_through_json() -> None:
    stats = compute_clinic_stats(
        [outcome("P1", "M112", Performance.MET, TIN_A), outcome("P2", "M112", Performance.NOT_MET, TIN_A)],
        catalog=default_catalog(),
    )
    data = json.loads(json.dumps([clinic_stats_to_dict(s) for s in stats]))
    assert data[0]["measures"][0]["performance_rate"] == 50.0
    restored = [clinic_stats_from_dict(d) for d in data]
    assert restored == stats and [clinic_stats_to_dict(r) for r in restored] == data


def test_no_outcomes_no_stats() -> None:
    assert compute_clinic_stats([], catalog=default_catalog()) == []
