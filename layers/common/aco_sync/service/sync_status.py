"""Record a sync's status transitions: MCQM Sync Queued/Running, Sync Complete, Sync Failed, Sync Aborted.

Failures arrive from the state machines' Catch blocks as ``{"Error": ..., "Cause": ...}``; for a
Lambda error the cause is the JSON error document, whose ``errorMessage`` (no PHI by contract) is kept.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ClinicStatus
from aco_sync.domain.records import SyncLogEntry
from aco_sync.service.common import ClinicSyncStatus, SyncStatus, results_prefix, utc_now

logger = Logger(child=True)

MAP_RUN_FAILED = "States.ExceedToleratedFailureThreshold"  # a Distributed Map whose child execution failed


def describe_error(error: str | None, cause: str | None) -> str:
    """``"MissingRosterError: ACO A1 has no active ..."`` from a Step Functions error and cause."""
    message = cause or ""
    if cause:
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            message = str(parsed.get("errorMessage") or parsed.get("Cause") or cause)
    message = message.strip()
    if error and message:
        return f"{error}: {message}"
    return error or message or "unknown error"


def incomplete_message(tins: list[str]) -> str:
    """The ACO result is incomplete: which member TINs failed and are not in it."""
    return (
        f"{SyncStatus.COMPLETE} (incomplete: {len(tins)} member {'TIN' if len(tins) == 1 else 'TINs'} failed "
        f"and {'is' if len(tins) == 1 else 'are'} not in the results: {', '.join(tins)})"
    )


def record_sync_status(
    stores: Stores,
    *,
    aco_id: str,
    sync_id: str,
    status: SyncStatus,
    execution_arn: str | None = None,
    error: str | None = None,
    cause: str | None = None,
) -> dict[str, Any]:
    """Move the sync to ``status``. For the MCQM states, ``execution_arn`` is the MCQM execution, which
    then holds the ACO lock (so the lock stays held, and not stale, until the MCQM job ends)."""
    state = stores.state
    run = state.get_sync_run(aco_id, sync_id)
    if run is None:
        raise KeyError(f"no sync run {aco_id}/{sync_id}")
    if (
        status == SyncStatus.FAILED
        and error == MAP_RUN_FAILED
        and run.status == SyncStatus.FAILED
        and run.error
    ):
        # an engine partition's child execution recorded its own error first (the map run's error only
        # says that a child failed): the sync keeps that one, logged once
        logger.info("Sync failure already recorded", extra={"aco_id": aco_id, "sync_id": sync_id})
        return {"aco_id": aco_id, "sync_id": sync_id, "status": str(status)}
    changes: dict[str, Any] = {"status": status}
    entry = SyncLogEntry(kind="status", message=str(status))

    only_if_status: str | None = None
    if status in (SyncStatus.MCQM_QUEUED, SyncStatus.MCQM_RUNNING) and execution_arn:
        if not state.move_lock(aco_id, sync_id, execution_arn):
            logger.warning("ACO lock not held by this sync", extra={"aco_id": aco_id, "sync_id": sync_id})
        if execution_arn not in run.execution_arns:
            changes["execution_arns"] = [*run.execution_arns, execution_arn]
        if status == SyncStatus.MCQM_QUEUED:
            # the MCQM job may already run (or be done) when this step runs: never move the status back
            only_if_status = SyncStatus.RUNNING
    elif status == SyncStatus.COMPLETE:
        # an unchanged sync's results are an earlier sync's (Update Aggregate Stats set the prefix)
        changes.update(
            finished=utc_now(), results_prefix=run.results_prefix or results_prefix(aco_id, sync_id)
        )
        if run.incomplete_tins:
            entry = SyncLogEntry(
                kind="status", level="warning", message=incomplete_message(run.incomplete_tins)
            )
    elif status in (SyncStatus.FAILED, SyncStatus.ABORTED):
        reason = describe_error(error, cause)
        changes.update(finished=utc_now(), error=reason)
        entry = SyncLogEntry(kind="status", level="error", message=f"{status}: {reason}")
        _fail_unfinished_clinics(stores, aco_id, sync_id, reason)

    if not state.update_sync_run(aco_id, sync_id, only_if_status=only_if_status, **changes):
        entry = SyncLogEntry(kind="status", message=f"{status} (the MCQM job had already started)")
        current = state.get_sync_run(aco_id, sync_id) or run
        if execution_arn and execution_arn not in current.execution_arns:
            state.update_sync_run(aco_id, sync_id, execution_arns=[*current.execution_arns, execution_arn])
    state.append_log(aco_id, sync_id, [entry])
    logger.info("Sync status", extra={"aco_id": aco_id, "sync_id": sync_id, "status": str(status)})
    return {"aco_id": aco_id, "sync_id": sync_id, "status": str(status)}


def _fail_unfinished_clinics(stores: Stores, aco_id: str, sync_id: str, reason: str) -> None:
    for clinic in stores.state.list_clinic_statuses(aco_id):
        if clinic.sync_id == sync_id and clinic.status in (ClinicSyncStatus.QUEUED, ClinicSyncStatus.RUNNING):
            stores.state.put_clinic_status(
                aco_id,
                ClinicStatus(
                    tin=clinic.tin,
                    name=clinic.name,
                    status=ClinicSyncStatus.FAILED,
                    reason=f"The sync failed: {reason}",
                    sync_id=sync_id,
                    last_synced=clinic.last_synced,
                ),
            )
