"""Whole executions through the real ASL: the repo's template.yaml run by the local runner's engine
(``aco_sync_local.local_stack.LocalStack``: the local Step Functions interpreter, the handlers
in-process, the state in a temporary state folder). Small data written here."""

from __future__ import annotations

from typing import Any

from aco_sync_local.local_stack import LocalStack
from support.events import ingest_roster_event
from support.small_aco import CLINICS, NORTH, NORTH_ROWS, ROSTER, ROSTER_KEY, SOUTH, small_aco_files

__all__ = [
    "CLINICS",
    "NORTH",
    "SOUTH",
    "ingest_roster",
    "lock_holder",
    "put",
    "start",
    "states_entered",
    "write_aco",
]


def put(aws: LocalStack, key: str, body: str | bytes) -> None:
    aws.put_object(key, body)


def write_aco(aws: LocalStack, *, mcqm: bool, roster_required: bool = True, aco_id: str = "A1") -> None:
    """The small ACO (tests/support/small_aco.py), North with its two M236 rows."""
    files = small_aco_files(
        mcqm=mcqm, roster_required=roster_required, aco_id=aco_id, north_rows=NORTH_ROWS[:2]
    )
    for key, data in files.items():
        put(aws, key, data)


def ingest_roster(aws: LocalStack, aco_id: str = "A1") -> dict[str, Any]:
    """Upload the roster and deliver the S3 "Object Created" event as the EventBridge rule does."""
    key = ROSTER_KEY.format(aco_id=aco_id)
    put(aws, key, ROSTER)
    return ingest_roster_event(aws, key)


def start(aws: LocalStack, aco_id: str = "A1") -> dict[str, Any]:
    result: dict[str, Any] = aws.invoke("StartSyncFunction", {"aco_id": aco_id})
    return result["started"][0]


def states_entered(aws: LocalStack, execution_arn: str) -> list[str]:
    return [row.state for row in aws.execution_history(execution_arn)]


def lock_holder(aws: LocalStack, aco_id: str = "A1") -> object | None:
    """The ACO's lock in the stack's state file (None: free)."""
    from aco_sync.adapters.environment import STATE_FILE
    from aco_sync.adapters.sqlite import SqliteSyncStateStore

    return SqliteSyncStateStore(aws.state_dir / STATE_FILE).get_lock(aco_id)
