"""Update aggregate stats (state "Update Aggregate Stats", both machines): store the measure results of
the sync (CQM/eCQM instances, plus the MCQM instances when the MCQM job ran) and write the reports
under results/<aco_id>/<sync_id>/. The patient-level reports and the clinic stats are merged from the
engine partitions' report parts (:mod:`aco_sync.reports.patient_parts`); a sync whose partitions wrote
none (one started before they existed) gets them the old way, from every outcome and the clinics'
snapshots."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.records import MeasureStats, PatientOutcome
from aco_sync.reports import build_reports
from aco_sync.reports.model import RecordSource, ReportInputs
from aco_sync.reports.patient_parts import MergedParts, PatientReportPart, merge_parts
from aco_sync.reports.record_sources import record_sources
from aco_sync.scoring.app_plus import CmsResults
from aco_sync.scoring.clinic_stats import clinic_stats_of, compute_clinic_stats
from aco_sync.service.aggregation_inputs import load_clinic_inputs, load_synced_tins
from aco_sync.service.artifacts import (
    aggregation_from_json,
    dumps,
    probable_duplicates_from_json,
)
from aco_sync.service.common import (
    CLINIC_STATS_FILE,
    MCQM_RESULT_FILE,
    MEMBERS_RESULT_FILE,
    load_aco_settings,
    results_prefix,
    sync_artifact_key,
)
from aco_sync.service.validation import roster_of_sync
from aco_sync.wire import clinic_stats_to_dict, stats_from_dict, stats_to_dict

logger = Logger(child=True)

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".html": "text/html",
    ".json": "application/json",
    ".xml": "application/xml",
}


def load_sync_results(
    stores: Stores, aco_id: str, sync_id: str
) -> tuple[list[PatientOutcome], list[MeasureStats]]:
    """The member (CQM/eCQM) results of the sync plus its MCQM results, when the MCQM job ran."""
    outcomes, stats = aggregation_from_json(
        stores.objects.get(sync_artifact_key(aco_id, sync_id, MEMBERS_RESULT_FILE)), stores.objects
    )
    try:
        mcqm_outcomes, mcqm_stats = aggregation_from_json(
            stores.objects.get(sync_artifact_key(aco_id, sync_id, MCQM_RESULT_FILE)), stores.objects
        )
    except ObjectNotFoundError:
        return outcomes, stats
    return [*outcomes, *mcqm_outcomes], [*stats, *mcqm_stats]


@dataclass(frozen=True)
class MergedResults:
    """The sync's measure stats (members', then MCQM's) and its partitions' merged report parts."""

    stats: list[MeasureStats]
    pairs: list[dict[str, str]]  # the probable duplicates
    parts: MergedParts


def merged_report_parts(stores: Stores, aco_id: str, sync_id: str) -> MergedResults | None:
    """The results of the sync from the members' and MCQM results and their partitions' report parts
    (no outcome read), or None when a partition kept no report part."""
    documents = [json.loads(stores.objects.get(sync_artifact_key(aco_id, sync_id, MEMBERS_RESULT_FILE)))]
    with contextlib.suppress(ObjectNotFoundError):
        documents.append(json.loads(stores.objects.get(sync_artifact_key(aco_id, sync_id, MCQM_RESULT_FILE))))
    keys: list[str] = []
    for document in documents:
        parts = document.get("report_parts", [])
        if document.get("outcomes") or len(parts) != len(document.get("outcome_parts", [])):
            return None
        keys.extend(document["report_parts"])
    pairs = [dict(pair) for pair in documents[0].get("probable_duplicates", [])]
    parts = merge_parts([PatientReportPart.from_json(stores.objects.get(key)) for key in keys], pairs)
    stats = [stats_from_dict(s) for document in documents for s in document.get("stats", [])]
    return MergedResults(stats=stats, pairs=pairs, parts=parts)


def previous_sync_score(
    objects: ObjectStore, aco_id: str, sync_id: str, performance_year: int
) -> dict[str, Any] | None:
    """The quality-score.json of the ACO's latest earlier sync of the same performance year, or None."""
    best: dict[str, Any] | None = None
    for key in objects.list_keys(f"results/{aco_id}/"):
        if not key.endswith("/quality-score.json") or f"/{sync_id}/" in key:
            continue
        try:
            document = json.loads(objects.get(key))
        except (ObjectNotFoundError, ValueError):
            continue
        if not isinstance(document, dict) or document.get("performance_year") != performance_year:
            continue
        if str(document.get("sync_id", "")) >= sync_id and document.get("sync_id"):
            continue  # only syncs that started before this one (sync ids sort by start time)
        if best is None or str(document.get("generated_at", "")) > str(best.get("generated_at", "")):
            best = document
    return best


def _sources_of_sync(
    stores: Stores, aco_id: str, sync_id: str, outcomes: list[PatientOutcome]
) -> dict[str, RecordSource]:
    try:
        synced, _failed = load_synced_tins(stores.objects, aco_id, sync_id)
    except ObjectNotFoundError:
        return {}
    records, _counts = load_clinic_inputs(stores.objects, aco_id, synced)
    return record_sources(records, (key for o in outcomes for key in o.source_keys))


