"""Step "Match Roster" of the MCQM machine (functions/match_roster): roster matching, MCQM instances."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class MatchRosterInput(SyncStepInput):
    pass


class MatchRosterOutput(StepOutput):
    roster_size: int
    mcqm_instances: int
    mcqm_patients: int
