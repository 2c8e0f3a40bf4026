"""The ACO clinic stats job (SQS worker): per-TIN statistics of a finished sync's outcomes, written to
results/<aco_id>/<sync_id>/clinic_stats.json."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ObjectNotFoundError
from aco_sync.contracts.store_clinic_stats import StoreClinicStatsInput
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.scoring.clinic_stats import compute_clinic_stats
from aco_sync.service.aggregate_stats import load_sync_results
from aco_sync.service.artifacts import dumps
from aco_sync.service.carried_results import same_as
from aco_sync.service.common import CLINIC_STATS_FILE, results_prefix, sync_artifact_key
from aco_sync.wire import clinic_stats_to_dict

logger = Logger(child=True)


def store_clinic_stats(
    stores: Stores, message: StoreClinicStatsInput, *, catalog: MeasureCatalog | None = None
) -> dict[str, Any]:
    catalog = catalog or default_catalog()
    earlier = same_as(stores.objects, message.aco_id, message.sync_id)
    if earlier is not None:  # nothing changed since that sync: its clinic stats are this sync's
        return {"key": f"{results_prefix(message.aco_id, earlier)}{CLINIC_STATS_FILE}", "results_of": earlier}
    key = f"{results_prefix(message.aco_id, message.sync_id)}{CLINIC_STATS_FILE}"
    try:  # computed by Update Aggregate Stats for the report, from the same outcomes
        body = stores.objects.get(sync_artifact_key(message.aco_id, message.sync_id, CLINIC_STATS_FILE))
        tins = len(json.loads(body))
    except ObjectNotFoundError:  # a sync without outcomes (or stored before that step kept them)
        outcomes, _stats = load_sync_results(stores, message.aco_id, message.sync_id)
        clinic_stats = compute_clinic_stats(outcomes, catalog=catalog)
        body, tins = dumps([clinic_stats_to_dict(c) for c in clinic_stats]), len(clinic_stats)
    stores.objects.put(key, body, content_type="application/json")
    logger.info(
        "Clinic stats stored", extra={"aco_id": message.aco_id, "sync_id": message.sync_id, "tins": tins}
    )
    return {"key": key, "tins": tins}
