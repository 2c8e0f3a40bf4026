"""The contract of the store ports, run on every adapter: in-memory, embedded (SQLite state file and
filesystem bucket, the local runner's) and boto3 over moto (DynamoDB and S3, AWS's).

The same scenarios, the same expected outcomes: a service that passes on one adapter behaves the same
on the others."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from aco_sync.adapters.aws import S3ObjectStore
from aco_sync.adapters.filesystem import FilesystemObjectStore
from aco_sync.adapters.memory import InMemoryObjectStore, InMemorySyncStateStore
from aco_sync.adapters.ports import (
    ActiveRoster,
    AggregateEncounter,
    ClinicStatus,
    LockHolder,
    ObjectNotFoundError,
    ObjectStore,
    SyncRun,
    SyncStateStore,
)
from aco_sync.adapters.sqlite import SCHEMA_VERSION, SqliteSyncStateStore, StateSchemaError, close_connections
from aco_sync.domain.records import Provider, SyncLogEntry
from support.stores import moto_dynamodb_state_store

REGION = "us-east-1"


@pytest.fixture(params=["memory", "sqlite", "dynamodb-moto"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncStateStore]:
    if request.param == "memory":
        yield InMemorySyncStateStore()
    elif request.param == "sqlite":
        yield SqliteSyncStateStore(tmp_path / "state.db")
        close_connections()
    else:
        with mock_aws():
            yield moto_dynamodb_state_store(REGION)


@pytest.fixture(params=["memory", "filesystem", "s3-moto"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "memory":
        yield InMemoryObjectStore()
    elif request.param == "filesystem":
        yield FilesystemObjectStore(tmp_path / "bucket")
    else:
        with mock_aws():
            boto3.client("s3", region_name=REGION).create_bucket(Bucket="data")
            yield S3ObjectStore("data", client=boto3.client("s3", region_name=REGION))


def holder(sync_id: str, arn: str) -> LockHolder:
    return LockHolder(aco_id="A1", sync_id=sync_id, execution_arn=arn, acquired_at="2026-01-01T00:00:00Z")


def encounter(tin: str, key: str, content: str = "h1", file: str = "templates/a.csv") -> AggregateEncounter:
    return AggregateEncounter(
        tin=tin,
        source_key=key,
        content_hash=content,
        source_file=file,
        measure_id="M001",
        collection_type="CQM",
    )


# --- SyncStateStore ---------------------------------------------------------------------------------


def test_lock_is_exclusive_moves_and_is_taken_over_only_from_the_named_holder(state: SyncStateStore) -> None:
    assert state.get_lock("A1") is None
    assert state.try_acquire_lock(holder("s1", "arn:1"))
    assert not state.try_acquire_lock(holder("s2", "arn:2"))
    assert not state.try_acquire_lock(holder("s2", "arn:2"), replacing_execution_arn="arn:other")
    assert state.move_lock("A1", "s1", "arn:1-mcqm")
    assert not state.move_lock("A1", "s2", "arn:x")
    assert state.get_lock("A1") == LockHolder("A1", "s1", "arn:1-mcqm", "2026-01-01T00:00:00Z")
    assert state.try_acquire_lock(holder("s2", "arn:2"), replacing_execution_arn="arn:1-mcqm")
    assert not state.release_lock("A1", "s1")
    assert state.release_lock("A1", "s2")
    assert state.get_lock("A1") is None
    assert not state.release_lock("A1", "s2")


def test_sync_runs_update_conditionally_and_list_newest_first(state: SyncStateStore) -> None:
    for n in (1, 3, 2):
        state.put_sync_run(SyncRun("A1", f"sync-{n}", "Queued", "manual", f"2026-01-0{n}"))
    state.put_sync_run(SyncRun("B2", "sync-9", "Queued", "manual", "2026-01-09"))
    assert state.update_sync_run("A1", "sync-1", status="Sync Running", execution_arns=["arn:1"])
    assert not state.update_sync_run("A1", "sync-1", only_if_status="Queued", status="Skipped")
    assert state.update_sync_run("A1", "sync-1", only_if_status="Sync Running", counts={"records": 5})
    run = state.get_sync_run("A1", "sync-1")
    assert run is not None
    assert (run.status, run.execution_arns, run.counts) == ("Sync Running", ["arn:1"], {"records": 5})
    assert state.get_sync_run("A1", "nope") is None
    with pytest.raises(KeyError):
        state.update_sync_run("A1", "nope", status="x")
    assert [r.sync_id for r in state.list_sync_runs("A1")] == ["sync-3", "sync-2", "sync-1"]
    assert [r.sync_id for r in state.list_sync_runs("A1", limit=2)] == ["sync-3", "sync-2"]


def test_sync_log_keeps_append_order_per_sync(state: SyncStateStore) -> None:
    state.append_log("A1", "s1", [SyncLogEntry(kind="status", message=f"m{n}") for n in range(3)])
    state.append_log("A1", "s2", [SyncLogEntry(kind="status", message="other")])
    state.append_log("A1", "s1", [SyncLogEntry(kind="clinic", message="m3", tin="111111111")])
    assert [e.message for e in state.list_log("A1", "s1")] == ["m0", "m1", "m2", "m3"]
    assert state.list_log("A1", "s1")[3].tin == "111111111"
    assert state.list_log("A1", "none") == []


def test_clinic_statuses_results_providers_and_roster_pointer(state: SyncStateStore) -> None:
    state.put_clinic_status("A1", ClinicStatus(tin="222", status="Sync Running", sync_id="s1"))
    state.put_clinic_status("A1", ClinicStatus(tin="111", status="Sync Complete", name="North"))
    state.put_clinic_status("A1", ClinicStatus(tin="222", status="Sync Failed", reason="bad file"))
    assert [(c.tin, c.status, c.reason) for c in state.list_clinic_statuses("A1")] == [
        ("111", "Sync Complete", None),
        ("222", "Sync Failed", "bad file"),
    ]
    results = [{"measure_id": "M001", "collection_type": "CQM", "rate": 0.5}]
    state.put_measure_results("A1", "s1", results)
    assert state.list_measure_results("A1", "s1") == results
    assert state.list_measure_results("A1", "s2") == []

    state.put_providers(
        "A1", [Provider(tin="111", npi="1", name="a"), Provider(tin="111", npi="2", name="c", active=False)]
    )
    state.put_providers("A1", [Provider(tin="222", npi="1", name="b")])
    assert sorted((p.npi, p.tin, p.active) for p in state.list_providers("A1")) == [
        ("1", "222", True),
        ("2", "111", False),
    ]
    assert state.delete_providers("A1", [Provider(tin="111", npi="2", name="c")]) == 1
    assert [p.npi for p in state.list_providers("A1")] == ["1"]

    roster = ActiveRoster("A1", 2025, "store/A1/rosters/2025/r.json", "r.csv", 10, 1, "2026-01-01")
    assert state.get_active_roster("A1", 2025) is None
    state.set_active_roster(roster)
    assert state.get_active_roster("A1", 2025) == roster
    assert state.get_active_roster("A1", 2026) is None


def test_aggregate_encounters_upsert_delete_and_list_by_clinic(state: SyncStateStore) -> None:
    assert state.put_aggregate_encounters("A1", [encounter("111", f"k{n}") for n in range(30)]) == 30
    state.put_aggregate_encounters("A1", [encounter("222", "k0"), encounter("111", "k1", content="h2")])
    assert state.tins_with_encounters("A1") == ["111", "222"]
    clinic = {e.source_key: e for e in state.aggregate_encounters("A1", "111")}
    assert len(clinic) == 30 and clinic["k1"].content_hash == "h2"
    assert len(state.aggregate_encounters("A1")) == 31
    assert state.delete_aggregate_encounters("A1", "111", ["k0", "k1", "missing"]) == 2
    assert len(state.aggregate_encounters("A1", "111")) == 28
    assert state.delete_aggregate_encounters("A1", "222", ["k0"]) == 1
    assert state.tins_with_encounters("A1") == ["111"]
    assert state.aggregate_encounters("B2") == []


# --- ObjectStore ------------------------------------------------------------------------------------


def test_objects_round_trip_list_sorted_by_prefix_and_delete(objects: ObjectStore) -> None:
    objects.put("store/A1/clinics/222/records.bin", b"\x00\x01")
    objects.put("store/A1/clinics/111/records.bin", b"one")
    objects.put("store/A10/x.json", b"{}")
    objects.put("results/A1/s1/report.html", b"<html>")
    assert objects.get("store/A1/clinics/222/records.bin") == b"\x00\x01"
    assert objects.list_keys("store/A1/") == [
        "store/A1/clinics/111/records.bin",
        "store/A1/clinics/222/records.bin",
    ]
    assert objects.list_keys("store/A1") == [
        "store/A1/clinics/111/records.bin",
        "store/A1/clinics/222/records.bin",
        "store/A10/x.json",
    ]
    objects.put("store/A1/clinics/111/records.bin", b"two")
    assert objects.get("store/A1/clinics/111/records.bin") == b"two"
    objects.delete("store/A1/clinics/111/records.bin")
    objects.delete("store/A1/clinics/111/records.bin")  # deleting a missing object is no error
    with pytest.raises(ObjectNotFoundError):
        objects.get("store/A1/clinics/111/records.bin")
    assert objects.list_keys("store/A1/clinics/") == ["store/A1/clinics/222/records.bin"]
    assert objects.list_keys("nothing/") == []


def test_purge_removes_the_object_and_every_version_of_it(objects: ObjectStore) -> None:
    """A clinic's upload is taken in under its content key and its own key (a name a clinic chose)
    purged: in a versioned bucket no version or delete marker of that key remains."""
    s3 = getattr(objects, "_s3", None)
    if s3 is not None:
        s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    key = "members/A1/111111111/qrda/Smith_John_19500203.xml"
    objects.put(key, b"one")
    objects.put(key, b"two")
    objects.delete(key)
    objects.put(key, b"three")
    objects.put(key + ".keep", b"other")
    objects.purge(key)
    objects.purge(key)  # purging a missing object is no error
    with pytest.raises(ObjectNotFoundError):
        objects.get(key)
    assert objects.list_keys("members/") == [key + ".keep"]
    if s3 is not None:
        page = s3.list_object_versions(Bucket="data")
        left = [v["Key"] for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
        assert left == [key + ".keep"]


# --- what only the embedded adapters need -----------------------------------------------------------


def test_filesystem_bucket_refuses_keys_outside_its_folder(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "bucket")
    for key in ("../escape", "/etc/passwd", "a/../../b", "a\\b", "a//b", ""):
        with pytest.raises(ValueError, match="not an object key"):
            store.put(key, b"x")
    assert not (tmp_path / "escape").exists()


def test_sqlite_lock_is_exclusive_across_connections(tmp_path: Path) -> None:
    """Two threads (own connections, as two processes would have) race for the lock: one wins."""
    path = tmp_path / "state.db"
    SqliteSyncStateStore(path)
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def contend(n: int) -> None:
        store = SqliteSyncStateStore(path)
        barrier.wait()
        if store.try_acquire_lock(holder(f"s{n}", f"arn:{n}")):
            wins.append(f"s{n}")
        close_connections()

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    lock = SqliteSyncStateStore(path).get_lock("A1")
    assert lock is not None and lock.sync_id == wins[0]
    close_connections()


def test_sqlite_state_file_of_a_newer_or_unknown_schema_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    SqliteSyncStateStore(newer)
    close_connections()
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StateSchemaError, match=rf"schema version {SCHEMA_VERSION + 1}, written by a newer"):
        SqliteSyncStateStore(newer)

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(StateSchemaError, match="without an ACO Sync schema version"):
        SqliteSyncStateStore(foreign)


def test_sqlite_state_persists_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteSyncStateStore(path).put_sync_run(SyncRun("A1", "s1", "Sync Complete", "manual", "2026-01-01"))
    close_connections()
    run = SqliteSyncStateStore(path).get_sync_run("A1", "s1")
    assert run is not None and run.status == "Sync Complete"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    close_connections()
