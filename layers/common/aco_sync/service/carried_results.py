"""Nothing changed since the last sync: no recomputation. A sync whose inputs (every synced clinic's stored
records and counts, which clinics failed, the roster it uses, the ACO's settings, the duplicate decisions,
the CMS results file, the pseudonym key and the code's version) are those of the ACO's last sync that
wrote results does not run the engine, the MCQM job or the reports again: it is recorded as a run of its
own (status, clinic statuses, sync log, measure results) whose results are that sync's
(``results_prefix`` points to them; the sync log says so).

The fingerprint of a sync's inputs is kept in its artifacts (``fingerprint.json``, by finalize) and becomes
the ACO's ``store/<aco>/results_fingerprint.json`` only once the reports are written (Update Aggregate
Stats), so it never stands for results that were not completely written."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.ingest.duplicate_reviews import decisions_key
from aco_sync.service.artifacts import dumps
from aco_sync.service.common import (
    clinic_digest_key,
    config_key,
    results_prefix,
    sync_artifact_key,
)
from aco_sync.service.validation import roster_of_sync

# Part of the fingerprint: bump it whenever the engine, the scoring or the reports change what the same
# inputs give, so the first sync after such a release computes its results again.
RESULTS_VERSION = "1"
FINGERPRINT_FILE = "fingerprint.json"
SAME_AS_FILE = "same_as.json"


def results_fingerprint_key(aco_id: str) -> str:
    return f"store/{aco_id}/results_fingerprint.json"


def _object_digest(objects: ObjectStore, key: str) -> str:
    try:
        return hashlib.sha256(objects.get(key)).hexdigest()
    except ObjectNotFoundError:
        return "-"


def inputs_fingerprint(
    stores: Stores,
    aco_id: str,
    sync_id: str,
    performance_year: int,
    synced: Sequence[str],
    failed: Sequence[str],
) -> str:
    from aco_sync.service.aggregate_stats import cms_results_key  # (aggregate_stats imports finalize)

    digest = hashlib.sha256(f"aco-sync results v{RESULTS_VERSION}\x1e".encode())
    parts = [
        ("settings", _object_digest(stores.objects, config_key(aco_id))),
        ("decisions", _object_digest(stores.objects, decisions_key(aco_id))),
        ("cms_results", _object_digest(stores.objects, cms_results_key(aco_id))),
        ("failed", ",".join(sorted(failed))),
    ]
    roster = roster_of_sync(stores, aco_id, sync_id, performance_year)
    # a roster's stored key carries its activation time: a new or re-activated roster is another key
    parts.append(("roster", f"{roster.key}|{roster.activated_at}|{roster.rows_accepted}" if roster else "-"))
    key = stores.pseudonym_keys.pseudonym_key()
    parts.append(("key", hmac.digest(key.secret, b"aco-sync results fingerprint", "sha256").hex()))
    for tin in sorted(synced):
        try:
            snapshot = stores.objects.get(clinic_digest_key(aco_id, tin)).decode()
        except ObjectNotFoundError:
            snapshot = "-"
        parts.append((f"clinic {tin}", snapshot))
    for name, value in parts:
        digest.update(f"{name}\x1f{value}\x1e".encode())
    return digest.hexdigest()


def keep_fingerprint(
    objects: ObjectStore, aco_id: str, sync_id: str, fingerprint: str, counts: dict[str, Any]
) -> None:
    """Finalize: this sync's fingerprint and the counts a carrying sync repeats."""
    objects.put(
        sync_artifact_key(aco_id, sync_id, FINGERPRINT_FILE),
        dumps({"fingerprint": fingerprint, "counts": counts}),
        content_type="application/json",
    )


def publish_fingerprint(objects: ObjectStore, aco_id: str, sync_id: str) -> None:
    """Update Aggregate Stats, after the reports: the sync's results now stand for its fingerprint."""
    try:
        kept = json.loads(objects.get(sync_artifact_key(aco_id, sync_id, FINGERPRINT_FILE)))
    except ObjectNotFoundError:
        return
    objects.put(
        results_fingerprint_key(aco_id), dumps({"sync_id": sync_id, **kept}), content_type="application/json"
    )


def previous_results(objects: ObjectStore, aco_id: str, fingerprint: str) -> dict[str, Any] | None:
    """The last sync with results for the same fingerprint (``{"sync_id", "counts"}``), when its result
    files still exist; None: compute."""
    try:
        kept = json.loads(objects.get(results_fingerprint_key(aco_id)))
    except (ObjectNotFoundError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("fingerprint") != fingerprint or not kept.get("sync_id"):
        return None
    try:  # its result files are still there (not expired)
        objects.get(f"{results_prefix(aco_id, str(kept['sync_id']))}quality-score.json")
    except ObjectNotFoundError:
        return None
    return kept


def mark_same_as(objects: ObjectStore, aco_id: str, sync_id: str, previous_sync_id: str) -> None:
    objects.put(
        sync_artifact_key(aco_id, sync_id, SAME_AS_FILE),
        dumps({"sync_id": previous_sync_id}),
        content_type="application/json",
    )


def same_as(objects: ObjectStore, aco_id: str, sync_id: str) -> str | None:
    """The sync whose results are this sync's (nothing changed in between), or None."""
    try:
        return str(json.loads(objects.get(sync_artifact_key(aco_id, sync_id, SAME_AS_FILE)))["sync_id"])
    except ObjectNotFoundError:
        return None
