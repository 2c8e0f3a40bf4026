"""Finalize (state "Finalize Member Sync"): clinics that synced are ``Sync Complete``; the measure plan
(collection types, MCQM needed?) is made from what they submitted and the CQM/eCQM instances are
aggregated. A failed clinic is left out and named in the log, so the result says which TINs are missing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ClinicStatus
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.collection_types import plan_measures, plan_submissions
from aco_sync.domain.engine import aggregate_members
from aco_sync.domain.errors import NoClinicSyncedError
from aco_sync.domain.records import SyncLogEntry
from aco_sync.service.aggregation_inputs import load_clinic_inputs, save_synced_tins
from aco_sync.service.artifacts import aggregation_to_json, dumps
from aco_sync.service.clinic_sync import SYNCED
from aco_sync.service.common import ClinicSyncStatus, load_aco_settings, sync_artifact_key, utc_now
from aco_sync.service.issues import append_log_once
from aco_sync.service.validation import roster_of_sync

logger = Logger(child=True)

PLAN_FILE = "plan.json"
MEMBERS_RESULT_FILE = "members.json"
MCQM_RESULT_FILE = "mcqm.json"


def finalize_member_sync(
    stores: Stores,
    *,
    aco_id: str,
    sync_id: str,
    clinic_results: Sequence[dict[str, Any]],
    catalog: MeasureCatalog | None = None,
) -> dict[str, Any]:
    catalog = catalog or default_catalog()
    settings = load_aco_settings(stores.objects, aco_id)
    synced = sorted(str(r["tin"]) for r in clinic_results if r.get("status") == SYNCED)
    failed = sorted(str(r["tin"]) for r in clinic_results if r.get("status") != SYNCED)
    if not synced:
        raise NoClinicSyncedError(f"No member clinic synced (failed: {', '.join(failed) or 'none'})")

    now = utc_now()
    statuses = {c.tin: c for c in stores.state.list_clinic_statuses(aco_id)}
    for tin in synced:
        before = statuses.get(tin)
        stores.state.put_clinic_status(
            aco_id,
            ClinicStatus(
                tin=tin,
                name=before.name if before else "",
                status=ClinicSyncStatus.COMPLETE,
                sync_id=sync_id,
                last_synced=now,
            ),
        )
    save_synced_tins(stores.objects, aco_id, sync_id, synced, failed)

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
        sync_artifact_key(aco_id, sync_id, PLAN_FILE), dumps(plan.to_dict()), content_type="application/json"
    )
    result = aggregate_members(
        records, plan, catalog=catalog, pseudonym_key=stores.pseudonym_keys.pseudonym_key()
    )
    stores.objects.put(
        sync_artifact_key(aco_id, sync_id, MEMBERS_RESULT_FILE),
        aggregation_to_json(result.outcomes, result.stats, result.log),
        content_type="application/json",
    )

    log: list[SyncLogEntry] = [*plan.log, *result.log]
    if failed:
        log.append(
            SyncLogEntry(
                kind="missing_tins",
                level="warning",
                message=f"Results exclude TINs whose sync failed: {', '.join(failed)}",
            )
        )
    append_log_once(stores.state, aco_id, sync_id, log)
    summary = {
        "mcqm_needed": bool(plan.mcqm_needed and has_roster),
        "synced_tins": len(synced),
        "failed_tins": failed,
        "records": len(records),
        "measure_instances": len(result.stats),
    }
    stores.state.update_sync_run(
        aco_id,
        sync_id,
        counts={"records": len(records), "synced_tins": len(synced), "failed_tins": len(failed)},
    )
    logger.info("Finalized", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary


def load_plan_dict(stores: Stores, aco_id: str, sync_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stores.objects.get(sync_artifact_key(aco_id, sync_id, PLAN_FILE)))
    return data
