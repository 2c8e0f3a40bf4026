"""Roster ingest (S3 "Object Created" under rosters/<aco_id>/<py>/ -> IngestRosterFunction).

Read and validate the upload, store the normalised roster under store/, make it the ACO's active
roster for its performance year only when it has valid rows (the previous one stays stored, inactive),
write a validation report (accepted/rejected with row and reason), then start a sync through the
guarded path (the same as a manual start: a sync already running makes it "Skipped: Already Running").
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ActiveRoster, ObjectNotFoundError
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.records import SyncLogEntry
from aco_sync.ingest.roster import read_roster
from aco_sync.service.artifacts import dumps, roster_to_json
from aco_sync.service.common import load_aco_settings, roster_store_prefix, utc_now
from aco_sync.service.issues import issues_to_log
from aco_sync.service.start_sync import start_sync

logger = Logger(child=True)

ROSTER_KEY = re.compile(r"^rosters/(?P<aco_id>[A-Za-z0-9][A-Za-z0-9_-]{0,63})/(?P<py>\d{4})/(?P<file>[^/]+)$")


def ingest_roster(
    stores: Stores, *, key: str, start: bool = True, catalog: MeasureCatalog | None = None
) -> dict[str, Any]:
    catalog = catalog or default_catalog()
    if key.endswith("/"):
        return {"ignored": key, "reason": "a folder marker, not a roster file"}
    key, data = _read_upload(stores, key)
    match = ROSTER_KEY.match(key)
    if match is None:
        raise InvalidInputError(f"{key}: roster uploads go to rosters/<aco_id>/<performance_year>/<file>")
    aco_id, performance_year, file_name = match["aco_id"], int(match["py"]), match["file"]
    load_aco_settings(stores.objects, aco_id)

    result = read_roster(file_name, data, catalog=catalog)
    stamp = utc_now().replace(":", "").replace("-", "")
    base = f"{roster_store_prefix(aco_id, performance_year)}{stamp}-{file_name}"
    normalised_key = f"{base}.json"
    activated = result.rows_accepted > 0
    if activated:
        stores.objects.put(normalised_key, roster_to_json(result.entries), content_type="application/json")
        stores.state.set_active_roster(
            ActiveRoster(
                aco_id=aco_id,
                performance_year=performance_year,
                key=normalised_key,
                file_name=file_name,
                rows_accepted=result.rows_accepted,
                rows_rejected=result.rows_rejected,
                activated_at=utc_now(),
            )
        )
    report = {
        "file": file_name,
        "upload_key": key,
        "performance_year": performance_year,
        "rows_total": result.rows_total,
        "rows_accepted": result.rows_accepted,
        "rows_rejected": result.rows_rejected,
        "activated": activated,
        "normalised_key": normalised_key if activated else None,
        "issues": [
            {"line": i.line, "reason": i.reason, "code": i.code, "severity": i.severity}
            for i in result.issues
        ],
    }
    report_key = f"{base}.validation.json"
    stores.objects.put(report_key, dumps(report), content_type="application/json")
    logger.info(
        "Roster ingested",
        extra={
            "aco_id": aco_id,
            "rows_accepted": result.rows_accepted,
            "rows_rejected": result.rows_rejected,
        },
    )

    summary = (
        f"Roster {file_name}: {result.rows_accepted} rows accepted, {result.rows_rejected} rejected; "
        + (
            f"now the active roster for {performance_year}"
            if activated
            else "no valid rows, so the previous active roster (if any) stays active"
        )
    )
    outcome: dict[str, Any] = {
        "aco_id": aco_id,
        "performance_year": performance_year,
        "activated": activated,
        "rows_accepted": result.rows_accepted,
        "rows_rejected": result.rows_rejected,
        "report_key": report_key,
        "sync": None,
    }
    if start:
        started = start_sync(stores, aco_id=aco_id, trigger="roster_upload")
        log = [SyncLogEntry(kind="roster", level="info" if activated else "warning", message=summary)]
        log.extend(issues_to_log(result.issues))
        stores.state.append_log(aco_id, started["sync_id"], log)
        outcome["sync"] = started
    return outcome


def _read_upload(stores: Stores, key: str) -> tuple[str, bytes]:
    """EventBridge carries the key as stored; S3 notifications URL-encode it: accept both."""
    try:
        return key, stores.objects.get(key)
    except ObjectNotFoundError:
        decoded = unquote_plus(key)
        if decoded == key:
            raise InvalidInputError(f"{key}: the uploaded roster no longer exists") from None
        return decoded, stores.objects.get(decoded)
