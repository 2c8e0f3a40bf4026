"""What the persistent local state makes true, each through ``aco-sync run`` (docs/LOCAL.md):
incremental re-runs, removal of deleted files, a roster ingested once, the history of every sync, the
lock between two runs of the same state folder, a killed run's stale lock, and old state folders."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aco_sync.adapters.sqlite import SCHEMA_VERSION, SqliteSyncStateStore, close_connections
from aco_sync_local.cli import main
from aco_sync_local.runner import LocalSyncResult, load_latest_result

SAMPLE_ACO = Path(__file__).resolve().parent / "fixtures" / "sample_aco"
REPO = Path(__file__).resolve().parents[3]
CLINIC_LINE = re.compile(
    r"TIN (\d+): \d+ records from \d+ files; (\d+) added or changed, (\d+) removed, (\d+) unchanged"
)
TEMPLATE = "members/DEMO1/111111111/templates/cqm.csv"


def run(folder: Path, state: Path, *extra: str, expect: int = 0) -> LocalSyncResult:
    code = main(["run", str(folder), "--state-dir", str(state), "--json", *extra])
    result = load_latest_result(state)
    assert code == expect, [e.get("status") for e in result.executions]
    return result


def clinic_counts(result: LocalSyncResult) -> dict[str, tuple[int, int, int]]:
    """Per TIN: (added or changed, removed, unchanged) from the sync log's clinic lines."""
    counts = {}
    for entry in result.status["log"]:
        match = CLINIC_LINE.search(entry["message"])
        if match:
            counts[match[1]] = (int(match[2]), int(match[3]), int(match[4]))
    return counts


