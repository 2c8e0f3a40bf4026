"""MCQM sync (state "Match Roster" of the MCQM machine): roster matching of every CQM, MCQM and eCQM
patient of the MCQM measures (not M112 eCQM), the MCQM instances and their stats."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.engine import aggregate_mcqm
from aco_sync.domain.errors import MissingRosterError
from aco_sync.service.aggregation_inputs import load_clinic_inputs, load_synced_tins
from aco_sync.service.artifacts import aggregation_to_json, roster_from_json
from aco_sync.service.common import MCQM_RESULT_FILE, PLAN_FILE, load_aco_settings, sync_artifact_key
from aco_sync.service.duplicate_reviews import apply_duplicate_decisions
from aco_sync.service.issues import append_log_once
from aco_sync.service.validation import roster_of_sync
from aco_sync.wire import plan_from_dict

logger = Logger(child=True)


def run_mcqm_roster_match(
    stores: Stores, *, aco_id: str, sync_id: str, catalog: MeasureCatalog | None = None
) -> dict[str, Any]:
    catalog = catalog or default_catalog()
    settings = load_aco_settings(stores.objects, aco_id)
    active = roster_of_sync(stores, aco_id, sync_id, settings.performance_year)
    if active is None:
        raise MissingRosterError(
            f"MCQM sync of ACO {aco_id}: no active Medicare roster "
            f"for performance year {settings.performance_year}"
        )
    roster = roster_from_json(stores.objects.get(active.key))
    plan_json = stores.objects.get(sync_artifact_key(aco_id, sync_id, PLAN_FILE))
    plan = plan_from_dict(json.loads(plan_json))
    synced, _failed = load_synced_tins(stores.objects, aco_id, sync_id)
    records, counts = load_clinic_inputs(stores.objects, aco_id, synced)
    key = stores.pseudonym_keys.pseudonym_key()
    reviewed = apply_duplicate_decisions(stores.objects, aco_id, records, pseudonym_key=key).records
    result = aggregate_mcqm(  # the reviewer's decisions are logged by finalize
        reviewed,
        counts,
        plan,
        roster,
        settings=settings,
        catalog=catalog,
        pseudonym_key=key,
    )
    stores.objects.put(
        sync_artifact_key(aco_id, sync_id, MCQM_RESULT_FILE),
        aggregation_to_json(result.outcomes, result.stats, result.log),
        content_type="application/json",
    )
    append_log_once(stores.state, aco_id, sync_id, list(result.log))
    summary = {
        "roster_size": len(roster),
        "mcqm_instances": len(result.stats),
        "mcqm_patients": len(result.outcomes),
    }
    logger.info("MCQM roster match done", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary
