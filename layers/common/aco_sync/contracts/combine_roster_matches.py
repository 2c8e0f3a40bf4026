"""Step "Combine Roster Matches" of the MCQM machine (functions/combine_roster_matches): the MCQM
instances' stats and log from the sums of the engine partitions."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class CombineRosterMatchesInput(SyncStepInput):
    pass


class CombineRosterMatchesOutput(StepOutput):
    roster_size: int
    mcqm_instances: int
    mcqm_patients: int
