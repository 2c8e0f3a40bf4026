"""Step "Match Roster" of the MCQM machine (functions/mcqm_sync): roster matching, MCQM instances."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class McqmSyncInput(SyncStepInput):
    pass


class McqmSyncOutput(StepOutput):
    roster_size: int
    mcqm_instances: int
    mcqm_patients: int
