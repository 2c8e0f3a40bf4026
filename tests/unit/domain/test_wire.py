"""The one wire shape of each stored record (``aco_sync.wire``): items written before the shapes became
pydantic ``TypeAdapter`` dumps (by the hand-written codecs) still load, and are written back unchanged."""

from __future__ import annotations

from typing import Any

from aco_sync.domain.records import CollectionType, SyncLogEntry
from aco_sync.wire import (
    clinic_stats_from_dict,
    clinic_stats_to_dict,
    log_entry_from_dict,
    log_entry_to_dict,
    plan_from_dict,
    plan_to_dict,
    stats_from_dict,
    stats_to_dict,
)

# as the earlier codecs wrote them (service/artifacts.stats_to_dict, MeasurePlan.to_dict, ClinicStats.to_dict)
OLD_STATS: dict[str, Any] = {
    "measure_id": "M001",
    "collection_type": "MCQM",
    "eligible_population": 12,
    "performance_met": 3,
    "performance_not_met": 7,
    "eligible_population_exclusion": 1,
    "eligible_population_exception": 1,
    "performance_rate": 30.0,
    "data_completeness": 100.0,
    "inverse": True,
    "patients_by_tin": {"123456789": 12},
    "roster_coverage": 87.5,
}
OLD_LOG = {
    "kind": "halt",
    "message": "m",
    "level": "error",
    "measure_id": "M001",
    "tin": None,
    "file": None,
    "line": 3,
}
OLD_PLAN: dict[str, Any] = {
    "measures": {
        "M001": {
            "measure_id": "M001",
            "submitted": ["eCQM", "CQM", "MCQM"],
            "instances": ["MCQM"],
            "halted": False,
            "halt_message": None,
            "cqm_removed": True,
            "ecqm_into_cqm": True,
            "ecqm_into_mcqm": True,
            "mcqm_forced_by_counts": False,
            "tins_by_collection_type": {"eCQM": ["111111111"], "CQM": ["222222222"], "MCQM": ["333333333"]},
            "reason": "a TIN submitted MCQM",
        }
    },
    "log": [OLD_LOG],
    "has_active_roster": True,
}
OLD_CLINIC_STATS: dict[str, Any] = {
    "tin": "123456789",
    "patients": 2,
    "aco_patients": 4,
    "share_of_aco_patients": 50.0,
    "measures": [
        {
            "measure_id": "M112",
            "collection_type": "eCQM",
            "inverse": False,
            "eligible_population": 2,
            "performance_met": 1,
            "performance_not_met": 1,
            "eligible_population_exclusion": 0,
            "eligible_population_exception": 0,
            "performance_rate": 50.0,
            "data_completeness": 100.0,
            "aco_patients": 4,
            "share_of_aco_patients": 50.0,
        }
    ],
}


def test_stored_measure_stats_load_and_are_written_back_unchanged() -> None:
    stats = stats_from_dict(OLD_STATS)
    assert stats.collection_type is CollectionType.MCQM and stats.patients_by_tin == {"123456789": 12}
    assert stats_to_dict(stats) == OLD_STATS


def test_stored_log_entries_load_with_defaults_for_what_older_items_lack() -> None:
    assert log_entry_to_dict(log_entry_from_dict(OLD_LOG)) == OLD_LOG
    assert log_entry_from_dict({"kind": "status", "message": "x"}) == SyncLogEntry(kind="status", message="x")


def test_a_stored_measure_plan_loads_and_is_written_back_unchanged() -> None:
    plan = plan_from_dict(OLD_PLAN)
    decision = plan.measures["M001"]
    assert decision.submitted == frozenset(CollectionType) and decision.instances == (CollectionType.MCQM,)
    assert decision.tins_by_collection_type[CollectionType.CQM] == ("222222222",)
    assert plan.mcqm_needed and plan.log == [log_entry_from_dict(OLD_LOG)]
    assert plan_to_dict(plan) == OLD_PLAN
    assert list(plan_to_dict(plan)["measures"]["M001"]["submitted"]) == ["eCQM", "CQM", "MCQM"]


def test_stored_clinic_stats_load_and_their_rates_are_computed_again() -> None:
    stats = clinic_stats_from_dict(OLD_CLINIC_STATS)
    assert stats.measures[0].performance_rate == 50.0
    assert clinic_stats_to_dict(stats) == OLD_CLINIC_STATS
