"""Step "Finalize Member Sync" (functions/finalize_member_sync): clinics Sync Complete, the measure
plan (MCQM needed?), the engine partitions' manifest."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from aco_sync.contracts.common import StepOutput, SyncStepInput


class FinalizeMemberSyncInput(SyncStepInput):
    # the clinic steps' results ({"tin", "status"}); default: read from the clinic status items
    clinic_results: list[dict[str, Any]] | None = None


class FinalizeMemberSyncOutput(StepOutput):
    mcqm_needed: bool  # "MCQM Needed?" reads $.finalize.mcqm_needed
    synced_tins: int
    failed_tins: list[str]  # the first MAX_TINS_IN_RESULT; all of them are in the sync run
    failed_tin_count: int
    records: int
    measure_instances: int
    results_of: str | None = None  # nothing changed: the earlier sync whose results stand for this one
    partitions: int  # engine partitions (0 when the results are carried: no partition runs)
    # the partition manifest (PartitionManifestItem per partition), read by the partition Maps' ItemReader
    partition_manifest_key: str


class PartitionManifestItem(BaseModel):
    """One item of ``store/<aco_id>/syncs/<sync_id>/partitions.json`` (one per engine partition)."""

    partition: int
    partitions: int
