"""Whole executions through the real ASL: the repo's template.yaml deployed into moto by the local
runner (``aco_sync_local.local_aws.LocalAws``), handlers run in-process. Small data written here."""

from __future__ import annotations

from typing import Any

from aco_sync_local.local_aws import LocalAws
from support.small_aco import CLINICS, NORTH, NORTH_ROWS, ROSTER, ROSTER_KEY, SOUTH, small_aco_files

__all__ = ["CLINICS", "NORTH", "SOUTH", "ingest_roster", "put", "start", "states_entered", "write_aco"]


def put(aws: LocalAws, key: str, body: str | bytes) -> None:
    data = body.encode() if isinstance(body, str) else body
    aws.client("s3").put_object(Bucket=aws.bucket_name(), Key=key, Body=data)


def write_aco(aws: LocalAws, *, mcqm: bool, roster_required: bool = True, aco_id: str = "A1") -> None:
    """The small ACO (tests/support/small_aco.py), North with its two M236 rows."""
    files = small_aco_files(
        mcqm=mcqm, roster_required=roster_required, aco_id=aco_id, north_rows=NORTH_ROWS[:2]
    )
    for key, data in files.items():
        put(aws, key, data)


def ingest_roster(aws: LocalAws, aco_id: str = "A1") -> dict[str, Any]:
    """Upload the roster and deliver the S3 "Object Created" event as the EventBridge rule does."""
    key = ROSTER_KEY.format(aco_id=aco_id)
    put(aws, key, ROSTER)
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": aws.bucket_name()}, "object": {"key": key}},
    }
    result: dict[str, Any] = aws.invoke("IngestRosterFunction", event)
    return result


def start(aws: LocalAws, aco_id: str = "A1") -> dict[str, Any]:
    result: dict[str, Any] = aws.invoke("StartSyncFunction", {"aco_id": aco_id})
    return result["started"][0]


def states_entered(aws: LocalAws, execution_arn: str) -> list[str]:
    return [row.state for row in aws.execution_history(execution_arn)]
