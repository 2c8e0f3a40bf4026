"""The per-ACO sync lock: at most one sync (including its pending MCQM job) per ACO at a time.

The lock is a conditional write in the state store naming the sync and the execution that holds it.
A trigger that finds the lock held by a RUNNING execution is recorded as skipped; a lock whose holder
execution is no longer running (crashed, timed out, aborted by hand) is stale and taken over.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import LockHolder, SyncRun
from aco_sync.domain.records import SyncLogEntry
from aco_sync.domain.statuses import FINISHED_STATUSES
from aco_sync.service.common import SyncStatus, utc_now

logger = Logger(child=True)

RUNNING_EXECUTION_STATUSES = frozenset({"RUNNING", "PENDING_REDRIVE"})


def acquire_aco_lock(
    stores: Stores, *, aco_id: str, sync_id: str, trigger: str, execution_arn: str
) -> dict[str, Any]:
    """Take the ACO's lock for ``sync_id``. Returns ``{"acquired": bool, ...}``; never raises for "held"."""
    state = stores.state
    run = state.get_sync_run(aco_id, sync_id)
    if run is None:  # started by hand in the console, not through StartSync
        run = SyncRun(
            aco_id=aco_id, sync_id=sync_id, status=SyncStatus.QUEUED, trigger=trigger, started=utc_now()
        )
        state.put_sync_run(run)
    holder = LockHolder(aco_id=aco_id, sync_id=sync_id, execution_arn=execution_arn, acquired_at=utc_now())

    for _attempt in range(3):  # the holder may change between our read and our write
        if state.try_acquire_lock(holder):
            return _acquired(stores, run, execution_arn, took_over=None)
        current = state.get_lock(aco_id)
        if current is None:
            continue
        if current.sync_id == sync_id:  # a Lambda retry of our own acquisition
            return _acquired(stores, run, execution_arn, took_over=None)
        holder_status = stores.workflows.execution_status(current.execution_arn)
        if holder_status in RUNNING_EXECUTION_STATUSES:
            return _skipped(stores, run, current)
        if state.try_acquire_lock(holder, replacing_execution_arn=current.execution_arn):
            _close_stale_run(stores, current, holder_status)
            return _acquired(stores, run, execution_arn, took_over=current)
    return _skipped(stores, run, state.get_lock(aco_id))


def release_aco_lock(stores: Stores, *, aco_id: str, sync_id: str) -> dict[str, Any]:
    released = stores.state.release_lock(aco_id, sync_id)
    if not released:
        logger.warning("Lock was not held by this sync", extra={"aco_id": aco_id, "sync_id": sync_id})
    return {"aco_id": aco_id, "sync_id": sync_id, "released": released}


def _acquired(
    stores: Stores, run: SyncRun, execution_arn: str, *, took_over: LockHolder | None
) -> dict[str, Any]:
    arns = (
        [*run.execution_arns, execution_arn]
        if execution_arn not in run.execution_arns
        else run.execution_arns
    )
    stores.state.update_sync_run(run.aco_id, run.sync_id, status=SyncStatus.RUNNING, execution_arns=arns)
    entries = [SyncLogEntry(kind="status", message=f"{SyncStatus.RUNNING} (trigger: {run.trigger})")]
    if took_over is not None:
        entries.insert(
            0,
            SyncLogEntry(
                kind="lock",
                level="warning",
                message=f"Took over a stale lock held by sync {took_over.sync_id} "
                "(its execution is no longer running)",
            ),
        )
    stores.state.append_log(run.aco_id, run.sync_id, entries)
    logger.info("ACO lock acquired", extra={"aco_id": run.aco_id, "sync_id": run.sync_id})
    return {
        "acquired": True,
        "aco_id": run.aco_id,
        "sync_id": run.sync_id,
        "took_over_from": took_over.sync_id if took_over else None,
    }


def _skipped(stores: Stores, run: SyncRun, current: LockHolder | None) -> dict[str, Any]:
    holder = current.sync_id if current else "another sync"
    message = f"Skipped: already running (sync {holder} holds the ACO lock)"
    stores.state.update_sync_run(
        run.aco_id, run.sync_id, status=SyncStatus.SKIPPED, finished=utc_now(), error=message
    )
    stores.state.append_log(run.aco_id, run.sync_id, [SyncLogEntry(kind="skip", message=message)])
    logger.info(
        "Sync skipped: lock held", extra={"aco_id": run.aco_id, "sync_id": run.sync_id, "holder": holder}
    )
    return {"acquired": False, "aco_id": run.aco_id, "sync_id": run.sync_id, "held_by": holder}


def _close_stale_run(stores: Stores, stale: LockHolder, execution_status: str | None) -> None:
    run = stores.state.get_sync_run(stale.aco_id, stale.sync_id)
    if run is None or run.status in FINISHED_STATUSES:
        return
    reason = f"Its execution ended ({execution_status or 'not found'}) without releasing the ACO lock"
    stores.state.update_sync_run(
        stale.aco_id, stale.sync_id, status=SyncStatus.FAILED, finished=utc_now(), error=reason
    )
    stores.state.append_log(
        stale.aco_id, stale.sync_id, [SyncLogEntry(kind="lock", level="error", message=reason)]
    )
