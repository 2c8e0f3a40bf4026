"""MCQM sync (states "Match Roster Partitions" / "Match Roster" and "Combine Roster Matches" of the MCQM
machine): roster matching of every CQM, MCQM and eCQM patient of the MCQM measures (not M112 eCQM), per
partition of the patients (``aco_sync.service.partitions``), then the MCQM instances and their stats
from the partitions' sums."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Unpack

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ObjectNotFoundError
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.engine import AggregationResult, McqmPartial, aggregate_mcqm, combine_mcqm
from aco_sync.domain.errors import MissingRosterError
from aco_sync.domain.record_codec import RecordBatch
from aco_sync.domain.records import PerformanceRecord
from aco_sync.reports.csv_exports import duplicate_patients
from aco_sync.reports.patient_parts import PatientReportPart
from aco_sync.service.artifacts import roster_from_json
from aco_sync.service.common import MCQM_RESULT_FILE, load_aco_settings, partition_key, sync_artifact_key
from aco_sync.service.issues import append_log_once
from aco_sync.service.partitions import (
    MCQM,
    MEMBERS,
    PartitionOfSync,
    load_member_patients,
    load_partials,
    load_partition_step_inputs,
    load_plan,
    partition_report,
    report_parts_of,
    result_document,
    store_partition_result,
)
from aco_sync.service.validation import roster_of_sync

logger = Logger(child=True)


def match_roster(
    stores: Stores, *, catalog: MeasureCatalog | None = None, **ids: Unpack[PartitionOfSync]
) -> dict[str, Any]:
    """The MCQM roster match of one partition: its records against the roster rows of its buckets."""
    catalog = catalog or default_catalog()
    aco_id, sync_id, partition, partitions = (
        ids["aco_id"],
        ids["sync_id"],
        ids["partition"],
        ids["partitions"],
    )
    settings = load_aco_settings(stores.objects, aco_id)
    active = roster_of_sync(stores, aco_id, sync_id, settings.performance_year)
    if active is None:
        raise MissingRosterError(
            f"MCQM sync of ACO {aco_id}: no active Medicare roster "
            f"for performance year {settings.performance_year}"
        )
    roster = roster_from_json(stores.objects.get(active.key), partition=partition, partitions=partitions)
    inputs = load_partition_step_inputs(stores, ids)
    result = aggregate_mcqm(  # the reviewer's decisions are logged by Combine Member Partitions
        inputs.reviews.records,
        inputs.counts,
        inputs.plan,
        roster,
        settings=settings,
        catalog=catalog,
        pseudonym_key=inputs.pseudonym_key,
    )
    assert isinstance(result.partial, McqmPartial)
    store_partition_result(
        stores,
        ids,
        MCQM,
        result.outcome_columns,
        {"partial": result.partial.to_dict()},
        mcqm_report(stores, ids, result, inputs.reviews.records),
    )
    summary = {"partition": partition, "records": result.partial.records, "patients": result.outcome_count}
    logger.info("MCQM partition matched", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary


def mcqm_report(
    stores: Stores,
    ids: PartitionOfSync,
    result: AggregationResult,
    records: Iterable[PerformanceRecord] | RecordBatch,
) -> PatientReportPart | None:
    """The MCQM outcomes' share of the partition's patient-level reports: with the probable duplicates
    of the partition's members and its member patients, counted once. None when the member partition
    did not keep them (the reports are then built from the outcomes)."""
    try:
        member_key = partition_key(ids["aco_id"], ids["sync_id"], MEMBERS, ids["partition"])
        member_sums = json.loads(stores.objects.get(member_key))
        if not member_sums.get("report"):
            return None
        members = load_member_patients(stores.objects, ids)
    except ObjectNotFoundError:
        return None
    pairs = member_sums["partial"]["probable_duplicates"]
    return partition_report(
        ids["partition"], result, records, duplicate_patients=duplicate_patients(pairs), members=members
    )


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
        result_document(
            [str(p["outcomes"]) for p in parts],
            combined.stats,
            combined.log,
            report_parts=report_parts_of(parts),
        ),
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
