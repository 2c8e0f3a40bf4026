"""Step "Initial Sync" (functions/initial_sync): every member clinic's providers -> the aggregate."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class InitialSyncInput(SyncStepInput):
    pass


class InitialSyncOutput(StepOutput):
    providers_added: int
    providers_updated: int
    providers_removed: int
