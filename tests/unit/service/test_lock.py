"""The per-ACO lock: acquire, skip while held by a running execution, take over a stale lock."""

from __future__ import annotations

import pytest

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.memory import InMemoryWorkflowStarter
from aco_sync.service.common import SyncStatus
from aco_sync.service.lock import acquire_lock, release_lock
from aco_sync.service.start_sync import start_sync
from support.stores import memory_stores, write_config

EXEC = "arn:aws:states:us-east-1:123456789012:execution:aco-sync:"


@pytest.fixture
def stores() -> Stores:
    return memory_stores()


def _start(stores: Stores) -> str:
    return str(start_sync(stores, aco_id="A1", trigger="manual")["sync_id"])


def test_first_sync_acquires_and_is_running(stores: Stores) -> None:
    write_config(stores)
    sync_id = _start(stores)
    result = acquire_lock(
        stores, aco_id="A1", sync_id=sync_id, trigger="manual", execution_arn=EXEC + sync_id
    )
    assert result["acquired"] is True
    assert stores.state.get_lock("A1").sync_id == sync_id  # type: ignore[union-attr]
    run = stores.state.get_sync_run("A1", sync_id)
    assert run is not None and run.status == SyncStatus.RUNNING and run.execution_arns == [EXEC + sync_id]


def test_second_trigger_is_skipped_and_recorded_while_the_holder_runs(stores: Stores) -> None:
    write_config(stores)
    first, second = _start(stores), _start(stores)
    assert isinstance(stores.workflows, InMemoryWorkflowStarter)
    stores.workflows.statuses[EXEC + first] = "RUNNING"
    acquire_lock(stores, aco_id="A1", sync_id=first, trigger="manual", execution_arn=EXEC + first)
    result = acquire_lock(
        stores, aco_id="A1", sync_id=second, trigger="schedule", execution_arn=EXEC + second
    )
    assert result == {"acquired": False, "aco_id": "A1", "sync_id": second, "held_by": first}
    run = stores.state.get_sync_run("A1", second)
    assert run is not None and run.status == "Skipped: Already Running" and run.finished
    assert any(e.kind == "skip" and first in e.message for e in stores.state.list_log("A1", second))
    assert stores.state.get_lock("A1").sync_id == first  # type: ignore[union-attr]


def test_lock_held_by_the_pending_mcqm_job_also_skips(stores: Stores) -> None:
    write_config(stores)
    first, second = _start(stores), _start(stores)
    acquire_lock(stores, aco_id="A1", sync_id=first, trigger="manual", execution_arn=EXEC + first)
    stores.state.move_lock("A1", first, EXEC + first + "-mcqm")
    assert isinstance(stores.workflows, InMemoryWorkflowStarter)
    stores.workflows.statuses[EXEC + first] = "SUCCEEDED"  # the main execution ended ...
    stores.workflows.statuses[EXEC + first + "-mcqm"] = "RUNNING"  # ... its MCQM job runs
    assert (
        acquire_lock(stores, aco_id="A1", sync_id=second, trigger="manual", execution_arn=EXEC + second)[
            "acquired"
        ]
        is False
    )


def test_stale_lock_is_taken_over_and_the_stale_sync_marked_failed(stores: Stores) -> None:
    write_config(stores)
    stale, fresh = _start(stores), _start(stores)
    acquire_lock(stores, aco_id="A1", sync_id=stale, trigger="manual", execution_arn=EXEC + stale)
    assert isinstance(stores.workflows, InMemoryWorkflowStarter)
    stores.workflows.statuses[EXEC + stale] = "TIMED_OUT"
    result = acquire_lock(stores, aco_id="A1", sync_id=fresh, trigger="manual", execution_arn=EXEC + fresh)
    assert result["acquired"] is True and result["took_over_from"] == stale
    assert stores.state.get_lock("A1").sync_id == fresh  # type: ignore[union-attr]
    old = stores.state.get_sync_run("A1", stale)
    assert old is not None and old.status == SyncStatus.FAILED and "TIMED_OUT" in (old.error or "")
    assert any("stale lock" in e.message for e in stores.state.list_log("A1", fresh))


def test_lock_whose_execution_is_unknown_is_stale(stores: Stores) -> None:
    write_config(stores)
    stale, fresh = _start(stores), _start(stores)
    acquire_lock(stores, aco_id="A1", sync_id=stale, trigger="manual", execution_arn="arn:gone")
    assert acquire_lock(stores, aco_id="A1", sync_id=fresh, trigger="manual", execution_arn=EXEC + fresh)[
        "acquired"
    ]


def test_acquire_is_idempotent_for_a_lambda_retry(stores: Stores) -> None:
    write_config(stores)
    sync_id = _start(stores)
    assert isinstance(stores.workflows, InMemoryWorkflowStarter)
    stores.workflows.statuses[EXEC + sync_id] = "RUNNING"
    for _ in range(2):
        assert acquire_lock(
            stores, aco_id="A1", sync_id=sync_id, trigger="manual", execution_arn=EXEC + sync_id
        )["acquired"]


def test_release_only_frees_the_own_lock(stores: Stores) -> None:
    write_config(stores)
    sync_id = _start(stores)
    acquire_lock(stores, aco_id="A1", sync_id=sync_id, trigger="manual", execution_arn=EXEC + sync_id)
    assert release_lock(stores, aco_id="A1", sync_id="someone-else")["released"] is False
    assert stores.state.get_lock("A1") is not None
    assert release_lock(stores, aco_id="A1", sync_id=sync_id)["released"] is True
    assert stores.state.get_lock("A1") is None
