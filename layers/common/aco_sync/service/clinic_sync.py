"""Member clinic sync (the Map iteration "Sync Member Clinic"): read one clinic's files, sync what
changed into the aggregate (incremental: only upserts and deletions are written), status per clinic.

The clinic's current records are kept as one encoded object (store/<aco>/clinics/<tin>/records.bin)
for the finalize and MCQM steps; it is rewritten only when the clinic's data changed.

A clinic whose raw files are byte-identical to those of its last successful sync (same names, same
bytes, same reading inputs: :func:`raw_files_digest`) is not read again: the digest and what reading gave
(per-file accounting, issues, counts) are kept in store/<aco>/clinics/<tin>/raw.json, written after
everything else of a successful sync and deleted before anything is written by a sync that reads, so
the digest never stands for state that was not completely written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NotRequired, TypedDict, Unpack

from aws_lambda_powertools import Logger

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.ports import AggregateEncounter, ClinicStatus, ObjectNotFoundError
from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.engine import diff_encounters
from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.partitions import encode_by_bucket
from aco_sync.domain.records import (
    ClinicData,
    DenominatorCount,
    FileAccount,
    IngestIssue,
    PerformanceRecord,
    SyncLogEntry,
)
from aco_sync.domain.settings import AcoSettings
from aco_sync.ecqm import calculate_qrda
from aco_sync.ingest.clinic import InputBudget, read_clinic_files
from aco_sync.service.artifacts import counts_to_json
from aco_sync.service.clinic_sources import (
    EncounterRefs,
    read_clinic_sources,
    source_files,
    write_clinic_sources,
)
from aco_sync.service.clinic_uploads import take_in_uploads
from aco_sync.service.common import (
    ClinicSyncStatus,
    clinic_counts_key,
    clinic_digest_key,
    clinic_raw_key,
    clinic_records_key,
    load_aco_settings,
    members_prefix,
)
from aco_sync.service.issues import append_log_once, issues_to_log
from aco_sync.service.sync_status import describe_error

logger = Logger(child=True)


class ClinicOfSync(TypedDict):
    """The keyword arguments naming the member clinic a step works on: the ACO, the sync, the TIN and
    the name the ACO's configuration gives it (the clinic Map's item)."""

    aco_id: str
    sync_id: str
    tin: str
    name: NotRequired[str]


@dataclass(frozen=True, slots=True)
class _Clinic:
    aco_id: str
    sync_id: str
    tin: str
    name: str = ""


def _clinic_status(
    clinic: _Clinic, previous: ClinicStatus | None, status: str, **outcome: Any
) -> ClinicStatus:
    """The clinic's status item in this sync; without a name of its own it keeps the one it had, and it
    keeps the time of its last successful sync."""
    return ClinicStatus(
        tin=clinic.tin,
        name=clinic.name or (previous.name if previous else ""),
        status=status,
        sync_id=clinic.sync_id,
        last_synced=previous.last_synced if previous else None,
        **outcome,
    )


def sync_member_clinic(
    stores: Stores, *, catalog: MeasureCatalog | None = None, **ids: Unpack[ClinicOfSync]
) -> dict[str, Any]:
    clinic = _Clinic(**ids)
    aco_id, sync_id, tin = clinic.aco_id, clinic.sync_id, clinic.tin
    catalog = catalog or default_catalog()
    state = stores.state
    previous = state.get_clinic_status(aco_id, tin)
    # a retry of this clinic in this sync (the state machine's Retry after a crash): only then may part
    # of its log be written already; a first attempt appends without reading the sync's whole log
    # (which made every clinic's step grow with the number of member clinics)
    retried = (
        previous is not None and previous.sync_id == sync_id and previous.status == ClinicSyncStatus.RUNNING
    )
    state.put_clinic_status(aco_id, _clinic_status(clinic, previous, ClinicSyncStatus.RUNNING))
    settings = load_aco_settings(stores.objects, aco_id)
    prefix = members_prefix(aco_id, tin)
    # new uploads move to content keys first; the reader sees the names the user gave (clinic_uploads)
    taken = take_in_uploads(stores.objects, aco_id, tin)
    files = taken.files
    if not files:
        raise InvalidInputError(f"No files uploaded for TIN {tin} (expected under {prefix})")
    budget = clinic_input_budget(settings)
    raw_digest = raw_files_digest(
        files, performance_year=settings.performance_year, budget=budget, sha256=taken.sha256
    )
    carried = _unchanged_since_last_sync(stores, aco_id, tin, raw_digest)
    if carried is not None:
        return _sync_unchanged(stores, clinic, previous=previous, carried=carried, retried=retried)
    # reading from here on: the kept digest no longer stands for what is stored (until the end)
    stores.objects.delete(clinic_raw_key(aco_id, tin))
    data = read_clinic_files(
        tin,
        files,
        performance_year=settings.performance_year,
        catalog=catalog,
        calculate_qrda=calculate_qrda,
        input_budget=budget,
        sha256=taken.sha256,
    )
    accounting = file_accounting_log(data, tin)
    if not data.records and not data.denominator_counts:
        return _no_usable_data(stores, clinic, data=data, log=accounting, retried=retried)

    stored_encounters = state.aggregate_encounters(aco_id, tin)
    # the table holds refs, not source keys or file names (clinic_sources.EncounterRefs)
    refs = EncounterRefs(stores.pseudonym_keys.pseudonym_key())
    keys = list(map(attrgetter("source_key"), data.records))
    ref_of = dict(zip(keys, refs.source_keys(keys), strict=True))
    if stored_encounters:
        key_of_ref = {ref: key for key, ref in ref_of.items()}
        stored = {key_of_ref.get(e.source_key, e.source_key): e.content_hash for e in stored_encounters}
    else:
        stored = {}
    diff = diff_encounters(stored, data.records)
    upserts = list(diff.upserts)
    # cleanup reads the recorded source files instead of the encounters: record every file an encounter
    # has before writing any (so a crash mid-way leaves no encounter unrecorded), the exact set after
    current_sources = source_files(map(refs.source_file, set(map(attrgetter("source_file"), data.records))))
    recorded = read_clinic_sources(stores.objects, aco_id, tin)
    needed = current_sources | source_files(e.source_file for e in stored_encounters)
    if recorded is None or not needed <= recorded:
        recorded = needed
        write_clinic_sources(stores.objects, aco_id, tin, needed)
    written = state.put_aggregate_encounters(aco_id, _encounters(upserts, ref_of, refs)) if upserts else 0
    deleted_refs = [ref_of.get(key, key) for key in diff.deleted_keys]
    deleted = state.delete_aggregate_encounters(aco_id, tin, deleted_refs) if deleted_refs else 0
    if recorded != current_sources:
        write_clinic_sources(stores.objects, aco_id, tin, current_sources)
    snapshot_written, digest = _write_snapshot_if_changed(stores, aco_id, tin, data)

    unchanged = diff.unchanged
    log = issues_to_log(data.issues, tin=tin)
    log.extend(_duplicate_keys_log(len(diff.duplicate_keys), tin))
    log.extend(accounting)
    log.append(
        SyncLogEntry(
            kind="clinic",
            tin=tin,
            message=f"TIN {tin}: {len(data.records)} records from {data.files_read} files; "
            f"{written} added or changed, {deleted} removed, {unchanged} unchanged; "
            f"{_count(data.rows_rejected, 'row')} rejected, {_count(data.files_refused, 'file')} refused",
        )
    )
    if retried:
        append_log_once(state, aco_id, sync_id, log, already_logged=_summary_of_same_clinic)
    else:
        state.append_log(aco_id, sync_id, log)
    _put_outcome(stores, clinic, previous, data, ClinicSyncStatus.COMPLETE)
    _keep_raw_digest(
        stores,
        aco_id,
        tin,
        raw_digest,
        data,
        snapshot=digest,
        encounters=written + unchanged,
        duplicate_keys=len(diff.duplicate_keys),
    )
    return _complete_result(
        "Clinic synced",
        clinic,
        data=data,
        records=len(data.records),
        denominator_counts=len(data.denominator_counts),
        upserts=written,
        deletes=deleted,
        unchanged=unchanged,
        snapshot_written=snapshot_written,
        files_unchanged=False,
    )


def _complete_result(
    message: str,
    clinic: _Clinic,
    *,
    data: ClinicData,
    records: int,
    denominator_counts: int,
    upserts: int,
    deletes: int,
    unchanged: int,
    snapshot_written: bool,
    files_unchanged: bool,
) -> dict[str, Any]:
    """The step's output for a clinic that synced, logged (without its name) under ``message``."""
    result = {
        "tin": clinic.tin,
        "name": clinic.name,
        "status": ClinicSyncStatus.COMPLETE,
        "records": records,
        "denominator_counts": denominator_counts,
        "upserts": upserts,
        "deletes": deletes,
        "unchanged": unchanged,
        "issues": len(data.issues),
        "rows_read": sum(f.read for f in data.files),
        "rows_accepted": data.rows_accepted,
        "rows_rejected": data.rows_rejected,
        "files_refused": data.files_refused,
        "snapshot_written": snapshot_written,
        "files_unchanged": files_unchanged,
    }
    logger.info(
        message,
        extra={
            "aco_id": clinic.aco_id,
            "sync_id": clinic.sync_id,
            **{k: v for k, v in result.items() if k != "name"},
        },
    )
    return result


