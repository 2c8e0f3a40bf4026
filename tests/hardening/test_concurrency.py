"""Concurrency through the real state machines: triggers at the same moment, a manual start during a
pending MCQM job, a roster uploaded while a sync runs, and a clinic that keeps failing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fault_support import (
    activate_roster_without_sync,
    ingest_roster_event,
    run_sync,
    start_sync,
    upload_aco,
)

import aco_sync.service.aggregate_stats as aggregate_stats
import aco_sync.service.clinic_sync as clinic_sync
import aco_sync.service.mcqm_sync as mcqm_sync
from aco_sync.adapters.environment import build_stores
from aco_sync.domain.errors import TransientStoreError
from aco_sync.service.status import latest_sync_status, sync_history
from aco_sync_local.demo_data import write_demo_aco
from aco_sync_local.local_aws import LocalAws
from support.executions import wait_until_finished

pytestmark = pytest.mark.slow
BLOCKED_TIN = "100000001"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo")
    return folder, write_demo_aco(folder)


@contextmanager
def active_demo_aco(demo_folder: tuple[Path, str]) -> Iterator[tuple[LocalAws, str]]:
    """The demo ACO uploaded into a fresh local stack, its roster active and no sync started yet."""
    folder, aco_id = demo_folder
    with LocalAws(fast_retries=True) as aws:
        upload_aco(aws, folder, aco_id)
        activate_roster_without_sync(aws, f"rosters/{aco_id}/2025/roster.csv")
        yield aws, aco_id


class Gate:
    """Holds a service function at its start until released (the sync is then 'running')."""

    def __init__(self, real: Callable[..., Any], when: Callable[..., bool] = lambda *a, **k: True) -> None:
        self.real, self.when = real, when
        self.entered, self.release = threading.Event(), threading.Event()

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch, module: object, name: str, **options: Any) -> Gate:
        """Put a gate in front of ``module.name`` for the test."""
        gate = cls(getattr(module, name), **options)
        monkeypatch.setattr(module, name, gate)
        return gate

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.when(*args, **kwargs):
            self.entered.set()
            assert self.release.wait(60), "the gate was never released"
        return self.real(*args, **kwargs)


def _runs(aco_id: str) -> list[dict[str, Any]]:
    return sync_history(aco_id, limit=50)


def test_triggers_at_the_same_moment_run_exactly_one_sync(
    monkeypatch: pytest.MonkeyPatch, demo_folder: tuple[Path, str]
) -> None:
    """The daily schedule, a roster upload and two manual starts fire together while nothing runs."""
    with active_demo_aco(demo_folder) as (aws, aco_id):
        gate = Gate.install(monkeypatch, clinic_sync, "read_clinic_files")
        barrier = threading.Barrier(4)

        def fire(trigger: str) -> Any:
            barrier.wait()
            if trigger == "roster_upload":
                return ingest_roster_event(aws, f"rosters/{aco_id}/2025/roster.csv")
            if trigger == "schedule":
                return aws.invoke("StartSyncFunction", {"all_configured": True, "trigger": "schedule"})
            return aws.invoke("StartSyncFunction", {"aco_id": aco_id, "trigger": "manual"})

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(fire, ["schedule", "roster_upload", "manual", "manual"]))
        assert gate.entered.wait(60)
        assert len(aws.list_executions()) == 4
        gate.release.set()
        aws.wait_for_executions(timeout=120)
        aws.drain_queues()

        runs = _runs(aco_id)
        assert len(runs) == 4
        completed = [r for r in runs if r["status"] == "Sync Complete"]
        skipped = [r for r in runs if r["status"] == "Skipped: Already Running"]
        assert len(completed) == 1, [(r["trigger"], r["status"]) for r in runs]
        assert len(skipped) == 3
        assert all("Skipped: already running" in (r["error"] or "") for r in skipped)
        assert {r["trigger"] for r in runs} == {"schedule", "roster_upload", "manual"}
        assert build_stores().state.get_lock(aco_id) is None


def test_a_manual_start_while_the_mcqm_job_is_pending_is_skipped(
    monkeypatch: pytest.MonkeyPatch, demo_folder: tuple[Path, str]
) -> None:
    with active_demo_aco(demo_folder) as (aws, aco_id):
        gate = Gate.install(monkeypatch, mcqm_sync, "aggregate_mcqm")
        first = start_sync(aws, aco_id)
        assert gate.entered.wait(60)  # the main execution handed over; the MCQM job is running
        # the main execution ends once it handed over: only the lock says the sync is in progress
        assert wait_until_finished(aws, first["execution_arn"]) == "SUCCEEDED"
        second = start_sync(aws, aco_id, trigger="manual")
        assert wait_until_finished(aws, second["execution_arn"]) == "SUCCEEDED"
        gate.release.set()
        aws.wait_for_executions(timeout=120)

        status = latest_sync_status(aco_id)
        assert status["sync"]["id"] == first["sync_id"] and status["sync"]["status"] == "Sync Complete"
        assert [s["id"] for s in status["skipped_triggers"]] == [second["sync_id"]]
        assert build_stores().state.get_lock(aco_id) is None


def _smaller_roster(folder: Path, aco_id: str, drop: int) -> bytes:
    lines = (folder / "rosters" / aco_id / "2025" / "roster.csv").read_bytes().splitlines(keepends=True)
    return b"".join(lines[:-drop])


def test_a_roster_uploaded_during_a_sync_is_used_by_the_next_sync_only(
    monkeypatch: pytest.MonkeyPatch, demo_folder: tuple[Path, str]
) -> None:
    folder, aco_id = demo_folder
    new_roster = _smaller_roster(folder, aco_id, drop=3)
    roster_sizes: list[int] = []
    report_roster_sizes: list[int | None] = []
    real_mcqm, real_reports = mcqm_sync.aggregate_mcqm, aggregate_stats.build_reports

    def spy_mcqm(records: Any, counts: Any, plan: Any, roster: Any, **kwargs: Any) -> Any:
        roster_sizes.append(len(roster))
        return real_mcqm(records, counts, plan, roster, **kwargs)

    def spy_reports(inputs: Any) -> Any:
        report_roster_sizes.append(inputs.roster_size)
        return real_reports(inputs)

    monkeypatch.setattr(mcqm_sync, "aggregate_mcqm", spy_mcqm)
    monkeypatch.setattr(aggregate_stats, "build_reports", spy_reports)
    with LocalAws(fast_retries=True) as aws:
        upload_aco(aws, folder, aco_id)
        old_rows = activate_roster_without_sync(aws, f"rosters/{aco_id}/2025/roster.csv")["rows_accepted"]
        gate = Gate.install(
            monkeypatch, clinic_sync, "read_clinic_files", when=lambda tin, *a, **k: tin == BLOCKED_TIN
        )
        running = start_sync(aws, aco_id)
        assert gate.entered.wait(60)

        key = f"rosters/{aco_id}/2025/roster_update.csv"
        aws.client("s3").put_object(Bucket=aws.bucket_name(), Key=key, Body=new_roster)
        ingested = ingest_roster_event(aws, key)
        new_rows = ingested["rows_accepted"]
        assert ingested["activated"] and 0 < new_rows < old_rows
        assert wait_until_finished(aws, ingested["sync"]["execution_arn"]) == "SUCCEEDED"  # skipped
        gate.release.set()
        aws.wait_for_executions(timeout=120)
        aws.drain_queues()
        status = latest_sync_status(aco_id)
        assert status["sync"]["id"] == running["sync_id"] and status["sync"]["status"] == "Sync Complete"
        assert [s["id"] for s in status["skipped_triggers"]] == [ingested["sync"]["sync_id"]]
        assert roster_sizes == [old_rows], "the running sync must keep the roster it started with"
        assert report_roster_sizes == [old_rows]

        following = run_sync(aws, aco_id)
        assert following["sync"]["status"] == "Sync Complete"
        assert roster_sizes == [old_rows, new_rows], "the next sync uses the new roster"
        assert report_roster_sizes == [old_rows, new_rows]


def test_a_clinic_that_keeps_failing_is_sync_failed_and_reported_missing(
    monkeypatch: pytest.MonkeyPatch, demo_folder: tuple[Path, str]
) -> None:
    attempts = {"n": 0}
    real = clinic_sync.read_clinic_files

    def always_failing(tin: str, *args: Any, **kwargs: Any) -> Any:
        if tin == BLOCKED_TIN:
            attempts["n"] += 1
            raise TransientStoreError("S3 get: InternalError (the clinic's storage keeps failing)")
        return real(tin, *args, **kwargs)

    monkeypatch.setattr(clinic_sync, "read_clinic_files", always_failing)
    with active_demo_aco(demo_folder) as (aws, aco_id):
        status = run_sync(aws, aco_id)

        assert attempts["n"] > 1, "the failing clinic was not retried"
        clinics = {c["tin"]: c for c in status["clinics"]}
        assert clinics[BLOCKED_TIN]["status"] == "Sync Failed"
        assert "the clinic's storage keeps failing" in clinics[BLOCKED_TIN]["reason"]
        # the demo's clinics have rows rejected on purpose: "Sync Complete (N rows rejected)"
        assert {c["status"].split(" (")[0] for t, c in clinics.items() if t != BLOCKED_TIN} == {
            "Sync Complete"
        }
        assert status["sync"]["status"] == "Sync Complete"  # the other clinics' results stand
        missing = [e for e in status["log"] if e["kind"] == "missing_tins"]
        assert len(missing) == 1 and BLOCKED_TIN in missing[0]["message"]
        results = status["results_prefix"]
        report = build_stores().objects.get(f"{results}report.html").decode()
        assert BLOCKED_TIN in report and "Sync Failed" in report
        assert build_stores().state.get_lock(aco_id) is None
