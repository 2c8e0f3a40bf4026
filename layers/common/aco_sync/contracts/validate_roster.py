"""Step "Validate Roster" (functions/validate_roster): the sync's roster and member clinics."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput


class ValidateRosterInput(SyncStepInput):
    pass


class ValidateRosterOutput(StepOutput):
    performance_year: int
    has_active_roster: bool
    roster_key: str | None = None
    clinic_count: int
    batches: list[int]  # the Map's items: batch numbers (the clinics stay in the sync state table)
