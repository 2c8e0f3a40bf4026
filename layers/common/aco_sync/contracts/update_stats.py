"""Step "Update Aggregate Stats" (functions/update_stats): the measure results and the reports."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class UpdateStatsInput(SyncStepInput):
    pass


class UpdateStatsOutput(StepOutput):
    measure_instances: int
    results_prefix: str
    reports: list[str]
