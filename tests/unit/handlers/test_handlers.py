"""The thin handlers: event -> pydantic model -> one service call -> small dict; bad events are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.memory import InMemoryWorkflowStarter
from aco_sync.service.common import SyncStatus
from support.handlers import FUNCTIONS_DIR, load_handler
from support.stores import memory_stores, write_config


@pytest.fixture
def stores() -> Stores:
    return memory_stores()


def handler(folder: str, stores: Stores, monkeypatch: pytest.MonkeyPatch) -> Any:
    module = load_handler(folder)
    monkeypatch.setattr(module, "container_stores", lambda: stores)
    return module.lambda_handler


@pytest.mark.parametrize(
    "folder", sorted(p.name for p in FUNCTIONS_DIR.iterdir() if (p / "app.py").is_file())
)
def test_every_handler_module_loads_and_exposes_lambda_handler(folder: str) -> None:
    assert callable(load_handler(folder).lambda_handler)


def test_schedule_event_starts_every_configured_aco(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    write_config(stores, "A1")
    write_config(stores, "B2")
    result = handler("start_sync", stores, monkeypatch)(
        {"all_configured": True, "trigger": "schedule"}, lambda_context
    )
    assert [s["aco_id"] for s in result["started"]] == ["A1", "B2"]
    assert all(s["trigger"] == "schedule" for s in result["started"])
    json.dumps(result)


def test_start_sync_refuses_an_unknown_field(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    with pytest.raises(ValidationError):
        handler("start_sync", stores, monkeypatch)({"aco": "A1"}, lambda_context)


def test_acquire_lock_needs_the_execution_arn(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    with pytest.raises(ValidationError, match="execution_arn"):
        handler("acquire_lock", stores, monkeypatch)({"aco_id": "A1", "sync_id": "s1"}, lambda_context)


def test_lock_handlers_round_trip(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    write_config(stores)
    event = {"aco_id": "A1", "sync_id": "s1", "trigger": "manual", "execution_arn": "arn:e1"}
    assert handler("acquire_lock", stores, monkeypatch)(event, lambda_context)["acquired"] is True
    released = handler("release_lock", stores, monkeypatch)({"aco_id": "A1", "sync_id": "s1"}, lambda_context)
    assert released == {"aco_id": "A1", "sync_id": "s1", "released": True}


def test_record_sync_status_accepts_catch_output_and_refuses_unknown_statuses(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    write_config(stores)
    handler("acquire_lock", stores, monkeypatch)(
        {"aco_id": "A1", "sync_id": "s1", "execution_arn": "arn:e1"}, lambda_context
    )
    record = handler("record_sync_status", stores, monkeypatch)
    with pytest.raises(ValidationError):
        record({"aco_id": "A1", "sync_id": "s1", "status": "Done-ish"}, lambda_context)
    cause = json.dumps({"errorType": "InvalidInputError", "errorMessage": "config/acos/A1.json: bad"})
    result = record(
        {
            "aco_id": "A1",
            "sync_id": "s1",
            "status": "Sync Failed",
            "error": "InvalidInputError",
            "cause": cause,
        },
        lambda_context,
    )
    assert result["status"] == SyncStatus.FAILED
    run = stores.state.get_sync_run("A1", "s1")
    assert run is not None and run.error == "InvalidInputError: config/acos/A1.json: bad"


def test_record_clinic_failure(stores: Stores, monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> None:
    result = handler("record_clinic_failure", stores, monkeypatch)(
        {
            "aco_id": "A1",
            "sync_id": "s1",
            "tin": "111111111",
            "name": "",
            "error": "States.Timeout",
            "cause": None,
        },
        lambda_context,
    )
    assert result == {"tin": "111111111", "name": "", "status": "failed", "reason": "States.Timeout"}
    [clinic] = stores.state.list_clinic_statuses("A1")
    assert (clinic.status, clinic.reason) == ("Sync Failed", "States.Timeout")


def test_ingest_roster_reads_the_eventbridge_object_created_event(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    write_config(stores)
    stores.objects.put(
        "rosters/A1/2025/my roster.csv",
        b"mbi,first_name,last_name,birth_date,gender\n1EG4TE5MK73,Ann,Lee,1950-02-03,F\n",
    )
    event = {
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": "data"},
            "object": {"key": "rosters/A1/2025/my+roster.csv", "size": 70},
        },
    }
    result = handler("ingest_roster", stores, monkeypatch)(event, lambda_context)
    assert result["activated"] is True and result["rows_accepted"] == 1
    assert result["sync"]["trigger"] == "roster_upload"
    assert isinstance(stores.workflows, InMemoryWorkflowStarter) and len(stores.workflows.started) == 1


def test_clinic_stats_worker_reports_bad_messages_as_batch_failures(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    members = {"outcomes": [], "stats": [], "log": []}
    stores.objects.put("store/A1/syncs/s1/members.json", json.dumps(members).encode())
    event = {
        "Records": [
            _sqs_record("m1", {"aco_id": "A1", "sync_id": "s1"}),
            _sqs_record("m2", {"aco_id": "A1", "sync_id": "missing"}),
            _sqs_record("m3", {"nonsense": True}),
        ]
    }
    result = handler("clinic_stats_worker", stores, monkeypatch)(event, lambda_context)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m2", "m3"]
    assert json.loads(stores.objects.get("results/A1/s1/clinic_stats.json")) == []


def _sqs_record(message_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": json.dumps(body),
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:clinic-stats",
        "awsRegion": "us-east-1",
    }
