"""Failure paths and the ACO lock through the real ASL: abort without roster, a clinic that fails
permanently, a transient error retried, a trigger skipped while a sync or its MCQM job runs, a stale lock."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from statemachine_support import NORTH, SOUTH, lock_holder, put, start, states_entered, write_aco

import aco_sync.service.clinic_sync as clinic_sync
import aco_sync.service.initial_sync as initial_sync
import aco_sync.service.mcqm_sync as mcqm_sync
from aco_sync.adapters.environment import STATE_FILE
from aco_sync.adapters.ports import LockHolder
from aco_sync.adapters.sqlite import SqliteSyncStateStore
from aco_sync.domain.errors import TransientStoreError
from aco_sync.service.status import latest_sync_status
from aco_sync_local.local_stack import LocalStack
from support.executions import wait_until_finished
from support.small_aco import NORTH_ROWS, TEMPLATE_HEADER

EMPTY_TIN = "333333333"


def _lock_item(aws: LocalStack) -> object | None:
    return lock_holder(aws)


def fail_with(monkeypatch: pytest.MonkeyPatch, module: object, name: str, message: str) -> None:
    """From now on ``module.name`` raises ValueError(message) whatever it is called with."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(message)

    monkeypatch.setattr(module, name, broken)


def run_failing_sync(
    aws: LocalStack, *, roster_required: bool, error: str
) -> tuple[list[str], dict[str, Any]]:
    """Write the small ACO, start a sync and wait for it to fail with ``error``: the states the execution
    entered and the sync's status."""
    write_aco(aws, mcqm=False, roster_required=roster_required)
    started = start(aws)
    [execution] = aws.wait_for_executions(timeout=60)
    assert (execution.status, execution.error) == ("FAILED", error)
    return states_entered(aws, started["execution_arn"]), latest_sync_status("A1")


def test_missing_roster_aborts_records_the_reason_and_releases_the_lock(tmp_path: Path) -> None:
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        states, status = run_failing_sync(aws, roster_required=True, error="MissingRosterError")
        assert "Record Sync Aborted" in states and "Release ACO Lock After Abort" in states
        assert "Initial Sync" not in states
        assert status["sync"]["status"] == "Sync Aborted"
        assert "no active Medicare roster for performance year 2025" in status["sync"]["error"]
        assert _lock_item(aws) is None


def test_a_clinic_that_fails_permanently_does_not_hide_the_others(tmp_path: Path) -> None:
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        write_aco(aws, mcqm=False, roster_required=False)
        clinics = [{"tin": NORTH}, {"tin": SOUTH}, {"tin": EMPTY_TIN, "name": "No Uploads"}]
        put(
            aws,
            "config/acos/A1.json",
            json.dumps(
                {
                    "aco_id": "A1",
                    "performance_year": 2025,
                    "member_clinics": clinics,
                    "roster_required": False,
                }
            ),
        )
        start(aws)
        [execution] = aws.wait_for_executions(timeout=60)
        assert execution.status == "SUCCEEDED"
        status = latest_sync_status("A1")
        clinic_status = {c["tin"]: c for c in status["clinics"]}
        assert clinic_status[NORTH]["status"] == clinic_status[SOUTH]["status"] == "Sync Complete"
        assert clinic_status[EMPTY_TIN]["status"] == "Sync Failed"
        assert "No files uploaded for TIN 333333333" in clinic_status[EMPTY_TIN]["reason"]
        assert status["sync"]["status"] == "Sync Complete"
        assert any(e["kind"] == "missing_tins" and EMPTY_TIN in e["message"] for e in status["log"])
        assert next(m for m in status["measures"] if m["measure_id"] == "M236")["eligible_population"] == 3


def test_a_transient_error_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = initial_sync.diff_providers
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientStoreError("DynamoDB put: ThrottlingException")
        return real(*args, **kwargs)

    monkeypatch.setattr(initial_sync, "diff_providers", flaky)
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        write_aco(aws, mcqm=False, roster_required=False)
        started = start(aws)
        [execution] = aws.wait_for_executions(timeout=60)
        assert execution.status == "SUCCEEDED"
        row = next(r for r in aws.execution_history(started["execution_arn"]) if r.state == "Initial Sync")
        assert row.retries >= 1
        assert calls["n"] == 2
        assert latest_sync_status("A1")["sync"]["status"] == "Sync Complete"


