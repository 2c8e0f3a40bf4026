"""Step "Match Roster" of the MCQM machine (functions/match_roster), one iteration of the Distributed Map
"Match Roster Partitions": the roster match of one engine partition."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class MatchRosterInput(SyncStepInput):
    partition: int
    partitions: int


class MatchRosterOutput(StepOutput):
    partition: int
    records: int
    patients: int  # patients copied into the MCQM instances
