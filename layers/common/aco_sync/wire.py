"""The one JSON shape of each record ACO Sync stores or hands from one workflow step to the next.

Each shape is the pydantic ``TypeAdapter`` of the record's dataclass, so the field names are the
dataclass's (snake_case) and a field added to a record is stored and read back without a codec to
update. Reading is tolerant the way the stores need: keys a newer writer added are ignored, fields
with a default may be missing (older files). Files CMS reads (the QPP submission JSON, QRDA III) and
the QPP benchmark vocabulary (``Benchmark.to_dict``) are formats of their own, not records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from aco_sync.domain.collection_types import MeasurePlan, sorted_collection_types
from aco_sync.domain.records import MeasureStats, SyncLogEntry
from aco_sync.scoring.clinic_stats import ClinicStats
from aco_sync.scoring.points import MeasureScore

_MEASURE_STATS: TypeAdapter[MeasureStats] = TypeAdapter(MeasureStats)
_LOG_ENTRY: TypeAdapter[SyncLogEntry] = TypeAdapter(SyncLogEntry)
_PLAN: TypeAdapter[MeasurePlan] = TypeAdapter(MeasurePlan)
_CLINIC_STATS: TypeAdapter[ClinicStats] = TypeAdapter(ClinicStats)
_MEASURE_SCORE: TypeAdapter[MeasureScore] = TypeAdapter(MeasureScore)


# ----- measure stats (members.json / mcqm.json "stats", results measures.json) --------------------------
def stats_to_dict(stats: MeasureStats) -> dict[str, Any]:
    data: dict[str, Any] = _MEASURE_STATS.dump_python(stats, mode="json")
    return data


def stats_from_dict(data: Mapping[str, Any]) -> MeasureStats:
    return _MEASURE_STATS.validate_python(data)


# ----- sync log (the state store's log items, the measure plan's log, status JSON) ---------------------
def log_entry_to_dict(entry: SyncLogEntry) -> dict[str, Any]:
    data: dict[str, Any] = _LOG_ENTRY.dump_python(entry, mode="json")
    return data


def log_entry_from_dict(data: Mapping[str, Any]) -> SyncLogEntry:
    return _LOG_ENTRY.validate_python(data)


# ----- the measure plan (plan.json: finalize -> MCQM sync; the report's collection-type section) -------
def plan_to_dict(plan: MeasurePlan) -> dict[str, Any]:
    """Measures in id order, each decision's submitted collection types in eCQM, CQM, MCQM order."""
    data: dict[str, Any] = _PLAN.dump_python(plan, mode="json")
    data["measures"] = {m: data["measures"][m] for m in sorted(data["measures"])}
    for measure_id, decision in data["measures"].items():
        decision["submitted"] = [
            t.value for t in sorted_collection_types(plan.measures[measure_id].submitted)
        ]
    return data


def plan_from_dict(data: Mapping[str, Any]) -> MeasurePlan:
    return _PLAN.validate_python(data)


# ----- per-TIN clinic stats (results clinic_stats.json) --------------------------------------------------
def clinic_stats_to_dict(stats: ClinicStats) -> dict[str, Any]:
    """With the rates and shares the stats compute (``performance_rate``, ``share_of_aco_patients``...)."""
    data: dict[str, Any] = _CLINIC_STATS.dump_python(stats, mode="json")
    return data


def clinic_stats_from_dict(data: Mapping[str, Any]) -> ClinicStats:
    """The computed rates and shares in ``data`` are ignored: they are computed again."""
    return _CLINIC_STATS.validate_python(data)


# ----- a measure's score (results quality-score.json "scores") ------------------------------------------
def score_to_dict(score: MeasureScore) -> dict[str, Any]:
    """The score's fields and ``counts_in_quality_score``; its benchmark in the QPP benchmark vocabulary."""
    data: dict[str, Any] = _MEASURE_SCORE.dump_python(score, mode="json", exclude={"benchmark"})
    data["benchmark"] = score.benchmark.to_dict() if score.benchmark else None
    return data
