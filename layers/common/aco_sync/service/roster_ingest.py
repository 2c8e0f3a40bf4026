"""Roster ingest (S3 "Object Created" under rosters/<aco_id>/<py>/ -> IngestRosterFunction).

Read and validate the upload, store the normalised roster under store/, make it the ACO's active
roster for its performance year only when it is undamaged (valid rows, no file-level error; the previous
one stays stored, inactive) and would not drop more than ``roster_max_drop_percent`` of the active
roster's beneficiaries (such a roster is *held* until confirmed: ``aco-sync roster-confirm`` or an upload
to ``rosters/<aco_id>/<py>/confirm/<file>``), write a validation report (accepted/rejected with row and
reason), then start a sync through the guarded path (the same as a manual start: a sync already running
makes it "Skipped: Already Running"). Every ingested upload is recorded (key and content hash) so the
daily sync ingests the rosters whose ingest never ran or kept failing (``ingest_pending_rosters``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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
from aco_sync.service.artifacts import dumps, roster_from_json, roster_to_json
from aco_sync.service.common import load_aco_settings, roster_store_prefix, utc_now
from aco_sync.service.issues import issues_to_log
from aco_sync.service.start_sync import start_sync

logger = Logger(child=True)

ROSTER_KEY = re.compile(
    r"^rosters/(?P<aco_id>[A-Za-z0-9][A-Za-z0-9_-]{0,63})/(?P<py>[0-9]{4})/(?P<file>[^/]+)$"
)
CONFIRM_KEY = re.compile(
    r"^rosters/(?P<aco_id>[A-Za-z0-9][A-Za-z0-9_-]{0,63})/(?P<py>[0-9]{4})/confirm/(?P<file>[^/]+)$"
)
HELD_FILE = "held.json"
INGESTED_FILE = "ingested.json"


def ingest_roster(
    stores: Stores, *, key: str, start: bool = True, catalog: MeasureCatalog | None = None
) -> dict[str, Any]:
    catalog = catalog or default_catalog()
    if key.endswith("/"):
        return {"ignored": key, "reason": "a folder marker, not a roster file"}
    key, data = _read_upload(stores, key)
    confirm = CONFIRM_KEY.match(key)
    if confirm is not None:
        return confirm_held_roster(
            stores,
            aco_id=confirm["aco_id"],
            performance_year=int(confirm["py"]),
            file_name=confirm["file"],
            start=start,
        )
    match = ROSTER_KEY.match(key)
    if match is None:
        raise InvalidInputError(f"{key}: roster uploads go to rosters/<aco_id>/<performance_year>/<file>")
    aco_id, performance_year, file_name = match["aco_id"], int(match["py"]), match["file"]
    settings = load_aco_settings(stores.objects, aco_id)

    result = read_roster(file_name, data, catalog=catalog)
    stamp = utc_now().replace(":", "").replace("-", "")
    base = f"{roster_store_prefix(aco_id, performance_year)}{stamp}-{file_name}"
    normalised_key = f"{base}.json"
    active = stores.state.get_active_roster(aco_id, performance_year)
    drop = None if result.damaged or active is None else _drop(stores, active, result.entries)
    held = drop is not None and drop[0] * 100 > settings.roster_max_drop_percent * drop[1]
    activated = not result.damaged and not held
    if not result.damaged:
        stores.objects.put(normalised_key, roster_to_json(result.entries), content_type="application/json")
    candidate = ActiveRoster(
        aco_id=aco_id,
        performance_year=performance_year,
        key=normalised_key,
        file_name=file_name,
        rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected,
        activated_at=utc_now(),
    )
    if activated:
        stores.state.set_active_roster(candidate)
    elif held:
        stores.objects.put(
            _held_key(aco_id, performance_year),
            dumps({"roster": dataclasses.asdict(candidate), "dropped": drop[0] if drop else 0}),
            content_type="application/json",
        )
    report = {
        "file": file_name,
        "upload_key": key,
        "performance_year": performance_year,
        "rows_total": result.rows_total,
        "rows_accepted": result.rows_accepted,
        "rows_rejected": result.rows_rejected,
        "activated": activated,
        "held": held,
        "normalised_key": normalised_key if not result.damaged else None,
        "issues": [
            {"line": i.line, "reason": i.reason, "code": i.code, "severity": i.severity}
            for i in result.issues
        ],
    }
    report_key = f"{base}.validation.json"
    stores.objects.put(report_key, dumps(report), content_type="application/json")
    _record_ingested(stores, aco_id, performance_year, key, data)
    logger.info(
        "Roster ingested",
        extra={
            "aco_id": aco_id,
            "rows_accepted": result.rows_accepted,
            "rows_rejected": result.rows_rejected,
            "activated": activated,
            "held": held,
        },
    )

    counts = (
        f"Roster {file_name}: {result.rows_total} rows read, {result.rows_accepted} accepted, "
        f"{result.rows_rejected} rejected; "
    )
    if activated:
        summary = counts + f"now the active roster for {performance_year}"
    elif held and drop is not None and active is not None:
        summary = counts + held_message(file_name, drop, settings.roster_max_drop_percent, active, aco_id)
    elif result.refused or result.file_errors:
        summary = (
            counts + "the file has errors (see them), so the previous active roster (if any) stays active"
        )
    else:
        summary = counts + "no valid rows, so the previous active roster (if any) stays active"
    outcome: dict[str, Any] = {
        "aco_id": aco_id,
        "performance_year": performance_year,
        "activated": activated,
        "held": held,
        "rows_total": result.rows_total,
        "rows_accepted": result.rows_accepted,
        "rows_rejected": result.rows_rejected,
        "report_key": report_key,
        "message": summary,
        "sync": None,
    }
    if start:
        started = start_sync(stores, aco_id=aco_id, trigger="roster_upload")
        log = [SyncLogEntry(kind="roster", level="info" if activated else "warning", message=summary)]
        log.extend(issues_to_log(result.issues))
        stores.state.append_log(aco_id, started["sync_id"], log)
        outcome["sync"] = started
    return outcome


def held_message(
    file_name: str, drop: tuple[int, int], threshold: float, active: ActiveRoster, aco_id: str
) -> str:
    dropped, total = drop
    return (
        f"held: it would drop {dropped} of the {total} beneficiaries of the active roster {active.file_name} "
        f"({100 * dropped / total:.1f}%, more than the {threshold:g}% allowed), so the sync keeps using the "
        f"active roster until it is confirmed (aco-sync roster-confirm, or upload any file as "
        f"rosters/{aco_id}/{active.performance_year}/confirm/{file_name})"
    )


def _drop(stores: Stores, active: ActiveRoster, entries: list[Any]) -> tuple[int, int] | None:
    """(beneficiaries of the active roster missing from ``entries``, beneficiaries of the active roster)."""
    try:
        current = {e.mbi for e in roster_from_json(stores.objects.get(active.key))}
    except ObjectNotFoundError:
        return None
    if not current:
        return None
    return len(current - {e.mbi for e in entries}), len(current)


def _held_key(aco_id: str, performance_year: int) -> str:
    return f"{roster_store_prefix(aco_id, performance_year)}{HELD_FILE}"


def held_roster(stores: Stores, aco_id: str, performance_year: int) -> ActiveRoster | None:
    """The roster held for confirmation (None: none is held)."""
    try:
        data = json.loads(stores.objects.get(_held_key(aco_id, performance_year)))
    except ObjectNotFoundError:
        return None
    return ActiveRoster(**data["roster"])


def confirm_held_roster(
    stores: Stores, *, aco_id: str, performance_year: int, file_name: str | None = None, start: bool = True
) -> dict[str, Any]:
    """Make the held roster the active one (the user confirmed the drop), then start a sync."""
    held = held_roster(stores, aco_id, performance_year)
    if held is None or (file_name and file_name != held.file_name):
        what = f"roster {file_name}" if file_name else "roster"
        raise InvalidInputError(f"No {what} is held for confirmation for ACO {aco_id}, {performance_year}")
    stores.state.set_active_roster(dataclasses.replace(held, activated_at=utc_now()))
    stores.objects.delete(_held_key(aco_id, performance_year))
    message = f"Roster {held.file_name}: confirmed, now the active roster for {performance_year}"
    outcome: dict[str, Any] = {
        "aco_id": aco_id,
        "performance_year": performance_year,
        "activated": True,
        "held": False,
        "confirmed": held.file_name,
        "message": message,
        "sync": None,
    }
    if start:
        started = start_sync(stores, aco_id=aco_id, trigger="roster_upload")
        stores.state.append_log(aco_id, started["sync_id"], [SyncLogEntry(kind="roster", message=message)])
        outcome["sync"] = started
    logger.info("Roster confirmed", extra={"aco_id": aco_id})
    return outcome


def _ingested_key(aco_id: str, performance_year: int) -> str:
    return f"{roster_store_prefix(aco_id, performance_year)}{INGESTED_FILE}"


def _ingested(stores: Stores, aco_id: str, performance_year: int) -> dict[str, str]:
    try:
        data: dict[str, str] = json.loads(stores.objects.get(_ingested_key(aco_id, performance_year)))
    except ObjectNotFoundError:
        return {}
    return data


def _record_ingested(stores: Stores, aco_id: str, performance_year: int, key: str, data: bytes) -> None:
    ingested = _ingested(stores, aco_id, performance_year)
    ingested[key] = hashlib.sha256(data).hexdigest()
    stores.objects.put(
        _ingested_key(aco_id, performance_year), dumps(ingested), content_type="application/json"
    )


def ingest_pending_rosters(
    stores: Stores, *, aco_id: str, performance_year: int, catalog: MeasureCatalog | None = None
) -> list[dict[str, Any]]:
    """Ingest the ACO's roster uploads for the year that were never ingested (or changed since): the
    daily sync's safety net for a roster-upload event that was lost or whose ingest kept failing.
    Oldest key first, so the newest upload ends up active (as the upload events would have done)."""
    prefix = f"rosters/{aco_id}/{performance_year}/"
    ingested = _ingested(stores, aco_id, performance_year)
    done: list[dict[str, Any]] = []
    for key in sorted(k for k in stores.objects.list_keys(prefix) if ROSTER_KEY.match(k)):
        try:
            digest = hashlib.sha256(stores.objects.get(key)).hexdigest()
        except ObjectNotFoundError:
            continue
        if ingested.get(key) == digest:
            continue
        outcome = ingest_roster(stores, key=key, start=False, catalog=catalog)
        done.append({"key": key, "activated": outcome["activated"], "held": outcome["held"]})
    return done


def _read_upload(stores: Stores, key: str) -> tuple[str, bytes]:
    """EventBridge carries the key as stored; S3 notifications URL-encode it: accept both."""
    try:
        return key, stores.objects.get(key)
    except ObjectNotFoundError:
        decoded = unquote_plus(key)
        if decoded == key:
            raise InvalidInputError(f"{key}: the uploaded roster no longer exists") from None
        return decoded, stores.objects.get(decoded)
