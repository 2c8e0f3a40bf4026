"""The sync state in one SQLite file (stdlib ``sqlite3``, WAL mode): the local runner's persistent store.

Same port as ``DynamoDbSyncStateStore`` (``aco_sync.adapters.ports.SyncStateStore``), same semantics:
conditional lock writes, optimistic sync-run updates, the sync log in append order. Every connection
runs in autocommit mode; a conditional write is one ``BEGIN IMMEDIATE`` transaction, so two processes
(two ``aco-sync run`` of the same state folder) never both take the lock.

The file carries a schema version (table ``meta``). Opening a file written by a newer version, or by
an older one this version cannot migrate, raises ``StateSchemaError`` with what to do; a file of an
older, known version is migrated in place (``MIGRATIONS``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import Any

from aco_sync.adapters.ports import ActiveRoster, AggregateEncounter, ClinicStatus, LockHolder, SyncRun
from aco_sync.domain.errors import TransientStoreError
from aco_sync.domain.records import Provider, SyncLogEntry

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
# SQLite's page cache per connection, in KiB (its default is 2 MiB). A clinic sync inserts its
# encounters at random places of the (aco, tin, ref) key: with the default cache a 1M-record ACO's
# table keeps re-reading evicted pages (bench: 1M inserts 13 s wall for 5 s CPU; 5.4 s with 64 MiB).
# Grown only as pages are used.
PAGE_CACHE_KIB = 64 * 1024

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    aco_id TEXT PRIMARY KEY, sync_id TEXT NOT NULL, execution_arn TEXT NOT NULL, acquired_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sync_runs (
    aco_id TEXT NOT NULL, sync_id TEXT NOT NULL, status TEXT NOT NULL, version INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (aco_id, sync_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, aco_id TEXT NOT NULL, sync_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sync_log_by_sync ON sync_log (aco_id, sync_id, seq);
CREATE TABLE IF NOT EXISTS clinic_statuses (
    aco_id TEXT NOT NULL, tin TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (aco_id, tin)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS measure_results (
    aco_id TEXT NOT NULL, sync_id TEXT NOT NULL, measure_id TEXT NOT NULL, collection_type TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (aco_id, sync_id, measure_id, collection_type)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS encounters (
    aco_id TEXT NOT NULL, tin TEXT NOT NULL, source_key TEXT NOT NULL, content_hash TEXT NOT NULL,
    source_file TEXT NOT NULL, measure_id TEXT NOT NULL, collection_type TEXT NOT NULL,
    PRIMARY KEY (aco_id, tin, source_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS providers (
    aco_id TEXT NOT NULL, npi TEXT NOT NULL, tin TEXT NOT NULL, name TEXT NOT NULL, active INTEGER NOT NULL,
    PRIMARY KEY (aco_id, npi)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS active_rosters (
    aco_id TEXT NOT NULL, performance_year INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (aco_id, performance_year)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS local_executions (
    execution_arn TEXT PRIMARY KEY, pid INTEGER NOT NULL, process_start TEXT NOT NULL,
    started_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ingested_uploads (
    key TEXT PRIMARY KEY, digest TEXT NOT NULL, ingested_at TEXT NOT NULL) WITHOUT ROWID;
"""

# version -> the SQL that brings a file of that version to version + 1 (none yet: version 1 is the first)
MIGRATIONS: dict[int, str] = {}
_ENCOUNTER_COLUMNS = ("tin", "source_key", "content_hash", "source_file", "measure_id", "collection_type")


class StateSchemaError(Exception):
    """The state file's schema version is not one this version of ACO Sync can read or migrate."""


_local = threading.local()  # one connection per (thread, file): sqlite3 connections are not shared


def connect(path: Path) -> sqlite3.Connection:
    """This thread's connection to the state file ``path`` (created and migrated on first use)."""
    path = Path(path).resolve()
    connections: dict[tuple[int, Path], sqlite3.Connection] = getattr(_local, "connections", None) or {}
    _local.connections = connections
    key = (os.getpid(), path)
    connection = connections.get(key)
    if connection is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        try:
            _ensure_schema(connection, path)
        except BaseException:
            connection.close()
            raise
        connections[key] = connection
    return connection


def close_connections() -> None:
    """Close this thread's connections (tests that delete state folders)."""
    for connection in (getattr(_local, "connections", None) or {}).values():
        connection.close()
    _local.connections = {}


