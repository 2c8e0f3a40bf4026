"""Step "Clean Up Removed Encounters" (functions/clean_up_removed_encounters): aggregate encounters whose
source file or member clinic is gone are removed."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class CleanUpRemovedEncountersInput(SyncStepInput):
    pass


class CleanUpRemovedEncountersOutput(StepOutput):
    encounters_removed: int