def _duplicate_keys_log(duplicates: int, tin: str) -> list[SyncLogEntry]:
    """The warning for records that repeat an earlier record's identity (none when there are none)."""
    if not duplicates:
        return []
    return [
        SyncLogEntry(
            kind="ingest_warning",
            level="warning",
            tin=tin,
            message=f"TIN {tin}: {duplicates} records repeat the identity (encounter id) "
            "of an earlier record; the first of each was kept",
        )
    ]


MAX_FILE_LINES_PER_CLINIC = 100  # per-file accounting lines in the sync log; the rest are totalled


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def file_accounting_log(data: ClinicData, tin: str, *, unchanged: bool = False) -> list[SyncLogEntry]:
    """One sync log line per file: rows (documents) read = accepted + rejected, or why it was not read;
    ``unchanged``: the figures are those of the last sync (the files were not read again)."""
    suffix = f" ({UNCHANGED_NOTE})" if unchanged else ""
    entries: list[SyncLogEntry] = []
    for account in data.files[:MAX_FILE_LINES_PER_CLINIC]:
        text = account.describe()
        entries.append(
            SyncLogEntry(
                kind="file",
                level="warning" if account.refused or account.rejected else "info",
                tin=tin,
                file=account.file,
                message=f"TIN {tin}: {account.file}: {text}{suffix}",
            )
        )
    rest = data.files[MAX_FILE_LINES_PER_CLINIC:]
    if rest:
        entries.append(
            SyncLogEntry(
                kind="file",
                level="warning" if any(f.rejected or f.refused for f in rest) else "info",
                tin=tin,
                message=f"TIN {tin}: {len(rest)} more files: {sum(f.read for f in rest)} read, "
                f"{sum(f.accepted for f in rest)} accepted, {sum(f.rejected for f in rest)} rejected, "
                f"{sum(1 for f in rest if f.refused)} refused{suffix}",
            )
        )
    return entries