def log_messages(result: LocalSyncResult) -> list[str]:
    return [e["message"] for e in result.status["log"]]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The sample ACO; TIN 111111111's template gives each row an encounter_id (its identity, so an
    edited row is that record changed, not a removed row plus a new one)."""
    target = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, target)
    template = target / TEMPLATE
    lines = template.read_text(encoding="utf-8").splitlines()
    rows = [lines[0] + ",encounter_id"] + [f"{line},E{n}" for n, line in enumerate(lines[1:], 1)]
    template.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return target


@pytest.fixture(autouse=True)
def _close_state_connections():
    yield
    close_connections()


def test_reruns_are_incremental_and_every_sync_is_listed(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    first = run(folder, state)
    assert first.sync and first.sync["status"] == "Sync Complete"
    assert clinic_counts(first) == {"111111111": (3, 0, 0), "222222222": (3, 0, 0)}
    assert [r["key"] for r in first.extra["rosters_ingested"]] == ["rosters/DEMO1/2025/roster.csv"]
    snapshot = state / "bucket" / "store" / "DEMO1" / "clinics" / "111111111" / "records.bin"
    snapshot_written = snapshot.stat().st_mtime_ns

    # unchanged folder: nothing added or changed, no encounter or snapshot written, roster not re-ingested
    with sqlite3.connect(state / "state.db") as db:
        encounters_before = db.execute("SELECT * FROM encounters ORDER BY tin, source_key").fetchall()
    second = run(folder, state)
    assert clinic_counts(second) == {"111111111": (0, 0, 3), "222222222": (0, 0, 3)}
    assert second.extra["rosters_ingested"] == []
    assert second.extra["files_changed"] == 0
    assert snapshot.stat().st_mtime_ns == snapshot_written
    with sqlite3.connect(state / "state.db") as db:
        assert db.execute("SELECT * FROM encounters ORDER BY tin, source_key").fetchall() == encounters_before
    assert second.status["measures"] == first.status["measures"]

    # one edited row -> 1 changed
    template = folder / TEMPLATE
    lines = template.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = next(i for i, line in enumerate(lines[1:], 1) if ",MET," in line)
    lines[edited] = lines[edited].replace(",MET,", ",NOT_MET,", 1)
    template.write_text("".join(lines), encoding="utf-8")
    third = run(folder, state)
    assert clinic_counts(third) == {"111111111": (1, 0, 2), "222222222": (0, 0, 3)}

    # a deleted file -> its encounters removed and counted
    (folder / "members/DEMO1/222222222/templates/cqm.csv").unlink()
    fourth = run(folder, state, expect=1)  # TIN 222222222 has no template left: Sync Failed (no usable data)
    assert "Cleanup removed 3 aggregate encounters in total" in " ".join(log_messages(fourth))
    with sqlite3.connect(state / "state.db") as db:
        assert db.execute("SELECT count(*) FROM encounters WHERE tin = '222222222'").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM encounters WHERE tin = '111111111'").fetchone()[0] == 3

    # a new roster upload is ingested once
    roster = folder / "rosters/DEMO1/2025"
    shutil.copy(roster / "roster.csv", roster / "roster-update.csv")
    fifth = run(folder, state, expect=1)
    assert [r["key"] for r in fifth.extra["rosters_ingested"]] == ["rosters/DEMO1/2025/roster-update.csv"]
    sixth = run(folder, state, expect=1)
    assert sixth.extra["rosters_ingested"] == []

    # history and status list every past sync of the ACO
    syncs = [first, second, third, fourth, fifth, sixth]
    sync_ids = [r.sync["sync_id"] for r in syncs if r.sync]
    capsys.readouterr()
    assert main(["history", "--all", "--json", "--state-dir", str(state)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["sync_id"] for row in listed] == sync_ids
    assert {row["status"] for row in listed} == {"Sync Complete"}
    assert main(["status", "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    assert "Syncs of DEMO1 (6)" in out
    for sync_id in sync_ids:
        assert sync_id in out


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "aco_sync_local.cli", *args]


def _env() -> dict[str, str]:
    paths = [str(REPO / "src"), str(REPO / "layers" / "common"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _start_run(folder: Path, state: Path, *, output: int) -> subprocess.Popen[bytes]:
    """``aco-sync run <folder> --state-dir <state> --json`` started in a process of its own."""
    return subprocess.Popen(
        _cli("run", str(folder), "--state-dir", str(state), "--json"),
        env=_env(),
        stdout=output,
        stderr=output,
    )


def test_two_runs_at_once_one_runs_the_other_is_skipped(folder: Path, tmp_path: Path) -> None:
    """Two ``aco-sync run`` of the same ACO and state folder at once. To make them overlap for sure, the
    first is paused (SIGSTOP) as soon as it holds the ACO lock, the second runs to its end, then the
    first goes on (SIGCONT): the second is recorded Skipped: Already Running, the first completes."""
    state = tmp_path / "state"
    first = _start_run(folder, state, output=subprocess.PIPE)
    try:
        _wait_for_lock(state, first)
        _pause_outside_a_write(first, state / "state.db")
        second = subprocess.run(
            _cli("run", str(folder), "--state-dir", str(state), "--json"),
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        first.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err.decode()[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    first_sync = json.loads(out)["sync"]
    second_execution = json.loads(second.stdout)["executions"][0]
    assert first_sync["status"] == "Sync Complete"
    store = SqliteSyncStateStore(state / "state.db")
    runs = store.list_sync_runs("DEMO1")
    assert sorted(r.status for r in runs) == ["Skipped: Already Running", "Sync Complete"]
    skipped = next(r for r in runs if r.status == "Skipped: Already Running")
    assert skipped.sync_id != first_sync["sync_id"]
    assert f"already running (sync {first_sync['sync_id']} holds the ACO lock)" in str(skipped.error)
    assert second_execution["status"] == "SUCCEEDED"
    history = load_latest_result(state)  # the first run finished last
    assert history.sync and history.sync["sync_id"] == first_sync["sync_id"]
    assert store.get_lock("DEMO1") is None


def _pause_outside_a_write(process: subprocess.Popen[bytes], path: Path) -> None:
    """SIGSTOP ``process`` at a moment it holds no write transaction on the state file (else the other
    run would wait for it): stop, try to take the write lock, and if it is held resume and try again."""
    for _attempt in range(200):
        process.send_signal(signal.SIGSTOP)
        _wait_until_stopped(process)  # kill() returns before the signal lands: it could still take the lock
        db = sqlite3.connect(path, timeout=0.05, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            process.send_signal(signal.SIGCONT)
            time.sleep(0.01)
        finally:
            db.close()
    raise AssertionError("the run never paused outside a write transaction")


def _wait_until_stopped(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Until ``process`` is in the stopped state (Linux's /proc; elsewhere a short wait)."""
    stat = Path(f"/proc/{process.pid}/stat")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]  # the field after the command name
        except (OSError, IndexError):
            time.sleep(0.05)
            return
        if state in ("T", "t"):
            return
        time.sleep(0.001)
    raise AssertionError("the run did not stop on SIGSTOP")


