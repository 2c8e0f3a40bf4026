"""Initial sync (state "Initial Sync"): the providers of every member clinic are synced to the
aggregate clinic (new and changed added/updated, providers deleted from a member removed)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ObjectNotFoundError
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.engine import diff_providers
from aco_sync.domain.records import Provider, SyncLogEntry
from aco_sync.ecqm import calculate_qrda
from aco_sync.ingest.clinic import PROVIDERS_FILE, read_clinic_files
from aco_sync.service.common import load_aco_settings, member_clinics, members_prefix
from aco_sync.service.issues import append_log_once, issues_to_log

logger = Logger(child=True)


def initial_sync(
    stores: Stores, *, aco_id: str, sync_id: str, catalog: MeasureCatalog | None = None
) -> dict[str, Any]:
    catalog = catalog or default_catalog()
    settings = load_aco_settings(stores.objects, aco_id)
    member_providers: list[Provider] = []
    log: list[SyncLogEntry] = []
    for clinic in member_clinics(stores.objects, settings):
        try:
            data = stores.objects.get(members_prefix(aco_id, clinic.tin) + PROVIDERS_FILE)
        except ObjectNotFoundError:
            continue
        clinic_data = read_clinic_files(
            clinic.tin,
            [(PROVIDERS_FILE, data)],
            performance_year=settings.performance_year,
            catalog=catalog,
            calculate_qrda=calculate_qrda,
        )
        member_providers.extend(clinic_data.providers)
        log.extend(issues_to_log(clinic_data.issues, tin=clinic.tin))

    diff = diff_providers(stores.state.list_providers(aco_id), member_providers)
    written = stores.state.put_providers(aco_id, [*diff.added, *diff.updated])
    removed = stores.state.delete_providers(aco_id, list(diff.removed))
    counts = {
        "providers_added": len(diff.added),
        "providers_updated": len(diff.updated),
        "providers_removed": removed,
    }
    log.append(
        SyncLogEntry(
            kind="providers",
            message=f"Providers synced to the aggregate clinic: {counts['providers_added']} added, "
            f"{counts['providers_updated']} updated, {removed} removed",
        )
    )
    append_log_once(stores.state, aco_id, sync_id, log)
    logger.info(
        "Initial sync done", extra={"aco_id": aco_id, "sync_id": sync_id, **counts, "writes": written}
    )
    return counts
