"""Step "Validate Roster" (functions/validate_roster): the sync's roster and member clinics; the clinics
are queued in the sync state table and their batches listed in the batch manifest."""

from __future__ import annotations

from pydantic import BaseModel

from aco_sync.contracts.common import StepOutput, SyncStepInput


class ValidateRosterInput(SyncStepInput):
    pass


class ValidateRosterOutput(StepOutput):
    performance_year: int
    has_active_roster: bool
    roster_key: str | None = None
    clinic_count: int
    batch_count: int
    batch_manifest_key: str  # the Distributed Map's ItemReader reads it: a JSON list of BatchManifestItem


class BatchManifestItem(BaseModel):
    """One item of the batch manifest (``[{"batch": 0}, {"batch": 1}, ...]``): one child execution."""

    batch: int