# ----- unchanged clinics: the raw-file digest ------------------------------------------------------------
# Part of the digest: bump it whenever a reader or the record model changes what the same bytes give (new
# checks, other issue wording, other record fields), so every clinic is read again after such a release.
RAW_DIGEST_VERSION = "1"
UNCHANGED_NOTE = "unchanged since the last sync"


# The memory of the clinic sync function (template.yaml SyncMemberClinicFunction) if the runtime does not say
DEFAULT_CLINIC_FUNCTION_MEMORY_MB = 3008


def clinic_input_budget(settings: AcoSettings) -> InputBudget:
    """The per-clinic input limit: the ACO's ``clinic_input_limit_mb``, else what fits the memory of the
    function this runs in (the Lambda runtime's ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``)."""
    if settings.clinic_input_limit_mb is not None:
        return InputBudget.of_mb(settings.clinic_input_limit_mb)
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    return InputBudget.for_memory(int(memory) if memory.isdigit() else DEFAULT_CLINIC_FUNCTION_MEMORY_MB)


def raw_files_digest(
    files: Sequence[tuple[str, bytes]],
    *,
    performance_year: int,
    budget: InputBudget | None = None,
    sha256: Mapping[str, str] | None = None,
) -> str:
    """One digest of everything that decides what reading a clinic gives: the reader version, the
    settings reading uses (the performance year, the input limit) and every file's name and content
    (sha256 of the bytes, not of any storage key; ``sha256``: the hex digests already known by name,
    :class:`~aco_sync.service.clinic_uploads.ClinicFiles`, the others are computed)."""
    limit = budget.limit_bytes if budget else 0
    known = sha256 or {}
    digest = hashlib.sha256(
        f"aco-sync raw files v{RAW_DIGEST_VERSION}\x1f{performance_year}\x1f{limit}\x1e".encode()
    )
    for path, content in sorted(files, key=lambda item: item[0]):
        hexdigest = known.get(path)
        content_digest = bytes.fromhex(hexdigest) if hexdigest else hashlib.sha256(content).digest()
        digest.update(path.encode() + b"\x1f" + content_digest + b"\x1e")
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class CarriedRead:
    """What reading the clinic's files gave at its last successful sync (store/.../raw.json)."""

    data: ClinicData  # files and issues only (the records are in the snapshot)
    records: int
    denominator_counts: int
    encounters: int
    duplicate_keys: int