def test_a_permanent_error_fails_the_sync_and_releases_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_with(monkeypatch, initial_sync, "diff_providers", "provider list is broken")
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        states, status = run_failing_sync(aws, roster_required=False, error="SyncFailed")
        assert "Record Sync Failure" in states and "Release ACO Lock After Failure" in states
        assert status["sync"]["status"] == "Sync Failed"
        assert status["sync"]["error"] == "ValueError: provider list is broken"
        assert {c["status"] for c in status["clinics"]} == {"Sync Failed"}
        assert _lock_item(aws) is None


@pytest.mark.parametrize("busy_step", ["member clinic sync", "MCQM job"])
def test_a_second_trigger_is_skipped_while_a_sync_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busy_step: str
) -> None:
    """The first sync is kept RUNNING by a transient error in one of its steps: the ASL waits out real
    retry intervals (2 s, then 4 s) between attempts, outside any Lambda, and the second trigger arrives
    in that window (the local runner runs one in-process invocation at a time per function, so blocking
    inside a handler would also block the second execution). The Map's invocations stay in this
    process (``workers=0``) so that the patched clinic step sees this test's events."""
    retrying = threading.Event()
    armed = threading.Event()
    failures = {"left": 2}
    module, name = (
        (clinic_sync, "read_clinic_files")
        if busy_step == "member clinic sync"
        else (mcqm_sync, "aggregate_mcqm")
    )
    real = getattr(module, name)

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if armed.is_set() and (module is mcqm_sync or args[0] == NORTH) and failures["left"] > 0:
            failures["left"] -= 1
            retrying.set()
            raise TransientStoreError("S3 get: SlowDown")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    with LocalStack(state_dir=tmp_path, fast_retries=False, workers=0) as aws:
        mcqm = busy_step == "MCQM job"
        write_aco(aws, mcqm=mcqm, roster_required=mcqm)
        if mcqm:
            from statemachine_support import ingest_roster

            ingest_roster(aws)  # a first, undisturbed sync activates the roster
            aws.wait_for_executions(timeout=60)
            # and a changed clinic file, so the next sync computes its results (and runs the MCQM job)
            put(aws, f"members/A1/{NORTH}/templates/cqm.csv", TEMPLATE_HEADER + NORTH_ROWS[0] + "\n")
        armed.set()
        first = start(aws)
        assert retrying.wait(60)
        second = start(aws)
        assert wait_until_finished(aws, second["execution_arn"], timeout=30) == "SUCCEEDED"
        assert "Skipped: Already Running" in states_entered(aws, second["execution_arn"])
        assert "Validate Roster" not in states_entered(aws, second["execution_arn"])
        aws.wait_for_executions(timeout=60)

        status = latest_sync_status("A1")
        assert status["sync"]["id"] == first["sync_id"] and status["sync"]["status"] == "Sync Complete"
        assert [s["id"] for s in status["skipped_triggers"]] == [second["sync_id"]]
        assert f"sync {first['sync_id']} holds the ACO lock" in status["skipped_triggers"][0]["error"]
        assert _lock_item(aws) is None


def test_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        write_aco(aws, mcqm=False, roster_required=False)
        dead_execution = "arn:aws:states:us-east-1:123456789012:execution:aco-sync-local-aco-sync:sync-dead"
        store = SqliteSyncStateStore(aws.state_dir / STATE_FILE)
        store.try_acquire_lock(LockHolder("A1", "sync-dead", dead_execution, "2026-01-01T00:00:00Z"))
        started = start(aws)
        [execution] = aws.wait_for_executions(timeout=60)
        assert execution.status == "SUCCEEDED"
        assert "Skipped: Already Running" not in states_entered(aws, started["execution_arn"])
        status = latest_sync_status("A1")
        assert status["sync"]["status"] == "Sync Complete"
        assert any("Took over a stale lock held by sync sync-dead" in e["message"] for e in status["log"])
        assert _lock_item(aws) is None


def test_a_failing_mcqm_job_fails_the_sync_and_releases_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_with(monkeypatch, mcqm_sync, "aggregate_mcqm", "roster matching exploded")
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        write_aco(aws, mcqm=True)
        from statemachine_support import ingest_roster

        ingest_roster(aws)
        executions = {e.state_machine: e for e in aws.wait_for_executions(timeout=60)}
        assert executions["AcoSyncStateMachine"].status == "SUCCEEDED"
        mcqm = executions["McqmSyncStateMachine"]
        assert (mcqm.status, mcqm.error) == ("FAILED", "SyncFailed")
        assert "Release ACO Lock After Failure" in states_entered(aws, mcqm.execution_arn)
        status = latest_sync_status("A1")
        assert status["sync"]["status"] == "Sync Failed"
        assert status["sync"]["error"] == "ValueError: roster matching exploded"
        assert _lock_item(aws) is None
