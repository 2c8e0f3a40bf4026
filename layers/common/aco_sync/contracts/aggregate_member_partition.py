"""Step "Aggregate Member Partition" (functions/aggregate_member_partition), one iteration of the
Distributed Map "Aggregate Member Partitions": the CQM/eCQM aggregation of one engine partition."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class AggregateMemberPartitionInput(SyncStepInput):
    partition: int
    partitions: int


class AggregateMemberPartitionOutput(StepOutput):
    partition: int
    records: int
    patients: int
