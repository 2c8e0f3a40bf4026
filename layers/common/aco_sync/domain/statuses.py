"""The status vocabulary: what a sync run and each member clinic (TIN) show (PRODUCT.md's status texts).

One vocabulary for a clinic: the clinic step's result (``status``) and the outcome it keeps in the
clinic's status item (``ClinicStatus.outcome``) are ``Sync Complete`` or ``Sync Failed``, the texts the
user sees once finalize has run. Items stored before (outcome ``"synced"``/``"failed"``) still load:
``clinic_outcome`` reads those words as the statuses they stood for.
"""

from __future__ import annotations

from enum import StrEnum


class SyncStatus(StrEnum):
    """Status of a sync run (what the ACO's sync log and ``aco-sync status`` show)."""

    QUEUED = "Sync Queued"
    RUNNING = "Sync Running"
    MCQM_QUEUED = "MCQM Sync Queued"
    MCQM_RUNNING = "MCQM Sync Running"
    COMPLETE = "Sync Complete"
    FAILED = "Sync Failed"
    ABORTED = "Sync Aborted"
    SKIPPED = "Skipped: Already Running"


class ClinicSyncStatus(StrEnum):
    """Status of one member TIN."""

    QUEUED = "Sync Queued"
    RUNNING = "Sync Running"
    COMPLETE = "Sync Complete"
    FAILED = "Sync Failed"


FINISHED_STATUSES = frozenset(
    {SyncStatus.COMPLETE, SyncStatus.FAILED, SyncStatus.ABORTED, SyncStatus.SKIPPED}
)

_STORED_BEFORE = {"synced": ClinicSyncStatus.COMPLETE, "failed": ClinicSyncStatus.FAILED}


def clinic_outcome(value: str | None) -> ClinicSyncStatus | None:
    """A stored clinic outcome as a status (``None``: the clinic's step has not finished)."""
    if value is None:
        return None
    return _STORED_BEFORE.get(value) or ClinicSyncStatus(value)
