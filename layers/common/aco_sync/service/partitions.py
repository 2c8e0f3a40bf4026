"""The engine steps per partition of the patients and their reduce steps (docs/PERFORMANCE.md "Scaling
past one Lambda", docs/WORKFLOW.md).

- ``aggregate_member_partition`` (state "Aggregate Member Partition", one iteration of the Distributed
  Map "Aggregate Member Partitions"): finalize's CQM/eCQM aggregation on one partition's records;
- ``combine_member_partitions`` (state "Combine Member Partitions"): adds the partitions' sums into the
  members' stats and log (``members.json``);
- the same for the MCQM roster match (``aco_sync.service.mcqm_sync``: "Match Roster" per partition,
  "Combine Roster Matches"), with the roster filtered to the partition's buckets.

Each iteration writes its sums (``partitions/<step>-<n>.json``), its patient outcomes
(``partitions/<step>-<n>-outcomes.json``) and its share of the patient-level reports, already formatted
and sorted (``partitions/<step>-<n>-report.json``, :mod:`aco_sync.reports.patient_parts`) to the bucket;
nothing of it travels in a state payload. The members' and MCQM results name those files: Update
Aggregate Stats merges the report parts (it reads no clinic snapshot and no outcome).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.collection_types import MeasurePlan
from aco_sync.domain.dedup import PseudonymKey
from aco_sync.domain.engine import (
    AggregationResult,
    MembersPartial,
    aggregate_members,
    combine_members,
)
from aco_sync.domain.outcome_columns import OutcomeColumns
from aco_sync.domain.partitions import select_partition
from aco_sync.domain.record_codec import RecordBatch, concat_batches, decode_batch
from aco_sync.domain.records import DenominatorCount, PatientOutcome, PerformanceRecord, SyncLogEntry
from aco_sync.reports.csv_exports import duplicate_patients
from aco_sync.reports.patient_parts import PatientReportPart, build_part
from aco_sync.reports.record_sources import BatchSources
from aco_sync.scoring.clinic_stats import PatientSets, patient_sets
from aco_sync.service.aggregation_inputs import load_synced_tins
from aco_sync.service.artifacts import counts_from_json, dumps, outcomes_to_json
from aco_sync.service.carried_results import same_as
from aco_sync.service.common import (
    MEMBERS_RESULT_FILE,
    PARTITION_MANIFEST_FILE,
    PLAN_FILE,
    clinic_counts_key,
    clinic_records_key,
    partition_key,
    sync_artifact_key,
)
from aco_sync.service.duplicate_reviews import (
    AppliedDecisions,
    apply_duplicate_decisions,
    combined_review_log,
)
from aco_sync.service.finalize import missing_tins_log
from aco_sync.service.issues import append_log_once
from aco_sync.wire import log_entry_to_dict, plan_from_dict, stats_to_dict

logger = Logger(child=True)

MEMBERS = "members"
MCQM = "mcqm"
REPORT_PART = "-report"  # partitions/<step>-<n>-report.json: its share of the patient-level reports
MEMBER_PATIENTS = "-patients"  # partitions/members-<n>-patients.json: for the MCQM part's distinct counts


def load_partition_inputs(
    objects: ObjectStore, aco_id: str, tins: Sequence[str], partition: int, partitions: int
) -> tuple[RecordBatch, list[DenominatorCount]]:
    """The records of ``tins`` in the partition, as one batch (each clinic's file is filtered as it is
    read, so only the partition's records are kept), and the denominator-only counts, which are not
    per patient: all of them go to partition 0."""
    batches: list[RecordBatch] = []
    counts: list[DenominatorCount] = []
    for tin in tins:
        with contextlib.suppress(ObjectNotFoundError):
            batch = select_partition(
                decode_batch(objects.get(clinic_records_key(aco_id, tin))), partition, partitions
            )
            if len(batch):
                batches.append(batch)
        if partition == 0:
            with contextlib.suppress(ObjectNotFoundError):
                counts.extend(counts_from_json(objects.get(clinic_counts_key(aco_id, tin))))
    return (concat_batches(batches) if batches else RecordBatch()), counts


def partition_count_of_sync(objects: ObjectStore, aco_id: str, sync_id: str) -> int:
    return len(json.loads(objects.get(sync_artifact_key(aco_id, sync_id, PARTITION_MANIFEST_FILE))))


def load_plan(objects: ObjectStore, aco_id: str, sync_id: str) -> MeasurePlan:
    return plan_from_dict(json.loads(objects.get(sync_artifact_key(aco_id, sync_id, PLAN_FILE))))


class PartitionOfSync(TypedDict):
    """The keyword arguments naming the partition an engine step works on (a partition Map's item)."""

    aco_id: str
    sync_id: str
    partition: int
    partitions: int


@dataclass(frozen=True)
class PartitionInputs:
    """What an engine step of one partition reads: the sync's measure plan, the partition's records of
    the synced TINs (the reviewer's duplicate decisions applied), its denominator counts and the key."""

    plan: MeasurePlan
    reviews: AppliedDecisions
    counts: list[DenominatorCount]
    pseudonym_key: PseudonymKey


def load_partition_step_inputs(stores: Stores, ids: PartitionOfSync) -> PartitionInputs:
    aco_id, sync_id = ids["aco_id"], ids["sync_id"]
    plan = load_plan(stores.objects, aco_id, sync_id)
    synced, _failed = load_synced_tins(stores.objects, aco_id, sync_id)
    records, counts = load_partition_inputs(
        stores.objects, aco_id, synced, ids["partition"], ids["partitions"]
    )
    key = stores.pseudonym_keys.pseudonym_key()
    reviews = apply_duplicate_decisions(stores.objects, aco_id, records, pseudonym_key=key)
    return PartitionInputs(plan=plan, reviews=reviews, counts=counts, pseudonym_key=key)


def store_partition_result(
    stores: Stores,
    ids: PartitionOfSync,
    step: str,
    outcomes: Any,
    document: dict[str, Any],
    report: PatientReportPart | None = None,
) -> None:
    """The partition's outcomes file and its share of the patient-level reports, then its sums naming
    those files (read by the combine step). Written again whole on a retry (same keys)."""
    aco_id, sync_id, partition = ids["aco_id"], ids["sync_id"], ids["partition"]
    outcomes_key = partition_key(aco_id, sync_id, step, partition, "-outcomes")
    stores.objects.put(outcomes_key, outcomes_to_json(outcomes), content_type="application/json")
    names = {"outcomes": outcomes_key}
    if report is not None:
        names["report"] = partition_key(aco_id, sync_id, step, partition, REPORT_PART)
        stores.objects.put(names["report"], report.to_json(), content_type="application/json")
    stores.objects.put(
        partition_key(aco_id, sync_id, step, partition),
        dumps({**document, **names}),
        content_type="application/json",
    )


def partition_report(
    partition: int,
    result: AggregationResult,
    records: Iterable[PerformanceRecord] | RecordBatch,
    *,
    duplicate_patients: Iterable[str] = (),
    members: PatientSets | None = None,
) -> PatientReportPart:
    """The partition's :class:`PatientReportPart`, its records' sources read from the partition's batch
    (``duplicate_patients`` and ``members``: :func:`~aco_sync.reports.patient_parts.build_part`'s)."""
    sources = BatchSources(RecordBatch.from_records(records))
    return build_part(
        partition,
        result.outcome_columns,
        sources,
        result.stats,
        duplicate_patients=duplicate_patients,
        members=members,
    )


def store_member_patients(
    stores: Stores, ids: PartitionOfSync, outcomes: Sequence[PatientOutcome] | OutcomeColumns
) -> None:
    """The partition's member outcomes' patients (all, and per TIN), for its MCQM part's distinct counts."""
    everyone, by_tin = patient_sets(outcomes)
    stores.objects.put(
        partition_key(ids["aco_id"], ids["sync_id"], MEMBERS, ids["partition"], MEMBER_PATIENTS),
        dumps({"patients": sorted(everyone), "by_tin": {t: sorted(p) for t, p in sorted(by_tin.items())}}),
        content_type="application/json",
    )


def load_member_patients(objects: ObjectStore, ids: PartitionOfSync) -> PatientSets:
    data = json.loads(
        objects.get(partition_key(ids["aco_id"], ids["sync_id"], MEMBERS, ids["partition"], MEMBER_PATIENTS))
    )
    return set(data["patients"]), {t: set(p) for t, p in data["by_tin"].items()}


def aggregate_member_partition(
    stores: Stores, *, catalog: MeasureCatalog | None = None, **ids: Unpack[PartitionOfSync]
) -> dict[str, Any]:
    catalog = catalog or default_catalog()
    aco_id, sync_id, partition = ids["aco_id"], ids["sync_id"], ids["partition"]
    inputs = load_partition_step_inputs(stores, ids)
    reviews = inputs.reviews
    result = aggregate_members(
        reviews.records,
        inputs.plan,
        catalog=catalog,
        pseudonym_key=inputs.pseudonym_key,
        not_the_same=reviews.not_the_same,
    )
    assert isinstance(result.partial, MembersPartial)
    pairs = [d.to_dict() for d in result.partial.probable_duplicates]
    report = partition_report(
        partition, result, reviews.records, duplicate_patients=duplicate_patients(pairs)
    )
    if inputs.plan.mcqm_needed:
        store_member_patients(stores, ids, result.outcome_columns)
    store_partition_result(
        stores,
        ids,
        MEMBERS,
        result.outcome_columns,
        {"partial": result.partial.to_dict(), "merged_into": reviews.merged_into},
        report,
    )
    summary = {"partition": partition, "records": result.partial.records, "patients": result.partial.patients}
    logger.info("Member partition aggregated", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary


def load_partials(objects: ObjectStore, aco_id: str, sync_id: str, step: str) -> list[dict[str, Any]]:
    count = partition_count_of_sync(objects, aco_id, sync_id)
    return [json.loads(objects.get(partition_key(aco_id, sync_id, step, p))) for p in range(count)]


def combine_member_partitions(
    stores: Stores, *, aco_id: str, sync_id: str, catalog: MeasureCatalog | None = None
) -> dict[str, Any]:
    """The members' results from the partitions' sums; the duplicate decisions' and the aggregation's
    log lines, then the TINs missing from the results."""
    earlier = same_as(stores.objects, aco_id, sync_id)
    if earlier is not None:  # nothing changed: finalize ran no partition (Update Aggregate Stats carries)
        return {"partitions": 0, "measure_instances": 0, "patients": 0, "results_of": earlier}
    catalog = catalog or default_catalog()
    plan = load_plan(stores.objects, aco_id, sync_id)
    _synced, failed = load_synced_tins(stores.objects, aco_id, sync_id)
    parts = load_partials(stores.objects, aco_id, sync_id, MEMBERS)
    combined = combine_members([MembersPartial.from_dict(p["partial"]) for p in parts], plan, catalog=catalog)
    merged_into: dict[str, str] = {}
    for part in parts:
        merged_into.update(part["merged_into"])
    stores.objects.put(
        sync_artifact_key(aco_id, sync_id, MEMBERS_RESULT_FILE),
        result_document(
            [str(p["outcomes"]) for p in parts],
            combined.stats,
            combined.log,
            [d.to_dict() for d in combined.probable_duplicates],
            report_parts=report_parts_of(parts),
        ),
        content_type="application/json",
    )
    log: list[SyncLogEntry] = [
        *combined_review_log(stores.objects, aco_id, merged_into),
        *combined.log,
        *missing_tins_log(failed),
    ]
    append_log_once(stores.state, aco_id, sync_id, log)
    summary = {
        "partitions": len(parts),
        "measure_instances": len(combined.stats),
        "patients": combined.counts["patients"],
    }
    logger.info("Member partitions combined", extra={"aco_id": aco_id, "sync_id": sync_id, **summary})
    return summary


def report_parts_of(parts: Sequence[dict[str, Any]]) -> list[str]:
    """The keys of the partitions' report parts; none unless every partition wrote one."""
    keys = [p.get("report") for p in parts]
    return [str(k) for k in keys] if all(keys) else []


def result_document(
    outcome_parts: Sequence[str],
    stats: Sequence[Any],
    log: Sequence[SyncLogEntry],
    probable_duplicates: Sequence[dict[str, str]] = (),
    *,
    report_parts: Sequence[str] = (),
) -> bytes:
    """``members.json`` / ``mcqm.json``: the stats, log and probable duplicates of the step, and the keys
    of its partitions' outcome files (``aco_sync.service.artifacts.aggregation_from_json``) and report
    parts (``aco_sync.reports.patient_parts``; none: the reports are built from the outcomes)."""
    return dumps(
        {
            "outcome_parts": list(outcome_parts),
            "report_parts": list(report_parts),
            "stats": [stats_to_dict(s) for s in stats],
            "log": [log_entry_to_dict(e) for e in log],
            "probable_duplicates": list(probable_duplicates),
        }
    )
