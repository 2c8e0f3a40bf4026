"""Finalize (state "Finalize Member Sync"): clinics that synced are ``Sync Complete``; the measure plan
(collection types, MCQM needed?) is made from what they submitted and the CQM/eCQM instances are
aggregated. A failed clinic is left out and named in the log, so the result says which TINs are missing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ClinicStatus, ObjectStore
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.collection_types import plan_measures, plan_submissions
from aco_sync.domain.errors import NoClinicSyncedError
from aco_sync.domain.partitions import partition_count
from aco_sync.domain.records import CollectionType, SyncLogEntry
from aco_sync.service.aggregation_inputs import load_clinic_inputs, save_synced_tins
from aco_sync.service.artifacts import dumps
from aco_sync.service.carried_results import (
    inputs_fingerprint,
    keep_fingerprint,
    mark_same_as,
    previous_results,
)
from aco_sync.service.common import (
    PARTITION_MANIFEST_FILE,
    PLAN_FILE,
    ClinicSyncStatus,
    load_aco_settings,
    sync_artifact_key,
    utc_now,
)
from aco_sync.service.issues import append_log_once
from aco_sync.service.validation import roster_of_sync
from aco_sync.wire import plan_to_dict

logger = Logger(child=True)

MAX_TINS_IN_RESULT = 20  # the state payload names at most this many; the sync run holds every one


def finalize_member_sync(
    stores: Stores,
    *,
    aco_id: str,
    sync_id: str,
    clinic_results: Sequence[dict[str, Any]] | None = None,
    catalog: MeasureCatalog | None = None,
) -> dict[str, Any]:
    """``clinic_results`` (the Map's outputs) is optional: by default the outcomes are read from the
    clinic status items the clinic steps wrote, so the state machine's payload carries none."""
    catalog = catalog or default_catalog()
    settings = load_aco_settings(stores.objects, aco_id)
    statuses = {c.tin: c for c in stores.state.list_clinic_statuses(aco_id)}
    if clinic_results is None:
        clinic_results = [
            {"tin": c.tin, "status": c.outcome or ClinicSyncStatus.FAILED}
            for c in statuses.values()
            if c.sync_id == sync_id
        ]
    synced = sorted({str(r["tin"]) for r in clinic_results if r.get("status") == ClinicSyncStatus.COMPLETE})
    failed = sorted(
        {str(r["tin"]) for r in clinic_results if r.get("status") != ClinicSyncStatus.COMPLETE} - set(synced)
    )
    if not synced:
        raise NoClinicSyncedError(f"No member clinic synced (failed: {', '.join(failed) or 'none'})")

    now = utc_now()
    for tin in synced:
        before = statuses.get(tin)
        stores.state.put_clinic_status(
            aco_id,
            ClinicStatus(
                tin=tin,
                name=before.name if before else "",
                status=complete_status(before),
                sync_id=sync_id,
                last_synced=now,
                outcome=ClinicSyncStatus.COMPLETE,
                rows_read=before.rows_read if before else 0,
                rows_accepted=before.rows_accepted if before else 0,
                rows_rejected=before.rows_rejected if before else 0,
                files_refused=before.files_refused if before else 0,
            ),
        )
    save_synced_tins(stores.objects, aco_id, sync_id, synced, failed)
    rejected = sum(statuses[t].rows_rejected for t in synced if t in statuses)
    fingerprint = inputs_fingerprint(stores, aco_id, sync_id, settings.performance_year, synced, failed)
    previous = previous_results(stores.objects, aco_id, fingerprint)
    if previous is not None and previous["sync_id"] != sync_id:
        return _carry_results(stores, aco_id, sync_id, previous, synced, failed, rejected)

    records, counts = load_clinic_inputs(stores.objects, aco_id, synced)
    has_roster = roster_of_sync(stores, aco_id, sync_id, settings.performance_year) is not None
    plan = plan_measures(
        plan_submissions(records, counts),
        has_active_roster=has_roster,
        settings=settings,
        catalog=catalog,
        denominator_count_measures={c.measure_id for c in counts},
    )
    stores.objects.put(
        sync_artifact_key(aco_id, sync_id, PLAN_FILE),
        dumps(plan_to_dict(plan)),
        content_type="application/json",
    )
    partitions = partition_count(len(records), settings.records_per_partition)
    manifest = write_partition_manifest(stores.objects, aco_id, sync_id, partitions)
    append_log_once(stores.state, aco_id, sync_id, plan.log)  # the aggregation's: Combine Member Partitions
    instances = sum(1 for _m, t in plan.instances() if t is not CollectionType.MCQM)
    summary = {
        "mcqm_needed": bool(plan.mcqm_needed and has_roster),
        "synced_tins": len(synced),
        "failed_tins": failed[:MAX_TINS_IN_RESULT],  # all of them are in the sync run (incomplete_tins)
        "failed_tin_count": len(failed),
        "records": len(records),
        "measure_instances": instances,
        "partitions": partitions,
        "partition_manifest_key": manifest,
    }
    stores.state.update_sync_run(
        aco_id,
        sync_id,
        counts={
            "records": len(records),
            "synced_tins": len(synced),
            "failed_tins": len(failed),
            "rows_rejected": rejected,
        },
        incomplete_tins=failed,
    )
    keep_fingerprint(
        stores.objects,
        aco_id,
        sync_id,
        fingerprint,
        {"records": len(records), "measure_instances": instances},
    )
    logger.info("Finalized", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary


def missing_tins_log(failed: list[str]) -> list[SyncLogEntry]:
    """The warning that the results leave out the TINs whose sync failed (none when none failed)."""
    if not failed:
        return []
    message = f"Results exclude TINs whose sync failed: {', '.join(failed)}"
    return [SyncLogEntry(kind="missing_tins", level="warning", message=message)]


def _carry_results(
    stores: Stores,
    aco_id: str,
    sync_id: str,
    previous: dict[str, Any],
    synced: list[str],
    failed: list[str],
    rejected: int,
) -> dict[str, Any]:
    """Nothing changed since ``previous``'s sync: its results are this sync's (no engine, MCQM job or
    reports run again; Update Aggregate Stats points this sync's results to them)."""
    earlier = str(previous["sync_id"])
    kept = previous.get("counts") or {}
    mark_same_as(stores.objects, aco_id, sync_id, earlier)
    manifest = write_partition_manifest(stores.objects, aco_id, sync_id, 0)  # no engine partition runs
    log = [
        SyncLogEntry(
            kind="results",
            message=f"Nothing changed since sync {earlier} (no member clinic's data, roster, settings or "
            "duplicate decision changed): its results are this sync's results, not computed again",
        )
    ]
    log.extend(missing_tins_log(failed))
    append_log_once(stores.state, aco_id, sync_id, log)
    stores.state.update_sync_run(
        aco_id,
        sync_id,
        counts={
            "records": int(kept.get("records", 0)),
            "synced_tins": len(synced),
            "failed_tins": len(failed),
            "rows_rejected": rejected,
        },
        incomplete_tins=failed,
    )
    summary = {
        "mcqm_needed": False,  # the earlier sync's MCQM results are part of its results
        "synced_tins": len(synced),
        "failed_tins": failed[:MAX_TINS_IN_RESULT],
        "failed_tin_count": len(failed),
        "records": int(kept.get("records", 0)),
        "measure_instances": int(kept.get("measure_instances", 0)),
        "results_of": earlier,
        "partitions": 0,
        "partition_manifest_key": manifest,
    }
    logger.info("Nothing changed: results carried", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary


def write_partition_manifest(objects: ObjectStore, aco_id: str, sync_id: str, partitions: int) -> str:
    """``[{"partition": 0, "partitions": n}, ...]``: the items of the partition Maps (their ItemReader)."""
    key = sync_artifact_key(aco_id, sync_id, PARTITION_MANIFEST_FILE)
    items = [{"partition": p, "partitions": partitions} for p in range(partitions)]
    objects.put(key, dumps(items), content_type="application/json")
    return key


def complete_status(status: ClinicStatus | None) -> str:
    """``Sync Complete``, or ``Sync Complete (3 rows rejected)`` / ``(... , 1 file refused)`` when some of
    the clinic's data was not used: green only when everything it uploaded was read."""
    if status is None:
        return str(ClinicSyncStatus.COMPLETE)
    parts = []
    if status.rows_rejected:
        parts.append(f"{status.rows_rejected} {'row' if status.rows_rejected == 1 else 'rows'} rejected")
    if status.files_refused:
        parts.append(f"{status.files_refused} {'file' if status.files_refused == 1 else 'files'} refused")
    return f"{ClinicSyncStatus.COMPLETE} ({', '.join(parts)})" if parts else str(ClinicSyncStatus.COMPLETE)