def _probable_duplicates(stores: Stores, aco_id: str, sync_id: str) -> list[dict[str, str]]:
    try:
        return probable_duplicates_from_json(
            stores.objects.get(sync_artifact_key(aco_id, sync_id, MEMBERS_RESULT_FILE))
        )
    except ObjectNotFoundError:
        return []


def cms_results_key(aco_id: str) -> str:
    return f"config/cms-results/{aco_id}.json"


def load_cms_results(stores: Stores, aco_id: str) -> tuple[CmsResults | None, str | None]:
    """The ACO's optional CMS results file, or (None, why it is not used) when it is invalid."""
    key = cms_results_key(aco_id)
    try:
        data = stores.objects.get(key)
    except ObjectNotFoundError:
        return None, None
    try:
        return CmsResults.model_validate_json(data), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        return None, f"{key} is not used: {where}: {first['msg']}"


def update_aggregate_stats(stores: Stores, *, aco_id: str, sync_id: str) -> dict[str, Any]:
    from aco_sync.service.carried_results import publish_fingerprint, same_as

    earlier = same_as(stores.objects, aco_id, sync_id)
    if earlier is not None:  # nothing changed since that sync: its results (and reports) are this one's
        results = stores.state.list_measure_results(aco_id, earlier)
        stores.state.put_measure_results(aco_id, sync_id, results)
        prefix = results_prefix(aco_id, earlier)
        stores.state.update_sync_run(aco_id, sync_id, results_prefix=prefix)
        logger.info(
            "Aggregate stats carried",
            extra={"aco_id": aco_id, "sync_id": sync_id, "results_of": earlier, "instances": len(results)},
        )
        return {"measure_instances": len(results), "results_prefix": prefix, "results_of": earlier}
    settings = load_aco_settings(stores.objects, aco_id)
    merged = merged_report_parts(stores, aco_id, sync_id)
    if merged is not None:  # each engine partition wrote its share of the patient-level reports
        outcomes: list[PatientOutcome] = []
        stats = merged.stats
    else:  # a sync whose partitions kept no report parts: the reports from every outcome
        outcomes, stats = load_sync_results(stores, aco_id, sync_id)
    results = [stats_to_dict(s) for s in stats]
    stores.state.put_measure_results(aco_id, sync_id, results)

    roster = roster_of_sync(stores, aco_id, sync_id, settings.performance_year)
    # the roster's accepted rows are its stored entries (roster_ingest writes both from the same read):
    # its size without parsing the whole roster
    roster_size = roster.rows_accepted if roster else None
    clinics = [
        {"tin": c.tin, "name": c.name, "status": c.status, "reason": c.reason, "last_synced": c.last_synced}
        for c in stores.state.list_clinic_statuses(aco_id)
    ]
    cms_results, cms_results_problem = load_cms_results(stores, aco_id)
    # each TIN's own rates (the report shows them): kept for the clinic stats job, which stores them
    if merged is not None:
        parts = merged.parts
        clinic_stats = clinic_stats_of(parts.clinic, catalog=default_catalog()) if parts.outcomes else None
    else:
        clinic_stats = compute_clinic_stats(outcomes, catalog=default_catalog()) if outcomes else None
    if clinic_stats is not None:
        stores.objects.put(
            sync_artifact_key(aco_id, sync_id, CLINIC_STATS_FILE),
            dumps([clinic_stats_to_dict(c) for c in clinic_stats]),
            content_type="application/json",
        )
    reports = build_reports(
        ReportInputs(
            settings=settings,
            sync_id=sync_id,
            generated_at=datetime.now(UTC),
            stats=stats,
            outcomes=outcomes,
            clinic_stats=clinic_stats,
            log=stores.state.list_log(aco_id, sync_id),
            clinic_statuses=clinics,
            roster_size=roster_size,
            record_sources=_sources_of_sync(stores, aco_id, sync_id, outcomes) if merged is None else {},
            probable_duplicates=merged.pairs if merged else _probable_duplicates(stores, aco_id, sync_id),
            patient_level=merged.parts.reports if merged else None,
            previous=previous_sync_score(stores.objects, aco_id, sync_id, settings.performance_year),
            cms_results=cms_results,
            cms_results_problem=cms_results_problem,
        )
    )
    prefix = results_prefix(aco_id, sync_id)
    stores.objects.put(f"{prefix}measures.json", dumps(results), content_type="application/json")
    for name, body in reports.items():
        suffix = name[name.rfind(".") :] if "." in name else ""
        stores.objects.put(
            f"{prefix}{name}", body, content_type=CONTENT_TYPES.get(suffix, "application/octet-stream")
        )
    stores.state.update_sync_run(aco_id, sync_id, results_prefix=prefix)
    publish_fingerprint(stores.objects, aco_id, sync_id)
    logger.info(
        "Aggregate stats updated", extra={"aco_id": aco_id, "sync_id": sync_id, "instances": len(results)}
    )
    return {"measure_instances": len(results), "results_prefix": prefix, "reports": sorted(reports)}
