"""Whole executions through the real ASL: the repo's template.yaml run by the local runner's engine
(``aco_sync_local.local_stack.LocalStack``: the local Step Functions interpreter, the handlers
in-process, the state in a temporary state folder). Small data written here."""

from __future__ import annotations

import json
from typing import Any

from aco_sync_local.local_stack import LocalStack

NORTH, SOUTH = "111111111", "222222222"
CLINICS = [{"tin": NORTH, "name": "North Clinic"}, {"tin": SOUTH, "name": "South Clinic"}]
TEMPLATE_HEADER = (
    "measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,npi\n"
)
NORTH_ROWS = [
    "M236,CQM,Ann,Lee,1950-02-03,F,2025-03-01,MET,1234567893",
    "M236,CQM,Bob,Ray,1948-05-06,M,2025-04-01,NOT_MET,1234567893",
]
SOUTH_ROWS = [
    "M236,{ct},ann,LEE,1950-02-03,F,2025-06-01,NOT_MET,1245319599",
    "M236,{ct},Dee,Fox,1955-09-10,F,2025-02-01,MET,1245319599",
]
ROSTER = (
    "mbi,first_name,last_name,birth_date,gender\n"
    "1EG4TE5MK73,Ann,Lee,1950-02-03,F\n"
    "2EG4TE5MK74,Dee,Fox,1955-09-10,F\n"
)


def put(aws: LocalStack, key: str, body: str | bytes) -> None:
    aws.put_object(key, body)


def write_aco(aws: LocalStack, *, mcqm: bool, roster_required: bool = True, aco_id: str = "A1") -> None:
    config = {
        "aco_id": aco_id,
        "performance_year": 2025,
        "member_clinics": CLINICS,
        "roster_required": roster_required,
    }
    put(aws, f"config/acos/{aco_id}.json", json.dumps(config))
    put(aws, f"members/{aco_id}/{NORTH}/providers.csv", "npi,name,active\n1234567893,Dr North,Y\n")
    put(aws, f"members/{aco_id}/{NORTH}/templates/cqm.csv", TEMPLATE_HEADER + "\n".join(NORTH_ROWS) + "\n")
    south = [row.format(ct="MCQM" if mcqm else "CQM") for row in SOUTH_ROWS]
    put(aws, f"members/{aco_id}/{SOUTH}/templates/cqm.csv", TEMPLATE_HEADER + "\n".join(south) + "\n")


def ingest_roster(aws: LocalStack, aco_id: str = "A1") -> dict[str, Any]:
    """Upload the roster and deliver the S3 "Object Created" event as the EventBridge rule does."""
    key = f"rosters/{aco_id}/2025/roster.csv"
    put(aws, key, ROSTER)
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": aws.bucket_name()}, "object": {"key": key}},
    }
    result: dict[str, Any] = aws.invoke("IngestRosterFunction", event)
    return result


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
