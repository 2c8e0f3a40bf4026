"""The ACO clinic stats job (SQS worker): per-TIN statistics of a finished sync's outcomes, written to
results/<aco_id>/<sync_id>/clinic_stats.json."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.contracts.store_clinic_stats import StoreClinicStatsInput
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.scoring.clinic_stats import compute_clinic_stats
from aco_sync.service.aggregate_stats import load_sync_results
from aco_sync.service.artifacts import dumps
from aco_sync.service.carried_results import same_as
from aco_sync.service.common import results_prefix
from aco_sync.wire import clinic_stats_to_dict

logger = Logger(child=True)

CLINIC_STATS_FILE = "clinic_stats.json"


def store_clinic_stats(
    stores: Stores, message: StoreClinicStatsInput, *, catalog: MeasureCatalog | None = None
) -> dict[str, Any]:
    catalog = catalog or default_catalog()
    earlier = same_as(stores.objects, message.aco_id, message.sync_id)
    if earlier is not None:  # nothing changed since that sync: its clinic stats are this sync's
        return {"key": f"{results_prefix(message.aco_id, earlier)}{CLINIC_STATS_FILE}", "results_of": earlier}
    outcomes, _stats = load_sync_results(stores, message.aco_id, message.sync_id)
    clinic_stats = compute_clinic_stats(outcomes, catalog=catalog)
    key = f"{results_prefix(message.aco_id, message.sync_id)}{CLINIC_STATS_FILE}"
    stores.objects.put(
        key, dumps([clinic_stats_to_dict(c) for c in clinic_stats]), content_type="application/json"
    )
    logger.info(
        "Clinic stats stored",
        extra={"aco_id": message.aco_id, "sync_id": message.sync_id, "tins": len(clinic_stats)},
    )
    return {"key": key, "tins": len(clinic_stats)}