def schema_version(connection: sqlite3.Connection) -> int | None:
    """The file's schema version; None for a file without the meta table (new, or not ours)."""
    has_meta = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return None
    row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def _ensure_schema(connection: sqlite3.Connection, path: Path) -> None:
    with _immediate(connection):
        version = schema_version(connection)
        if version is None:
            tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
            if tables[0]:
                raise StateSchemaError(
                    f"{path} is an SQLite file without an ACO Sync schema version; it was not written by "
                    "ACO Sync. Use another --state-dir, or move this folder away to start afresh."
                )
            _execute_script(connection, _SCHEMA_V1)
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            return
        if version > SCHEMA_VERSION:
            raise StateSchemaError(
                f"{path} has schema version {version}, written by a newer ACO Sync (this version reads "
                f"version {SCHEMA_VERSION}). Upgrade ACO Sync, or reset the local state: move the state "
                "folder away (docs/LOCAL.md, 'Resetting')."
            )
        while version < SCHEMA_VERSION:
            step = MIGRATIONS.get(version)
            if step is None:
                raise StateSchemaError(
                    f"{path} has schema version {version}, which this version of ACO Sync cannot migrate "
                    f"to version {SCHEMA_VERSION}. Reset the local state: move the state folder away "
                    "(docs/LOCAL.md, 'Resetting')."
                )
            _execute_script(connection, step)
            version += 1
            connection.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))


def _execute_script(connection: sqlite3.Connection, script: str) -> None:
    """Each statement inside the current transaction (``executescript`` would commit first)."""
    for statement in script.split(";"):
        if statement.strip():
            connection.execute(statement)


