"""Property: whatever the order of triggers, releases and execution endings, the lock has at most one
holder, a trigger is skipped exactly when a RUNNING execution of another sync holds it, and a release
only ever frees the releasing sync's own lock."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aco_sync.adapters.memory import InMemoryWorkflowStarter
from aco_sync.adapters.ports import SyncRun
from aco_sync.service.common import SyncStatus
from aco_sync.service.lock import acquire_lock, release_lock
from support.stores import memory_stores, write_config

SYNCS = [f"sync-{n}" for n in range(4)]
operations = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "release", "end_execution"]),
        st.sampled_from(SYNCS),
        st.sampled_from(["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_lock_model(ops: list[tuple[str, str, str]]) -> None:
    stores = memory_stores()
    write_config(stores)
    assert isinstance(stores.workflows, InMemoryWorkflowStarter)
    for sync_id in SYNCS:
        stores.state.put_sync_run(
            SyncRun(aco_id="A1", sync_id=sync_id, status=SyncStatus.QUEUED, trigger="manual", started="t")
        )
    holder: str | None = None
    for action, sync_id, ending in ops:
        arn = f"arn:{sync_id}"
        if action == "acquire":
            stores.workflows.statuses.setdefault(arn, "RUNNING")
            holder_running = (
                holder is not None and stores.workflows.statuses.get(f"arn:{holder}") == "RUNNING"
            )
            expected = holder is None or holder == sync_id or not holder_running
            result = acquire_lock(stores, aco_id="A1", sync_id=sync_id, trigger="manual", execution_arn=arn)
            assert result["acquired"] is expected
            if expected:
                holder = sync_id
        elif action == "release":
            released = release_lock(stores, aco_id="A1", sync_id=sync_id)["released"]
            assert released is (holder == sync_id)
            if released:
                holder = None
        else:
            stores.workflows.statuses[arn] = ending
        lock = stores.state.get_lock("A1")
        assert (lock.sync_id if lock else None) == holder