def _wait_for_lock(state: Path, process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it took the lock"
        try:
            with sqlite3.connect(state / "state.db", timeout=5) as db:
                if db.execute("SELECT count(*) FROM locks").fetchone()[0]:
                    return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.01)
    raise AssertionError("the run never took the ACO lock")


def test_a_run_killed_with_sigkill_leaves_no_stuck_lock(folder: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    killed = _start_run(folder, state, output=subprocess.DEVNULL)
    try:
        _wait_for_lock(state, killed)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    lock = SqliteSyncStateStore(state / "state.db").get_lock("DEMO1")
    assert lock is not None, "the killed run held the lock"

    after = run(folder, state)
    assert after.sync and after.sync["status"] == "Sync Complete"
    assert any(f"Took over a stale lock held by sync {lock.sync_id}" in m for m in log_messages(after))
    assert SqliteSyncStateStore(state / "state.db").get_lock("DEMO1") is None
    killed_run = SqliteSyncStateStore(state / "state.db").get_sync_run("DEMO1", lock.sync_id)
    assert killed_run is not None and killed_run.status == "Sync Failed"
    assert "without releasing the ACO lock" in str(killed_run.error)


def test_an_old_state_folder_is_migrated_and_a_newer_one_refused(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the layout before the persistent store: only saved results of earlier runs
    old = tmp_path / "old-state"
    (old / "runs").mkdir(parents=True)
    saved = {
        "aco_id": "DEMO1",
        "folder": str(folder),
        "started_at": "2026-11-01T00:00:00+00:00",
        "finished_at": "2026-11-01T00:01:00+00:00",
        "started": [],
        "executions": [],
        "status": {},
    }
    (old / "runs" / "20261101T000100Z-DEMO1.json").write_text(json.dumps(saved), encoding="utf-8")
    (old / "latest-sync.json").write_text(json.dumps(saved), encoding="utf-8")
    migrated = run(folder, old)
    assert "Migrated the state folder" in migrated.extra["migrated"]
    assert clinic_counts(migrated) == {"111111111": (3, 0, 0), "222222222": (3, 0, 0)}
    assert (old / "layout-version").read_text().strip() == "1"
    assert run(folder, old).extra.get("migrated") is None  # once

    # a state file written by a newer version: refused with what to do
    close_connections()
    with sqlite3.connect(old / "state.db") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    capsys.readouterr()
    assert main(["run", str(folder), "--state-dir", str(old)]) == 1
    err = capsys.readouterr().err
    assert f"has schema version {SCHEMA_VERSION + 1}, written by a newer ACO Sync" in err
    assert "move the state folder away" in err

    (tmp_path / "newer").mkdir()
    (tmp_path / "newer" / "layout-version").write_text("7\n")
    assert main(["run", str(folder), "--state-dir", str(tmp_path / "newer")]) == 1
    assert "has layout version 7, written by a newer ACO Sync" in capsys.readouterr().err
