"""MCQM sync (states "Match Roster Partitions" / "Match Roster" and "Combine Roster Matches" of the MCQM
machine): roster matching of every CQM, MCQM and eCQM patient of the MCQM measures (not M112 eCQM), per
partition of the patients (``aco_sync.service.partitions``), then the MCQM instances and their stats
from the partitions' sums."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.engine import McqmPartial, aggregate_mcqm, combine_mcqm
from aco_sync.domain.errors import MissingRosterError
from aco_sync.domain.partitions import roster_of_partition
from aco_sync.service.aggregation_inputs import load_synced_tins
from aco_sync.service.artifacts import dumps, outcomes_to_json, roster_from_json
from aco_sync.service.common import MCQM_RESULT_FILE, load_aco_settings, partition_key, sync_artifact_key
from aco_sync.service.duplicate_reviews import apply_duplicate_decisions
from aco_sync.service.issues import append_log_once
from aco_sync.service.partitions import (
    MCQM,
    load_partials,
    load_partition_inputs,
    load_plan,
    result_document,
)
from aco_sync.service.validation import roster_of_sync

logger = Logger(child=True)


def match_roster(
    stores: Stores,
    *,
    aco_id: str,
    sync_id: str,
    partition: int,
    partitions: int,
    catalog: MeasureCatalog | None = None,
) -> dict[str, Any]:
    """The MCQM roster match of one partition: its records against the roster rows of its buckets."""
    catalog = catalog or default_catalog()
    settings = load_aco_settings(stores.objects, aco_id)
    active = roster_of_sync(stores, aco_id, sync_id, settings.performance_year)
    if active is None:
        raise MissingRosterError(
            f"MCQM sync of ACO {aco_id}: no active Medicare roster "
            f"for performance year {settings.performance_year}"
        )
    roster = roster_of_partition(roster_from_json(stores.objects.get(active.key)), partition, partitions)
    plan = load_plan(stores.objects, aco_id, sync_id)
    synced, _failed = load_synced_tins(stores.objects, aco_id, sync_id)
    records, counts = load_partition_inputs(stores.objects, aco_id, synced, partition, partitions)
    key = stores.pseudonym_keys.pseudonym_key()
    reviewed = apply_duplicate_decisions(stores.objects, aco_id, records, pseudonym_key=key).records
    result = aggregate_mcqm(  # the reviewer's decisions are logged by Combine Member Partitions
        reviewed, counts, plan, roster, settings=settings, catalog=catalog, pseudonym_key=key
    )
    assert isinstance(result.partial, McqmPartial)
    outcomes_key = partition_key(aco_id, sync_id, MCQM, partition, "-outcomes")
    stores.objects.put(outcomes_key, outcomes_to_json(result.outcomes), content_type="application/json")
    stores.objects.put(
        partition_key(aco_id, sync_id, MCQM, partition),
        dumps({"partial": result.partial.to_dict(), "outcomes": outcomes_key}),
        content_type="application/json",
    )
    summary = {"partition": partition, "records": result.partial.records, "patients": result.outcome_count}
    logger.info("MCQM partition matched", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary


def combine_roster_matches(
    stores: Stores, *, aco_id: str, sync_id: str, catalog: MeasureCatalog | None = None
) -> dict[str, Any]:
    """The MCQM instances' stats and log from the partitions' sums (``mcqm.json``)."""
    catalog = catalog or default_catalog()
    plan = load_plan(stores.objects, aco_id, sync_id)
    parts = load_partials(stores.objects, aco_id, sync_id, MCQM)
    partials = [McqmPartial.from_dict(p["partial"]) for p in parts]
    combined = combine_mcqm(partials, plan, catalog=catalog)
    stores.objects.put(
        sync_artifact_key(aco_id, sync_id, MCQM_RESULT_FILE),
        result_document([str(p["outcomes"]) for p in parts], combined.stats, combined.log),
        content_type="application/json",
    )
    append_log_once(stores.state, aco_id, sync_id, list(combined.log))
    summary = {
        "roster_size": combined.counts["roster_rows"],
        "mcqm_instances": len(combined.stats),
        "mcqm_patients": sum(sum(c.values()) for p in partials for c in p.codes.values()),
    }
    logger.info("MCQM roster matches combined", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary
