"""The latest sync of an ACO as a JSON-able dict (for ``aco-sync status``, the demo and the local runner)."""

from __future__ import annotations

import dataclasses
from typing import Any

from aco_sync.adapters.environment import Stores, build_stores
from aco_sync.adapters.ports import SyncRun
from aco_sync.service.common import SyncStatus
from aco_sync.wire import log_entry_to_dict


def latest_sync_status(aco_id: str, *, store: Stores | None = None) -> dict[str, Any]:
    """``{"aco_id", "sync": {...} | None, "clinics": [...], "measures": [...], "log": [...],
    "results_prefix", "skipped_triggers": [...]}``. The latest sync is the newest that was not skipped
    (skipped triggers are listed separately). With ``store`` None the boto3 stores are built from the
    environment (TABLE_NAME, BUCKET_NAME)."""
    stores = store or build_stores()
    runs = stores.state.list_sync_runs(aco_id, limit=50)
    latest = next((r for r in runs if r.status != SyncStatus.SKIPPED), None)
    skipped = [
        _run_dict(r)
        for r in runs
        if r.status == SyncStatus.SKIPPED and (latest is None or r.sync_id > latest.sync_id)
    ]
    statuses = stores.state.list_clinic_statuses(aco_id)
    if latest is not None and any(c.sync_id == latest.sync_id for c in statuses):
        # the member clinics of the latest sync (a TIN that left the ACO keeps its old status item)
        statuses = [c for c in statuses if c.sync_id == latest.sync_id]
    clinics = [
        {"tin": c.tin, "name": c.name, "status": c.status, "reason": c.reason, "last_synced": c.last_synced}
        for c in statuses
    ]
    measures: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    if latest is not None:
        measures = sorted(
            stores.state.list_measure_results(aco_id, latest.sync_id),
            key=lambda m: (m["measure_id"], m["collection_type"]),
        )
        log = [log_entry_to_dict(e) for e in stores.state.list_log(aco_id, latest.sync_id)]
    return {
        "aco_id": aco_id,
        "sync": _run_dict(latest) if latest else None,
        "clinics": clinics,
        "measures": measures,
        "log": log,
        "results_prefix": latest.results_prefix if latest else None,
        "skipped_triggers": skipped,
    }


def sync_history(aco_id: str, *, store: Stores | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The ACO's sync runs, newest first, skipped triggers included."""
    stores = store or build_stores()
    return [_run_dict(r) for r in stores.state.list_sync_runs(aco_id, limit=limit)]


def _run_dict(run: SyncRun) -> dict[str, Any]:
    data = dataclasses.asdict(run)
    data["id"] = run.sync_id
    return data
