"""Step "Combine Member Partitions" (functions/combine_member_partitions): the members' stats and log
from the sums of the engine partitions."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class CombineMemberPartitionsInput(SyncStepInput):
    pass


class CombineMemberPartitionsOutput(StepOutput):
    partitions: int
    measure_instances: int
    patients: int
    results_of: str | None = None  # nothing changed: the earlier sync whose results stand for this one
