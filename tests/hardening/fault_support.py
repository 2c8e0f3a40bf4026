"""Helpers of the fault and concurrency tests: a local stack with an ACO uploaded, syncs run through
the real state machines, and a comparable "signature" of everything a sync stores."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from aco_sync.adapters.environment import build_stores
from aco_sync.service.status import latest_sync_status
from aco_sync_local.local_aws import LocalAws
from support.events import ingest_roster_event

START_SYNC = "StartSyncFunction"
# result files compared between runs (the HTML report and the QRDA III carry generation times)
COMPARED_RESULT_FILES = (
    "measures.csv",
    "measures.json",
    "patients.csv",
    "quality-score.json",
    "qpp-submission.json",
    "DRAFT-qpp-submission.json",
    "clinic_stats.json",
)
# status transitions (their wording depends on timing, e.g. "the MCQM job had already started") and a
# step's own retry notes are not findings about the data
RETRY_LOG_KINDS = {"retry", "status"}
VOLATILE_KEYS = re.compile(r"(^|_)(at|time|timestamp|sync_id|updated|created|generated|last_synced)$")
SYNC_ID = re.compile(r"sync-\d{8}T\d{6,12}Z-[0-9a-f]{8}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def upload_aco(aws: LocalAws, folder: Path, aco_id: str, *, with_roster_event: bool = False) -> None:
    uploaded = aws.upload_folder(folder)
    if with_roster_event:
        for key in uploaded:
            if key.startswith(f"rosters/{aco_id}/"):
                ingest_roster_event(aws, key)


def activate_roster_without_sync(aws: LocalAws, key: str) -> dict[str, Any]:
    from aco_sync.service.roster_ingest import ingest_roster

    return ingest_roster(build_stores(), key=key, start=False)


def start_sync(aws: LocalAws, aco_id: str, trigger: str = "manual") -> dict[str, Any]:
    response: dict[str, Any] = aws.invoke(START_SYNC, {"aco_id": aco_id, "trigger": trigger})
    return response["started"][0]


def run_sync(aws: LocalAws, aco_id: str, trigger: str = "manual", timeout: float = 120) -> dict[str, Any]:
    """Start a sync, wait for it (and its MCQM job), run the clinic stats jobs; return the status."""
    started = start_sync(aws, aco_id, trigger)
    aws.wait_for_executions(timeout=timeout)
    aws.drain_queues()
    aws.wait_for_executions(timeout=timeout)
    status = latest_sync_status(aco_id)
    status["started"] = started
    return status


# how many encounters/providers a step wrote depends on what an earlier attempt or sync wrote
CLINIC_COUNTS = re.compile(r"\d+ added( or changed)?, \d+ (updated, \d+ )?removed(, \d+ unchanged)?")
# a clinic whose files did not change is not read again: its lines say so, with the same figures
UNCHANGED_NOTE = re.compile(
    r" \(unchanged since the last sync\)|; files unchanged since the last sync, not read again"
)


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items()) if not VOLATILE_KEYS.search(k)}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str):
        return TIMESTAMP.sub("<time>", SYNC_ID.sub("<sync>", value))
    return value


def stored_results(aws: LocalAws, aco_id: str, status: dict[str, Any]) -> dict[str, Any]:
    """Everything a completed sync stored that must not depend on how it got there: the aggregate
    encounters per TIN (asserting there is no duplicate), the measure results, the clinic statuses,
    the per-clinic snapshots and the result files (sync ids and timestamps masked)."""
    stores = build_stores()
    encounters = stores.state.aggregate_encounters(aco_id)
    keys = Counter((e.tin, e.source_key) for e in encounters)
    duplicates = [key for key, count in keys.items() if count > 1]
    assert duplicates == [], f"duplicate aggregate encounters: {duplicates[:5]}"
    prefix = status["results_prefix"]
    assert prefix, status["sync"]
    files: dict[str, Any] = {}
    for name in COMPARED_RESULT_FILES:
        key = f"{prefix}{name}"
        if key in aws.list_keys(prefix):
            text = stores.objects.get(key).decode()
            files[name] = _stable(json.loads(text)) if name.endswith(".json") else _stable(text)
    snapshots = {
        key.split("/clinics/", 1)[1]: stores.objects.get(key)
        for key in aws.list_keys(f"store/{aco_id}/clinics/")
    }
    return {
        "encounters": sorted(
            (e.tin, e.source_key, e.content_hash, e.measure_id, e.collection_type) for e in encounters
        ),
        "measures": _stable(status["measures"]),
        "clinics": sorted((c["tin"], c["status"], c["reason"]) for c in status["clinics"]),
        "sync_status": status["sync"]["status"],
        # what the user reads in the sync log: a retried step must not log its findings twice
        "log": sorted(
            (
                e["kind"],
                e["level"],
                e.get("tin") or "",
                CLINIC_COUNTS.sub("<counts>", UNCHANGED_NOTE.sub("", _stable(e["message"]))),
            )
            for e in status["log"]
            if e["kind"] not in RETRY_LOG_KINDS
        ),
        "files": files,
        "snapshots": snapshots,
    }


def assert_same_results(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal stored results, with a readable difference (what is missing / extra) when not."""
    assert actual.keys() == expected.keys()
    for part in expected:
        if actual[part] == expected[part]:
            continue
        if isinstance(expected[part], list):
            extra = Counter(map(repr, actual[part])) - Counter(map(repr, expected[part]))
            missing = Counter(map(repr, expected[part])) - Counter(map(repr, actual[part]))
            raise AssertionError(f"{part} differ: extra {dict(extra)}; missing {dict(missing)}")
        if isinstance(expected[part], dict):
            different = sorted(
                k
                for k in expected[part].keys() | actual[part].keys()
                if expected[part].get(k) != actual[part].get(k)
            )
            raise AssertionError(f"{part} differ in {different}")
        raise AssertionError(f"{part}: {actual[part]!r} != {expected[part]!r}")
