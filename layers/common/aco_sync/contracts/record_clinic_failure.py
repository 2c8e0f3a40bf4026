"""Step "Record Clinic Failure" (functions/record_clinic_failure, the clinic Map's Catch): the clinic
is ``Sync Failed`` with the reason."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput
from aco_sync.domain.statuses import ClinicSyncStatus


class RecordClinicFailureInput(SyncStepInput):
    tin: str
    name: str = ""
    error: str | None = None
    cause: str | None = None


class RecordClinicFailureOutput(StepOutput):
    tin: str
    name: str = ""
    status: ClinicSyncStatus
    reason: str