def _keep_raw_digest(
    stores: Stores,
    aco_id: str,
    tin: str,
    raw_digest: str,
    data: ClinicData,
    *,
    snapshot: str,
    encounters: int,
    duplicate_keys: int,
) -> None:
    body = {
        "version": RAW_DIGEST_VERSION,
        "digest": raw_digest,
        # what _write_snapshot_if_changed just found or stored (no second read of the digest object)
        "snapshot_digest": snapshot,
        "records": len(data.records),
        "denominator_counts": len(data.denominator_counts),
        "encounters": encounters,
        "duplicate_keys": duplicate_keys,
        "files_read": data.files_read,
        "files": [f.to_dict() for f in data.files],
        "issues": [dataclasses.asdict(i) for i in data.issues],
    }
    stores.objects.put(
        clinic_raw_key(aco_id, tin),
        json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
    )


def _unchanged_since_last_sync(stores: Stores, aco_id: str, tin: str, raw_digest: str) -> CarriedRead | None:
    """The kept read of the clinic when its files are those of its last successful sync and its stored
    snapshot and recorded sources are still what that sync wrote; None: read the files. The snapshot's
    digest is read only when the files are unchanged (a changed clinic reads it once, when it writes)."""
    try:
        kept = json.loads(stores.objects.get(clinic_raw_key(aco_id, tin)))
    except (ObjectNotFoundError, ValueError):
        return None
    if (
        not isinstance(kept, dict)
        or kept.get("version") != RAW_DIGEST_VERSION
        or kept.get("digest") != raw_digest
    ):
        return None
    try:
        snapshot_digest = stores.objects.get(clinic_digest_key(aco_id, tin)).decode()
    except (ObjectNotFoundError, ValueError):
        return None
    if (
        kept.get("snapshot_digest") != snapshot_digest
        or read_clinic_sources(stores.objects, aco_id, tin) is None
    ):
        return None
    data = ClinicData(
        tin=tin,
        files=[FileAccount(**f) for f in kept["files"]],
        issues=[IngestIssue(**i) for i in kept["issues"]],
        files_read=int(kept["files_read"]),
    )
    return CarriedRead(
        data=data,
        records=int(kept["records"]),
        denominator_counts=int(kept["denominator_counts"]),
        encounters=int(kept["encounters"]),
        duplicate_keys=int(kept["duplicate_keys"]),
    )


