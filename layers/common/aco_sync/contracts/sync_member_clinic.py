"""Step "Sync Member Clinic" (functions/sync_member_clinic): one member clinic's files -> the aggregate."""

from __future__ import annotations

from aco_sync.contracts.common import StepOutput, SyncStepInput
from aco_sync.domain.statuses import ClinicSyncStatus


class SyncMemberClinicInput(SyncStepInput):
    tin: str
    name: str = ""


class SyncMemberClinicOutput(StepOutput):
    """``status``: ``Sync Complete`` (the clinic's data is in the aggregate; finalize makes the clinic
    status so) or ``Sync Failed`` with the ``reason`` (no usable data)."""

    tin: str
    name: str = ""
    status: ClinicSyncStatus
    reason: str | None = None
    records: int = 0
    denominator_counts: int = 0
    upserts: int = 0
    deletes: int = 0
    unchanged: int = 0
    issues: int = 0
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    files_refused: int = 0
    snapshot_written: bool = False
    files_unchanged: bool = False  # the raw files were those of the last sync: its reading was carried