@contextmanager
def _immediate(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front (other writers wait up to the busy timeout)."""
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:  # still locked after the busy timeout
        raise TransientStoreError(f"SQLite state store busy: {exc}") from exc
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    else:
        connection.execute("COMMIT")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class SqliteSyncStateStore:
    """``SyncStateStore`` in one SQLite file; ``writes`` counts rows written or deleted (as items)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.writes = 0
        connect(self.path)  # create or check the schema now: a refused file fails here, clearly

    @property
    def _db(self) -> sqlite3.Connection:
        return connect(self.path)

    def _write(self, action: Callable[[sqlite3.Connection], int]) -> int:
        with _immediate(self._db) as db:
            n = action(db)
        self.writes += n
        return n

    # --- the per-ACO lock -------------------------------------------------------------------------
    def get_lock(self, aco_id: str) -> LockHolder | None:
        row = self._db.execute(
            "SELECT sync_id, execution_arn, acquired_at FROM locks WHERE aco_id = ?", (aco_id,)
        ).fetchone()
        return LockHolder(aco_id, row[0], row[1], row[2]) if row else None

    def try_acquire_lock(self, holder: LockHolder, *, replacing_execution_arn: str | None = None) -> bool:
        def action(db: sqlite3.Connection) -> int:
            row = db.execute("SELECT execution_arn FROM locks WHERE aco_id = ?", (holder.aco_id,)).fetchone()
            if row is not None and (replacing_execution_arn is None or row[0] != replacing_execution_arn):
                return 0
            db.execute(
                "INSERT OR REPLACE INTO locks (aco_id, sync_id, execution_arn, acquired_at) "
                "VALUES (?, ?, ?, ?)",
                (holder.aco_id, holder.sync_id, holder.execution_arn, holder.acquired_at),
            )
            return 1

        return self._write(action) == 1

    def move_lock(self, aco_id: str, sync_id: str, execution_arn: str) -> bool:
        return (
            self._write(
                lambda db: (
                    db.execute(
                        "UPDATE locks SET execution_arn = ? WHERE aco_id = ? AND sync_id = ?",
                        (execution_arn, aco_id, sync_id),
                    ).rowcount
                )
            )
            == 1
        )

    def release_lock(self, aco_id: str, sync_id: str) -> bool:
        return (
            self._write(
                lambda db: (
                    db.execute(
                        "DELETE FROM locks WHERE aco_id = ? AND sync_id = ?", (aco_id, sync_id)
                    ).rowcount
                )
            )
            == 1
        )

    # --- sync runs and the sync log ---------------------------------------------------------------
    def put_sync_run(self, run: SyncRun) -> None:
        self._write(
            lambda db: (
                db.execute(
                    "INSERT OR REPLACE INTO sync_runs (aco_id, sync_id, status, version, data) "
                    "VALUES (?, ?, ?, 0, ?)",
                    (run.aco_id, run.sync_id, run.status, _dumps(dataclasses.asdict(run))),
                ).rowcount
            )
        )

    def get_sync_run(self, aco_id: str, sync_id: str) -> SyncRun | None:
        row = self._db.execute(
            "SELECT data FROM sync_runs WHERE aco_id = ? AND sync_id = ?", (aco_id, sync_id)
        ).fetchone()
        return SyncRun(**json.loads(row[0])) if row else None

    def update_sync_run(
        self, aco_id: str, sync_id: str, *, only_if_status: str | None = None, **changes: Any
    ) -> bool:
        def action(db: sqlite3.Connection) -> int:
            row = db.execute(
                "SELECT data, version FROM sync_runs WHERE aco_id = ? AND sync_id = ?", (aco_id, sync_id)
            ).fetchone()
            if row is None:
                raise KeyError(f"no sync run {aco_id}/{sync_id}")
            run = SyncRun(**json.loads(row[0]))
            if only_if_status is not None and run.status != only_if_status:
                return 0
            updated = dataclasses.replace(run, **changes)
            db.execute(
                "UPDATE sync_runs SET status = ?, version = ?, data = ? WHERE aco_id = ? AND sync_id = ?",
                (updated.status, row[1] + 1, _dumps(dataclasses.asdict(updated)), aco_id, sync_id),
            )
            return 1

        return self._write(action) == 1

    def list_sync_runs(self, aco_id: str, *, limit: int = 20) -> list[SyncRun]:
        rows = self._db.execute(
            "SELECT data FROM sync_runs WHERE aco_id = ? ORDER BY sync_id DESC LIMIT ?", (aco_id, limit)
        ).fetchall()
        return [SyncRun(**json.loads(row[0])) for row in rows]

    def append_log(self, aco_id: str, sync_id: str, entries: Sequence[SyncLogEntry]) -> None:
        rows = [(aco_id, sync_id, _dumps(dataclasses.asdict(e))) for e in entries]
        self._write(
            lambda db: (
                db.executemany("INSERT INTO sync_log (aco_id, sync_id, data) VALUES (?, ?, ?)", rows).rowcount
            )
        )

    def list_log(self, aco_id: str, sync_id: str) -> list[SyncLogEntry]:
        rows = self._db.execute(
            "SELECT data FROM sync_log WHERE aco_id = ? AND sync_id = ? ORDER BY seq", (aco_id, sync_id)
        ).fetchall()
        return [SyncLogEntry(**json.loads(row[0])) for row in rows]

    # --- member clinic status ---------------------------------------------------------------------
    def put_clinic_status(self, aco_id: str, status: ClinicStatus) -> None:
        self._write(
            lambda db: (
                db.execute(
                    "INSERT OR REPLACE INTO clinic_statuses (aco_id, tin, data) VALUES (?, ?, ?)",
                    (aco_id, status.tin, _dumps(dataclasses.asdict(status))),
                ).rowcount
            )
        )

    def list_clinic_statuses(self, aco_id: str) -> list[ClinicStatus]:
        rows = self._db.execute(
            "SELECT data FROM clinic_statuses WHERE aco_id = ? ORDER BY tin", (aco_id,)
        ).fetchall()
        return [ClinicStatus(**json.loads(row[0])) for row in rows]

    def get_clinic_status(self, aco_id: str, tin: str) -> ClinicStatus | None:
        row = self._db.execute(
            "SELECT data FROM clinic_statuses WHERE aco_id = ? AND tin = ?", (aco_id, tin)
        ).fetchone()
        return ClinicStatus(**json.loads(row[0])) if row else None

    # --- measure results --------------------------------------------------------------------------
    def put_measure_results(self, aco_id: str, sync_id: str, results: Sequence[Mapping[str, Any]]) -> None:
        rows = [
            (aco_id, sync_id, str(r["measure_id"]), str(r["collection_type"]), _dumps(dict(r)))
            for r in results
        ]
        self._write(
            lambda db: (
                db.executemany(
                    "INSERT OR REPLACE INTO measure_results "
                    "(aco_id, sync_id, measure_id, collection_type, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                ).rowcount
            )
        )

    def list_measure_results(self, aco_id: str, sync_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT data FROM measure_results WHERE aco_id = ? AND sync_id = ? "
            "ORDER BY measure_id, collection_type",
            (aco_id, sync_id),
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    # --- aggregate encounters ---------------------------------------------------------------------
    def aggregate_encounters(self, aco_id: str, tin: str | None = None) -> list[AggregateEncounter]:
        columns = "tin, source_key, content_hash, source_file, measure_id, collection_type"
        if tin is None:
            rows = self._db.execute(f"SELECT {columns} FROM encounters WHERE aco_id = ?", (aco_id,))
        else:
            rows = self._db.execute(
                f"SELECT {columns} FROM encounters WHERE aco_id = ? AND tin = ?", (aco_id, tin)
            )
        return [AggregateEncounter(*row) for row in rows]

    def tins_with_encounters(self, aco_id: str) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT tin FROM encounters WHERE aco_id = ? ORDER BY tin", (aco_id,)
        ).fetchall()
        return [row[0] for row in rows]

    def put_aggregate_encounters(self, aco_id: str, encounters: Sequence[AggregateEncounter]) -> int:
        # the rows zipped from C-level column passes: a clinic sync writes one per changed record
        rows = list(zip(repeat(aco_id), *(map(attrgetter(name), encounters) for name in _ENCOUNTER_COLUMNS)))
        self._write(
            lambda db: (
                db.executemany(
                    "INSERT OR REPLACE INTO encounters (aco_id, tin, source_key, content_hash, source_file, "
                    "measure_id, collection_type) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                ).rowcount
            )
        )
        return len(rows)

    def delete_aggregate_encounters(self, aco_id: str, tin: str, source_keys: Sequence[str]) -> int:
        rows = [(aco_id, tin, key) for key in source_keys]
        return self._write(
            lambda db: (
                db.executemany(
                    "DELETE FROM encounters WHERE aco_id = ? AND tin = ? AND source_key = ?", rows
                ).rowcount
            )
        )

    # --- providers of the aggregate clinic --------------------------------------------------------
    def list_providers(self, aco_id: str) -> list[Provider]:
        rows = self._db.execute(
            "SELECT tin, npi, name, active FROM providers WHERE aco_id = ? ORDER BY npi", (aco_id,)
        ).fetchall()
        return [Provider(tin=r[0], npi=r[1], name=r[2], active=bool(r[3])) for r in rows]

    def put_providers(self, aco_id: str, providers: Sequence[Provider]) -> int:
        rows = [(aco_id, p.npi, p.tin, p.name, int(p.active)) for p in providers]
        self._write(
            lambda db: (
                db.executemany(
                    "INSERT OR REPLACE INTO providers (aco_id, npi, tin, name, active) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                ).rowcount
            )
        )
        return len(rows)

    def delete_providers(self, aco_id: str, providers: Sequence[Provider]) -> int:
        rows = [(aco_id, p.npi) for p in providers]
        return self._write(
            lambda db: db.executemany("DELETE FROM providers WHERE aco_id = ? AND npi = ?", rows).rowcount
        )

    # --- active roster pointer --------------------------------------------------------------------
    def get_active_roster(self, aco_id: str, performance_year: int) -> ActiveRoster | None:
        row = self._db.execute(
            "SELECT data FROM active_rosters WHERE aco_id = ? AND performance_year = ?",
            (aco_id, performance_year),
        ).fetchone()
        return ActiveRoster(**json.loads(row[0])) if row else None

    def set_active_roster(self, roster: ActiveRoster) -> None:
        self._write(
            lambda db: (
                db.execute(
                    "INSERT OR REPLACE INTO active_rosters (aco_id, performance_year, data) VALUES (?, ?, ?)",
                    (roster.aco_id, roster.performance_year, _dumps(dataclasses.asdict(roster))),
                ).rowcount
            )
        )

    # --- the local runner's bookkeeping (not part of the port) -----------------------------------
    def aco_ids(self) -> list[str]:
        """Every ACO with a recorded sync run, sorted."""
        return [r[0] for r in self._db.execute("SELECT DISTINCT aco_id FROM sync_runs ORDER BY aco_id")]

    def record_local_execution(
        self, execution_arn: str, *, pid: int, process_start: str, started_at: str
    ) -> None:
        """``execution_arn`` runs in the local process ``pid`` (started at ``process_start``)."""
        self._write(
            lambda db: (
                db.execute(
                    "INSERT OR REPLACE INTO local_executions (execution_arn, pid, process_start, started_at) "
                    "VALUES (?, ?, ?, ?)",
                    (execution_arn, pid, process_start, started_at),
                ).rowcount
            )
        )

    def local_execution_owner(self, execution_arn: str) -> tuple[int, str] | None:
        row = self._db.execute(
            "SELECT pid, process_start FROM local_executions WHERE execution_arn = ?", (execution_arn,)
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def ingested_upload_digest(self, key: str) -> str | None:
        row = self._db.execute("SELECT digest FROM ingested_uploads WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def record_ingested_upload(self, key: str, digest: str, ingested_at: str) -> None:
        self._write(
            lambda db: (
                db.execute(
                    "INSERT OR REPLACE INTO ingested_uploads (key, digest, ingested_at) VALUES (?, ?, ?)",
                    (key, digest, ingested_at),
                ).rowcount
            )
        )
