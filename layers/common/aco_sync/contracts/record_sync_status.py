"""Steps "Mark ... " / "Record Sync Failure" / "Record Sync Aborted" (functions/record_sync_status): a
sync's status transitions."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput
from aco_sync.domain.statuses import SyncStatus


class RecordSyncStatusInput(SyncStepInput):
    status: SyncStatus
    execution_arn: str | None = None
    error: str | None = None
    cause: str | None = None


class RecordSyncStatusOutput(StepOutput):
    aco_id: str
    sync_id: str
    status: SyncStatus
