"""Crashes through the real state machines (template.yaml + ASL deployed into moto, handlers in-process):
a step that crashes before or after writing part of its output is retried (its Retry on the domain
error class ``TransientStoreError``) or the sync is run again after a permanent failure, and the final
stored results are identical to a clean run's - no duplicate or lost record. A second sync of
unchanged data writes nothing."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_support import (
    activate_roster_without_sync,
    assert_same_results,
    run_sync,
    stored_results,
    upload_aco,
)

import aco_sync.adapters.aws as aws_adapters
import aco_sync.service.aggregate_stats as aggregate_stats
import aco_sync.service.clinic_sync as clinic_sync
import aco_sync.service.mcqm_sync as mcqm_sync
import aco_sync.service.partitions as partitions
import aco_sync_local.moto_patches as moto_patches
from aco_sync.adapters.environment import build_stores
from aco_sync.domain.errors import TransientStoreError
from aco_sync_local.demo_data import write_demo_aco
from aco_sync_local.local_aws import LocalAws

pytestmark = pytest.mark.slow
TIN = "100000001"  # the demo's first CQM clinic


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo")
    return folder, write_demo_aco(folder)


@pytest.fixture(scope="module")
def clean_results(demo_folder: tuple[Path, str]) -> dict[str, Any]:
    folder, aco_id = demo_folder
    with LocalAws(fast_retries=True) as aws:
        status = _first_sync(aws, folder, aco_id)
        assert status["sync"]["status"] == "Sync Complete", status["sync"]
        return stored_results(aws, aco_id, status)


def _first_sync(aws: LocalAws, folder: Path, aco_id: str) -> dict[str, Any]:
    upload_aco(aws, folder, aco_id)
    activate_roster_without_sync(aws, f"rosters/{aco_id}/2025/roster.csv")
    return run_sync(aws, aco_id)


class FailOnce:
    """Wraps ``target`` so that one call (the first for which ``when`` holds) raises ``error`` - either
    before doing anything or after doing its work (the crash happens after its output was written)."""

    def __init__(
        self,
        target: Callable[..., Any],
        *,
        error: Exception,
        after: bool,
        when: Callable[..., bool] = lambda *a, **k: True,
        times: int = 1,
    ) -> None:
        self.target, self.error, self.after, self.when, self.remaining = target, error, after, when, times
        self.raised = 0
        self._lock = threading.Lock()  # Map iterations run in parallel threads

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            fire = self.remaining > 0 and self.when(*args, **kwargs)
            if fire:
                self.remaining -= 1
                self.raised += 1
        if fire and not self.after:
            raise self.error
        result = self.target(*args, **kwargs)
        if fire:
            raise self.error
        return result


def _half_written_encounters(real: Callable[..., int]) -> Callable[..., int]:
    """put_aggregate_encounters that writes the first half of the batch, then fails once."""
    state = {"done": False}

    def put(self: Any, aco_id: str, encounters: Any) -> int:
        if not state["done"] and len(encounters) > 1:
            state["done"] = True
            real(self, aco_id, encounters[: len(encounters) // 2])
            raise TransientStoreError("DynamoDB encounters: ProvisionedThroughputExceededException")
        return real(self, aco_id, encounters)

    return put


def _is_tin(tin: str) -> Callable[..., bool]:
    return lambda *args, **kwargs: kwargs.get("tin", args[1] if len(args) > 1 else None) == tin


def _put_under(prefix_part: str) -> Callable[..., bool]:
    return lambda self, key, *a, **k: prefix_part in key


def _log_of_kind(kind: str) -> Callable[..., bool]:
    return lambda self, aco_id, sync_id, entries: any(e.kind == kind for e in entries)


TRANSIENT = TransientStoreError("S3 put: SlowDown")


def _transient_once(
    *, after: bool, when: Callable[..., bool] = lambda *a, **k: True
) -> Callable[[Any], FailOnce]:
    """The wrapper factory of a crash: one TRANSIENT error before or ``after`` the call (the first
    for which ``when`` holds) did its work."""
    return lambda real: FailOnce(real, error=TRANSIENT, after=after, when=when)


STATE_STORE, OBJECT_STORE = aws_adapters.DynamoDbSyncStateStore, aws_adapters.S3ObjectStore


def _snapshot_of(tin: str) -> Callable[..., bool]:
    """``when`` of ``_write_snapshot_if_changed(stores, aco_id, tin, data)``: the call for ``tin``."""
    return lambda stores, aco_id, snapshot_tin, data: snapshot_tin == tin


# (name, module or class, attribute, wrapper factory)
CRASHES: list[tuple[str, Any, str, Callable[[Any], Any]]] = [
    ("clinic sync, before reading anything", clinic_sync, "read_clinic_files", _transient_once(after=False)),
    (
        "clinic sync, half of the encounters written",
        STATE_STORE,
        "put_aggregate_encounters",
        _half_written_encounters,
    ),
    (
        "clinic sync, all encounters written, snapshot not",
        clinic_sync,
        "_write_snapshot_if_changed",
        _transient_once(after=False, when=_snapshot_of(TIN)),
    ),
    (
        "clinic sync, snapshot written, log not",
        clinic_sync,
        "_write_snapshot_if_changed",
        _transient_once(after=True, when=_snapshot_of(TIN)),
    ),
    (
        "clinic sync, after its log was appended",
        STATE_STORE,
        "append_log",
        _transient_once(after=True, when=_log_of_kind("clinic")),
    ),
    (
        "finalize, after its log was appended",
        STATE_STORE,
        "append_log",
        _transient_once(after=True, when=_log_of_kind("aggregation")),
    ),
    (
        "finalize, after the plan was written",
        OBJECT_STORE,
        "put",
        _transient_once(after=True, when=_put_under("/syncs/")),
    ),
    ("member partition, after its aggregation", partitions, "aggregate_members", _transient_once(after=True)),
    ("MCQM job, after its result was written", mcqm_sync, "aggregate_mcqm", _transient_once(after=True)),
    (
        "update stats, after the first result file",
        OBJECT_STORE,
        "put",
        _transient_once(after=True, when=_put_under("results/")),
    ),
    (
        "update stats, after the measure results were stored",
        aggregate_stats,
        "build_reports",
        _transient_once(after=True),
    ),
]


@pytest.fixture
def crash(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    _, owner, attribute, factory = request.param
    wrapper = factory(getattr(owner, attribute))
    if isinstance(owner, type):  # a store method: keep it a function so that it binds ``self``

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return wrapper(self, *args, **kwargs)

        monkeypatch.setattr(owner, attribute, method)
    else:
        monkeypatch.setattr(owner, attribute, wrapper)
    yield wrapper


@pytest.fixture
def invocations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(function, event) of every in-process Lambda invocation: a retry invokes the same function with
    the same event again. (The clinics' states run in the child executions of the distributed Map,
    whose histories moto does not expose: it has no ListMapRuns.)"""
    seen: list[tuple[str, str]] = []
    real = moto_patches.invoke_in_process

    def invoke(function_name: str, function_arn: str, body: Any) -> tuple[bytes, bool]:
        seen.append((function_name.rsplit("-", 1)[-1], body if isinstance(body, str) else repr(body)))
        return real(function_name, function_arn, body)

    monkeypatch.setattr(moto_patches, "invoke_in_process", invoke)
    return seen


