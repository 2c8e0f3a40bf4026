"""Data validation (state "Validate Roster"): abort a sync when the ACO has no active roster file and
its settings require one; otherwise queue the member clinics the Map iterates over.

The clinic list stays in the table (each clinic's status item carries the sync id): the state machine
gets only the key of the batch manifest (``[{"batch": 0}, {"batch": 1}, ...]`` in the data bucket, the
ItemReader of its distributed Map) and reads one batch of at most ``CLINIC_BATCH_SIZE`` clinics at a time
(``clinic_batch``), so neither its payload nor its history grows with the number of member TINs."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ActiveRoster, ClinicStatus
from aco_sync.domain.errors import InvalidInputError, MissingRosterError
from aco_sync.domain.records import SyncLogEntry
from aco_sync.service.common import (
    ClinicSyncStatus,
    config_key,
    load_aco_settings,
    member_clinics,
    sync_artifact_key,
)
from aco_sync.service.issues import append_log_once

logger = Logger(child=True)

CLINIC_BATCH_SIZE = 100  # clinics per inner Map: ~6 KB of state, whatever the ACO's size
BATCH_MANIFEST_FILE = "clinic-batches.json"  # the distributed Map's items (store/<aco>/syncs/<sync>/)


def batch_manifest_key(aco_id: str, sync_id: str) -> str:
    return sync_artifact_key(aco_id, sync_id, BATCH_MANIFEST_FILE)


def missing_roster_message(aco_id: str, performance_year: int) -> str:
    return (
        f"Sync aborted: ACO {aco_id} has no active Medicare roster for performance year {performance_year} "
        f"(upload one under rosters/{aco_id}/{performance_year}/)"
    )


def validate_sync(stores: Stores, *, aco_id: str, sync_id: str) -> dict[str, Any]:
    settings = load_aco_settings(stores.objects, aco_id)
    roster = stores.state.get_active_roster(aco_id, settings.performance_year)
    if roster is None and settings.roster_required:
        message = missing_roster_message(aco_id, settings.performance_year)
        stores.state.append_log(aco_id, sync_id, [SyncLogEntry(kind="abort", level="error", message=message)])
        raise MissingRosterError(message)
    pin_roster(stores, aco_id, sync_id, roster)
    clinics = member_clinics(stores.objects, settings)
    if not clinics:
        raise InvalidInputError(
            f"ACO {aco_id} has no member clinics: list them in {config_key(aco_id)} (member_clinics) "
            f"or upload their files under members/{aco_id}/<tin>/"
        )
    previous = {c.tin: c for c in stores.state.list_clinic_statuses(aco_id)}
    for clinic in clinics:
        before = previous.get(clinic.tin)
        stores.state.put_clinic_status(
            aco_id,
            ClinicStatus(
                tin=clinic.tin,
                name=clinic.name or (before.name if before else ""),
                status=ClinicSyncStatus.QUEUED,
                sync_id=sync_id,
                last_synced=before.last_synced if before else None,
            ),
        )
    entries = [
        SyncLogEntry(
            kind="validation",
            message=f"Data validation passed: {len(clinics)} "
            f"member clinic{'' if len(clinics) == 1 else 's'}, "
            + (f"active roster {roster.file_name}" if roster else "no active roster (not required)"),
        )
    ]
    if settings.duplicate_tins:
        entries.append(
            SyncLogEntry(
                kind="validation",
                level="warning",
                message=f"{config_key(aco_id)} lists TIN {', '.join(settings.duplicate_tins)} more than once "
                "in member_clinics; each TIN is synced and counted once",
            )
        )
    append_log_once(stores.state, aco_id, sync_id, entries)
    batch_count = -(-len(clinics) // CLINIC_BATCH_SIZE)
    manifest_key = batch_manifest_key(aco_id, sync_id)
    stores.objects.put(
        manifest_key,
        json.dumps([{"batch": batch} for batch in range(batch_count)]).encode("utf-8"),
        content_type="application/json",
    )
    logger.info("Validated", extra={"aco_id": aco_id, "sync_id": sync_id, "clinics": len(clinics)})
    return {
        "performance_year": settings.performance_year,
        "has_active_roster": roster is not None,
        "roster_key": roster.key if roster else None,
        "clinic_count": len(clinics),
        "batch_count": batch_count,
        "batch_manifest_key": manifest_key,
    }


def sync_clinics(stores: Stores, aco_id: str, sync_id: str) -> list[ClinicStatus]:
    """The member clinics this sync's validation queued, in TIN order."""
    return sorted(
        (c for c in stores.state.list_clinic_statuses(aco_id) if c.sync_id == sync_id), key=lambda c: c.tin
    )


def clinic_batch(stores: Stores, *, aco_id: str, sync_id: str, batch: int) -> dict[str, Any]:
    """Batch ``batch`` (0-based) of the clinics queued by this sync's validation: ``{"clinics": [...]}``."""
    clinics = sync_clinics(stores, aco_id, sync_id)[
        batch * CLINIC_BATCH_SIZE : (batch + 1) * CLINIC_BATCH_SIZE
    ]
    return {"clinics": [{"tin": c.tin, "name": c.name} for c in clinics]}


def pin_roster(stores: Stores, aco_id: str, sync_id: str, roster: ActiveRoster | None) -> None:
    """Record in the sync run which roster this sync uses: a roster uploaded while the sync runs becomes
    active for the next sync only (finalize, the MCQM job and the reports of this sync read the pinned
    one). Stored in the table, so the validation step needs no write access to the bucket."""
    try:
        stores.state.update_sync_run(
            aco_id,
            sync_id,
            roster=dataclasses.asdict(roster) if roster else None,
            roster_pinned=True,
        )
    except KeyError:  # no run record (a step called on its own): the active roster is used
        logger.warning("No sync run to pin the roster to", extra={"aco_id": aco_id, "sync_id": sync_id})


def roster_of_sync(stores: Stores, aco_id: str, sync_id: str, performance_year: int) -> ActiveRoster | None:
    """The roster pinned by the sync's validation step (the active one when the run has none pinned)."""
    run = stores.state.get_sync_run(aco_id, sync_id)
    if run is None or not run.roster_pinned:
        return stores.state.get_active_roster(aco_id, performance_year)
    return ActiveRoster(**run.roster) if run.roster else None
