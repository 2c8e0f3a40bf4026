"""Triggers (daily schedule, roster upload, manual): start one main-machine execution per ACO.

The lock is taken inside the execution ("Acquire ACO Lock"), so a trigger that arrives while a sync
is queued or running still leaves a record: its execution ends as "Skipped: Already Running".
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import SyncRun
from aco_sync.contracts.start_sync import StartSyncInput, SyncExecutionInput, Trigger
from aco_sync.domain.errors import InvalidInputError
from aco_sync.service.common import SyncStatus, configured_aco_ids, load_aco_settings, new_sync_id, utc_now

logger = Logger(child=True)


def start_syncs(stores: Stores, request: StartSyncInput) -> list[dict[str, Any]]:
    """One sync per ACO. For ``all_configured``, an ACO whose configuration is invalid is reported
    (``{"aco_id", "error"}``) and the others still start; a single-ACO start raises instead."""
    if not request.all_configured:
        return [start_sync(stores, aco_id=str(request.aco_id), trigger=request.trigger)]
    started: list[dict[str, Any]] = []
    for aco_id in configured_aco_ids(stores.objects):
        if request.trigger == "schedule":
            _ingest_pending_rosters(stores, aco_id)
        try:
            started.append(start_sync(stores, aco_id=aco_id, trigger=request.trigger))
        except InvalidInputError as error:
            logger.error("ACO not started", extra={"aco_id": aco_id, "error": str(error)})
            started.append({"aco_id": aco_id, "error": str(error)})
    return started


def _ingest_pending_rosters(stores: Stores, aco_id: str) -> None:
    """The daily sync first ingests rosters that were uploaded but never ingested (a lost event, or an
    ingest that kept failing and went to the dead-letter queue); a failure here never stops the sync."""
    from aco_sync.service.roster_ingest import ingest_pending_rosters  # roster_ingest imports this module

    try:
        settings = load_aco_settings(stores.objects, aco_id)
        done = ingest_pending_rosters(stores, aco_id=aco_id, performance_year=settings.performance_year)
    except Exception as exc:  # reported, never fatal: the sync runs with the active roster
        logger.error("Pending rosters not ingested", extra={"aco_id": aco_id, "error": type(exc).__name__})
        return
    if done:
        logger.info("Pending rosters ingested", extra={"aco_id": aco_id, "rosters": len(done)})


def start_sync(stores: Stores, *, aco_id: str, trigger: Trigger) -> dict[str, Any]:
    """Record the sync as queued and start its execution (named after the sync id)."""
    load_aco_settings(stores.objects, aco_id)  # refuse unknown ACOs before anything is recorded
    if not stores.aco_sync_state_machine_arn:
        raise InvalidInputError("ACO_SYNC_STATE_MACHINE_ARN is not configured")
    sync_id = new_sync_id()
    stores.state.put_sync_run(
        SyncRun(aco_id=aco_id, sync_id=sync_id, status=SyncStatus.QUEUED, trigger=trigger, started=utc_now())
    )
    execution_arn = stores.workflows.start(
        stores.aco_sync_state_machine_arn,
        sync_id,
        SyncExecutionInput(aco_id=aco_id, sync_id=sync_id, trigger=trigger).model_dump(),
    )
    logger.info("Sync started", extra={"aco_id": aco_id, "sync_id": sync_id, "trigger": trigger})
    return {"aco_id": aco_id, "sync_id": sync_id, "execution_arn": execution_arn, "trigger": trigger}