@pytest.mark.parametrize("crash", CRASHES, ids=[c[0] for c in CRASHES], indirect=True)
def test_a_step_crashing_mid_way_is_retried_to_the_clean_result(
    crash: Any,
    demo_folder: tuple[Path, str],
    clean_results: dict[str, Any],
    invocations: list[tuple[str, str]],
) -> None:
    folder, aco_id = demo_folder
    with LocalAws(fast_retries=True) as aws:
        status = _first_sync(aws, folder, aco_id)
        if isinstance(crash, FailOnce):
            assert crash.raised == 1, "the crash was not injected: the test would prove nothing"
        assert status["sync"]["status"] == "Sync Complete", status["sync"]
        retried = [
            row.state
            for execution in aws.list_executions()
            for row in aws.execution_history(execution.execution_arn)
            if row.retries
        ] + [function for function, count in Counter(invocations).items() if count > 1]
        assert retried, "no state was retried"
        assert_same_results(stored_results(aws, aco_id, status), clean_results)


def test_a_sync_that_failed_half_way_is_repaired_by_the_next_sync(
    monkeypatch: pytest.MonkeyPatch, demo_folder: tuple[Path, str], clean_results: dict[str, Any]
) -> None:
    """A permanent crash (not retried) after part of a clinic's encounters were written, and one in the
    MCQM job after its output: the sync ends failed; the next sync of the same data repairs everything."""
    folder, aco_id = demo_folder
    real_put = aws_adapters.DynamoDbSyncStateStore.put_aggregate_encounters

    def half_then_crash(self: Any, aco: str, encounters: Any) -> int:
        real_put(self, aco, encounters[: len(encounters) // 2])
        raise RuntimeError("worker killed")

    with LocalAws(fast_retries=True) as aws:
        monkeypatch.setattr(aws_adapters.DynamoDbSyncStateStore, "put_aggregate_encounters", half_then_crash)
        monkeypatch.setattr(
            mcqm_sync,
            "aggregate_mcqm",
            FailOnce(mcqm_sync.aggregate_mcqm, error=RuntimeError("killed"), after=True),
        )
        broken = _first_sync(aws, folder, aco_id)
        assert broken["sync"]["status"] == "Sync Failed"
        assert build_stores().state.get_lock(aco_id) is None
        monkeypatch.undo()
        repaired = run_sync(aws, aco_id)
        assert repaired["sync"]["status"] == "Sync Complete"
        assert_same_results(stored_results(aws, aco_id, repaired), clean_results)


def test_a_second_sync_of_unchanged_data_changes_nothing(demo_folder: tuple[Path, str]) -> None:
    folder, aco_id = demo_folder
    with LocalAws(fast_retries=True) as aws:
        first = _first_sync(aws, folder, aco_id)
        before = stored_results(aws, aco_id, first)
        versions_before = _object_versions(aws, f"store/{aco_id}/clinics/")
        second = run_sync(aws, aco_id)
        assert second["sync"]["id"] != first["sync"]["id"]
        after = stored_results(aws, aco_id, second)
        # nothing changed: the results are the first sync's (not computed again), so the second sync's
        # log has the clinics' lines and says so instead of repeating the engine's and MCQM job's lines
        assert second["results_prefix"] == first["results_prefix"]
        kinds = {"clinic", "file", "ingest_error", "ingest_warning", "providers", "roster"}

        def clinic_lines(log: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
            return [e for e in log if e[0] in kinds or e[-1].startswith(("Cleanup ", "Removed "))]

        assert clinic_lines(after.pop("log")) == clinic_lines(before["log"])
        assert_same_results(after, {k: v for k, v in before.items() if k != "log"})
        assert any(
            e["kind"] == "results" and "Nothing changed since sync" in e["message"] for e in second["log"]
        )
        # the clinic snapshots are not rewritten (only the new sync's own artifacts are written)
        assert _object_versions(aws, f"store/{aco_id}/clinics/") == versions_before
        clinic_lines = [e["message"] for e in second["log"] if e["kind"] == "clinic"]
        assert len(clinic_lines) == 4
        assert all("0 added or changed, 0 removed" in line for line in clinic_lines), clinic_lines


def _object_versions(aws: LocalAws, prefix: str) -> dict[str, int]:
    paginator = aws.client("s3").get_paginator("list_object_versions")
    counts: dict[str, int] = {}
    for page in paginator.paginate(Bucket=aws.bucket_name(), Prefix=prefix):
        for version in page.get("Versions", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts
