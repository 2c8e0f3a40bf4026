"""Step "Acquire ACO Lock" (functions/acquire_aco_lock): take the per-ACO lock or report it held."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class AcquireAcoLockInput(SyncStepInput):
    trigger: str = "manual"
    execution_arn: str


class AcquireAcoLockOutput(StepOutput):
    acquired: bool  # "Lock Acquired?" reads $.lock.acquired
    aco_id: str
    sync_id: str
    took_over_from: str | None = None  # acquired: the stale holder's sync id, if the lock was taken over
    held_by: str | None = None  # not acquired: the sync that holds the lock