def _sync_unchanged(
    stores: Stores, clinic: _Clinic, *, previous: ClinicStatus | None, carried: CarriedRead, retried: bool
) -> dict[str, Any]:
    """The clinic's files are those of its last successful sync: nothing is read or written but its
    status and this sync's log, which shows every file with the figures of that read."""
    aco_id, sync_id, tin = clinic.aco_id, clinic.sync_id, clinic.tin
    data = carried.data
    log = issues_to_log(data.issues, tin=tin)
    log.extend(_duplicate_keys_log(carried.duplicate_keys, tin))
    log.extend(file_accounting_log(data, tin, unchanged=True))
    log.append(
        SyncLogEntry(
            kind="clinic",
            tin=tin,
            message=f"TIN {tin}: {carried.records} records from {data.files_read} files; "
            f"0 added or changed, 0 removed, {carried.encounters} unchanged; "
            f"{_count(data.rows_rejected, 'row')} rejected, {_count(data.files_refused, 'file')} refused; "
            f"files {UNCHANGED_NOTE}, not read again",
        )
    )
    if retried:  # as for a clinic that is read: only a retry reads what the sync logged already
        append_log_once(stores.state, aco_id, sync_id, log, already_logged=_summary_of_same_clinic)
    else:
        stores.state.append_log(aco_id, sync_id, log)
    _put_outcome(stores, clinic, previous, data, ClinicSyncStatus.COMPLETE)
    return _complete_result(
        "Clinic unchanged since its last sync",
        clinic,
        data=data,
        records=carried.records,
        denominator_counts=carried.denominator_counts,
        upserts=0,
        deletes=0,
        unchanged=carried.encounters,
        snapshot_written=False,
        files_unchanged=True,
    )


def _put_outcome(
    stores: Stores,
    clinic: _Clinic,
    previous: ClinicStatus | None,
    data: ClinicData,
    outcome: str,
    *,
    status: str = ClinicSyncStatus.RUNNING,
    reason: str | None = None,
) -> None:
    """Keep what the clinic's step found in its status item: finalize reads the outcomes from there
    (the state machine's payload carries none, whatever the number of TINs)."""
    stores.state.put_clinic_status(
        clinic.aco_id,
        _clinic_status(
            clinic,
            previous,
            status,
            reason=reason,
            outcome=outcome,
            rows_read=sum(f.read for f in data.files),
            rows_accepted=data.rows_accepted,
            rows_rejected=data.rows_rejected,
            files_refused=data.files_refused,
        ),
    )


def no_usable_data_reason(data: ClinicData) -> str:
    quality = [f for f in data.files if f.kind in ("template", "qrda")]
    kept = "the clinic's stored data was kept and is not in this sync's results"
    if not quality:
        return f"No usable data: no template or QRDA-I file was found; {kept}"
    read = sum(f.read for f in quality)
    refused = sum(1 for f in quality if f.refused)
    return (
        f"No usable data: {read} rows read, all rejected, in {len(quality)} template/QRDA-I files "
        f"({refused} refused); {kept}"
    )


def _no_usable_data(
    stores: Stores, clinic: _Clinic, *, data: ClinicData, log: list[SyncLogEntry], retried: bool = True
) -> dict[str, Any]:
    """Every row was rejected (or no file could be read): the clinic is not synced, its stored encounters
    are left as they are (a damaged upload must not erase them), and it is named as a failed TIN."""
    aco_id, sync_id, tin = clinic.aco_id, clinic.sync_id, clinic.tin
    reason = no_usable_data_reason(data)
    previous = stores.state.get_clinic_status(aco_id, tin)
    entries = [*issues_to_log(data.issues, tin=tin), *log]
    entries.append(
        SyncLogEntry(kind="clinic", level="error", tin=tin, message=f"TIN {tin}: Sync Failed: {reason}")
    )
    if retried:
        append_log_once(stores.state, aco_id, sync_id, entries)
    else:
        stores.state.append_log(aco_id, sync_id, entries)
    _put_outcome(
        stores, clinic, previous, data, ClinicSyncStatus.FAILED, status=ClinicSyncStatus.FAILED, reason=reason
    )
    logger.warning("Clinic has no usable data", extra={"aco_id": aco_id, "sync_id": sync_id, "tin": tin})
    return {"tin": tin, "name": clinic.name, "status": ClinicSyncStatus.FAILED, "reason": reason}


