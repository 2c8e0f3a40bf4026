"""Cleanup (state "Clean Up Removed Encounters"): remove aggregate encounters whose source no longer
exists: the member clinic left the ACO, or its source file was deleted. (Rows removed from a file
that still exists are removed by that clinic's incremental sync, which sees them as deletions.)

Cleanup does not read the encounters of every clinic: it reads which TINs have encounters and, per
member TIN, the source files its clinic sync recorded (store/<aco>/clinics/<tin>/sources.json). Only a
clinic that left the ACO, or one whose recorded source file is gone, has its encounters read. A TIN with
encounters but no recorded sources (stored before the sources were recorded) is checked encounter by
encounter, as before."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import AggregateEncounter
from aco_sync.domain.records import SyncLogEntry
from aco_sync.service.clinic_sources import EncounterRefs, read_clinic_sources
from aco_sync.service.clinic_uploads import present_names
from aco_sync.service.common import (
    clinic_digest_key,
    clinic_prefix,
    clinic_raw_key,
    load_aco_settings,
    member_clinics,
)
from aco_sync.service.issues import append_log_once

logger = Logger(child=True)


def clean_up_removed_encounters(stores: Stores, *, aco_id: str, sync_id: str) -> dict[str, Any]:
    settings = load_aco_settings(stores.objects, aco_id)
    member_tins = {c.tin for c in member_clinics(stores.objects, settings)}

    removed_total = 0
    encounters_read = 0
    log: list[SyncLogEntry] = []
    refs: EncounterRefs | None = None  # the key is read only when a member clinic has encounters
    for tin in stores.state.tins_with_encounters(aco_id):
        if tin not in member_tins:
            gone = stores.state.aggregate_encounters(aco_id, tin)
            encounters_read += len(gone)
            why = f"TIN {tin} is no longer a member clinic"
        else:
            refs = refs or EncounterRefs(stores.pseudonym_keys.pseudonym_key())
            present = {refs.source_file(name) for name in present_names(stores.objects, aco_id, tin)}
            recorded = read_clinic_sources(stores.objects, aco_id, tin)
            if recorded is not None and all(_source_exists(f, present) for f in recorded):
                continue  # every source file of its encounters still exists: nothing read
            encounters = stores.state.aggregate_encounters(aco_id, tin)
            encounters_read += len(encounters)
            gone = [e for e in encounters if not _source_exists(e.source_file, present)]
            why = f"their source files were deleted from TIN {tin}"
        if not gone:
            continue
        removed = _remove(stores, aco_id, tin, gone, departed=tin not in member_tins)
        removed_total += removed
        log.append(
            SyncLogEntry(kind="removal", tin=tin, message=f"Removed {removed} aggregate encounters: {why}")
        )

    log.append(
        SyncLogEntry(kind="removal", message=f"Cleanup removed {removed_total} aggregate encounters in total")
    )
    append_log_once(stores.state, aco_id, sync_id, log)
    logger.info(
        "Cleanup done",
        extra={
            "aco_id": aco_id,
            "sync_id": sync_id,
            "removed": removed_total,
            "encounters_read": encounters_read,
        },
    )
    return {"encounters_removed": removed_total}


def _remove(stores: Stores, aco_id: str, tin: str, gone: list[AggregateEncounter], *, departed: bool) -> int:
    """Encounters first, then the clinic's stored objects: a retry after a crash in between still finds
    the TIN through its encounters (its recorded sources may already be deleted)."""
    removed = stores.state.delete_aggregate_encounters(aco_id, tin, [e.source_key for e in gone])
    if departed:
        for key in stores.objects.list_keys(clinic_prefix(aco_id, tin)):
            stores.objects.delete(key)
    else:
        stores.objects.delete(clinic_digest_key(aco_id, tin))  # its next sync rewrites its records
        stores.objects.delete(clinic_raw_key(aco_id, tin))  # ... after reading its files again
    return removed


def _source_exists(source_file: str, present: set[str]) -> bool:
    """``source_file`` is the ref of the upload an encounter came from (a zip member: the zip's);
    ``present`` the refs of the clinic's uploads now (``clinic_sources.EncounterRefs``)."""
    if not source_file:
        return True  # nothing to tell from: keep it
    return source_file in present
