"""Steps "Release ACO Lock ..." (functions/release_aco_lock): release the lock this sync holds."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class ReleaseAcoLockInput(SyncStepInput):
    pass


class ReleaseAcoLockOutput(StepOutput):
    aco_id: str
    sync_id: str
    released: bool