def record_clinic_failure(
    stores: Stores, *, error: str | None = None, cause: str | None = None, **ids: Unpack[ClinicOfSync]
) -> dict[str, Any]:
    """The Map iterator's Catch: the clinic is ``Sync Failed`` with its reason; the other clinics go on."""
    clinic = _Clinic(**ids)
    aco_id, sync_id, tin = clinic.aco_id, clinic.sync_id, clinic.tin
    reason = describe_error(error, cause)
    previous = stores.state.get_clinic_status(aco_id, tin)
    stores.state.put_clinic_status(
        aco_id,
        _clinic_status(
            clinic, previous, ClinicSyncStatus.FAILED, reason=reason, outcome=ClinicSyncStatus.FAILED
        ),
    )
    stores.state.append_log(
        aco_id,
        sync_id,
        [SyncLogEntry(kind="clinic", level="error", tin=tin, message=f"TIN {tin}: Sync Failed: {reason}")],
    )
    logger.warning(
        "Clinic sync failed", extra={"aco_id": aco_id, "sync_id": sync_id, "tin": tin, "error": error}
    )
    return {"tin": tin, "name": clinic.name, "status": ClinicSyncStatus.FAILED, "reason": reason}


def _summary_of_same_clinic(entry: SyncLogEntry, existing: list[SyncLogEntry]) -> bool:
    """A retried clinic sync logs its summary once: the first attempt's counts are what it wrote."""
    return (
        entry.kind == "clinic"
        and entry.level == "info"
        and any(e.kind == "clinic" and e.level == "info" and e.tin == entry.tin for e in existing)
    )


def _encounters(
    records: list[PerformanceRecord], ref_of: Mapping[str, str], refs: EncounterRefs
) -> list[AggregateEncounter]:
    """The aggregate encounters of ``records`` (refs for their source keys and files), built column by
    column in C-level passes: one encounter per record of every changed clinic."""
    files = list(map(attrgetter("source_file"), records))
    file_ref = {name: refs.source_file(name) for name in set(files)}
    return list(
        map(
            AggregateEncounter,
            map(attrgetter("tin"), records),
            map(ref_of.__getitem__, map(attrgetter("source_key"), records)),
            map(attrgetter("content_hash"), records),
            map(file_ref.__getitem__, files),
            map(attrgetter("measure_id"), records),
            map(attrgetter("collection_type._value_"), records),  # the value (a StrEnum's str)
        )
    )


def snapshot_digest(records: Sequence[PerformanceRecord], counts: Sequence[DenominatorCount]) -> str:
    """A clinic snapshot's identity: its records' (source key, content hash), sorted, and its counts."""
    keys = map(attrgetter("source_key"), records)
    pairs = sorted(zip(keys, map(attrgetter("content_hash"), records), strict=True))
    # key \x1f content \x1e per record, joined in C
    text = "\x1e".join(map("\x1f".join, pairs)) + ("\x1e" if pairs else "")
    digest = hashlib.sha256(text.encode())
    digest.update(
        counts_to_json(sorted(counts, key=lambda c: (c.measure_id, c.collection_type, c.source_file)))
    )
    return digest.hexdigest()


def _write_snapshot_if_changed(stores: Stores, aco_id: str, tin: str, data: ClinicData) -> tuple[bool, str]:
    """Write the clinic's snapshot unless the stored one has the same :func:`snapshot_digest`: whether it
    was written, and the digest (kept in raw.json, so it is computed once)."""
    digest = snapshot_digest(data.records, data.denominator_counts)
    try:
        if stores.objects.get(clinic_digest_key(aco_id, tin)).decode() == digest:
            return False, digest
    except ObjectNotFoundError:
        pass
    stores.objects.put(clinic_records_key(aco_id, tin), encode_by_bucket(data.records))  # engine partitions
    stores.objects.put(
        clinic_counts_key(aco_id, tin),
        counts_to_json(data.denominator_counts),
        content_type="application/json",
    )
    stores.objects.put(clinic_digest_key(aco_id, tin), digest.encode())
    return True, digest
