"""The one JSON shape of each record ACO Sync stores or hands from one workflow step to the next.

Each shape is the pydantic ``TypeAdapter`` of the record's dataclass, so the field names are the
dataclass's (snake_case) and a field added to a record is stored and read back without a codec to
update. Reading is tolerant the way the stores need: keys a newer writer added are ignored, fields
with a default may be missing (older files). Files CMS reads (the QPP submission JSON, QRDA III) and
the QPP benchmark vocabulary (``Benchmark.to_dict``) are formats of their own, not records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from aco_sync.domain.collection_types import MeasurePlan, sorted_collection_types
from aco_sync.domain.records import DenominatorCount, MeasureStats, RosterEntry, SyncLogEntry
from aco_sync.scoring.clinic_stats import ClinicStats
from aco_sync.scoring.points import MeasureScore

T = TypeVar("T")


class WireShape(Generic[T]):
    """The JSON shape of one record type: ``to_dict`` (JSON-able, computed fields included) and
    ``from_dict`` (validated; computed fields and unknown keys ignored)."""

    def __init__(self, record_type: type[T]) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(record_type)

    def to_dict(self, record: T, *, exclude: set[str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = self._adapter.dump_python(record, mode="json", exclude=exclude)
        return data

    def from_dict(self, data: Mapping[str, Any]) -> T:
        return self._adapter.validate_python(data)


MEASURE_STATS = WireShape(MeasureStats)  # members.json / mcqm.json "stats", the results' measures.json
SYNC_LOG_ENTRY = WireShape(SyncLogEntry)  # the measure plan's log, the status JSON
MEASURE_PLAN = WireShape(MeasurePlan)  # plan.json: finalize -> MCQM sync
CLINIC_STATS = WireShape(ClinicStats)  # the results' clinic_stats.json, with the rates and shares
MEASURE_SCORE = WireShape(MeasureScore)  # the results' quality-score.json "scores"
ROSTER_ENTRY = WireShape(RosterEntry)  # the active roster's normalised JSON (ingest -> every step)
DENOMINATOR_COUNT = WireShape(DenominatorCount)  # a clinic's denominator counts (clinic sync -> finalize)

stats_to_dict = MEASURE_STATS.to_dict
stats_from_dict = MEASURE_STATS.from_dict
log_entry_to_dict = SYNC_LOG_ENTRY.to_dict
log_entry_from_dict = SYNC_LOG_ENTRY.from_dict
plan_from_dict = MEASURE_PLAN.from_dict
clinic_stats_to_dict = CLINIC_STATS.to_dict
clinic_stats_from_dict = CLINIC_STATS.from_dict  # the stored rates and shares are computed again
roster_entry_from_dict = ROSTER_ENTRY.from_dict
count_to_dict = DENOMINATOR_COUNT.to_dict
count_from_dict = DENOMINATOR_COUNT.from_dict


def roster_entry_to_dict(entry: RosterEntry) -> dict[str, Any]:
    """The entry's fields; its eligible measures in id order (a set: the same roster, the same JSON)."""
    data = ROSTER_ENTRY.to_dict(entry)
    if entry.eligible_measures is not None:
        data["eligible_measures"] = sorted(entry.eligible_measures)
    return data


def plan_to_dict(plan: MeasurePlan) -> dict[str, Any]:
    """Measures in id order, each decision's submitted collection types in eCQM, CQM, MCQM order."""
    data = MEASURE_PLAN.to_dict(plan)
    data["measures"] = {m: data["measures"][m] for m in sorted(data["measures"])}
    for measure_id, decision in data["measures"].items():
        submitted = sorted_collection_types(plan.measures[measure_id].submitted)
        decision["submitted"] = [t.value for t in submitted]
    return data


def score_to_dict(score: MeasureScore) -> dict[str, Any]:
    """The score's fields and ``counts_in_quality_score``; its benchmark in the QPP benchmark vocabulary."""
    data = MEASURE_SCORE.to_dict(score, exclude={"benchmark"})
    data["benchmark"] = score.benchmark.to_dict() if score.benchmark else None
    return data
