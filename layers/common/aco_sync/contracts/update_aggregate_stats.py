"""Step "Update Aggregate Stats" (functions/update_aggregate_stats): the measure results and the reports."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class UpdateAggregateStatsInput(SyncStepInput):
    pass


class UpdateAggregateStatsOutput(StepOutput):
    measure_instances: int
    results_prefix: str
    reports: list[str] = []  # none written when the results of an earlier sync were carried
    results_of: str | None = None  # that earlier sync
