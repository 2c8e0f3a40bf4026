"""Triggers, data validation, status transitions and the status read model."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.memory import InMemoryWorkflowStarter
from aco_sync.adapters.ports import ActiveRoster
from aco_sync.contracts.start_sync import StartSyncInput
from aco_sync.domain.errors import InvalidInputError, MissingRosterError
from aco_sync.service.common import ClinicSyncStatus, SyncStatus, new_sync_id
from aco_sync.service.lock import acquire_aco_lock
from aco_sync.service.start_sync import start_sync, start_syncs
from aco_sync.service.status import latest_sync_status, sync_history
from aco_sync.service.sync_status import describe_error, record_sync_status
from aco_sync.service.validation import list_clinic_batch, validate_roster
from support.stores import MAIN_ARN, memory_stores, write_config

TINS = [{"tin": "111111111", "name": "North"}, {"tin": "222222222", "name": "South"}]


@pytest.fixture
def stores() -> Stores:
    return memory_stores()


def _roster(stores: Stores, aco_id: str = "A1") -> None:
    roster = ActiveRoster(
        aco_id, 2025, "store/r.json", "roster.csv", rows_accepted=2, rows_rejected=0, activated_at="t"
    )
    stores.state.set_active_roster(roster)


def test_schedule_starts_one_execution_per_configured_aco(stores: Stores) -> None:
    write_config(stores, "A1")
    write_config(stores, "B2")
    started = start_syncs(stores, StartSyncInput(all_configured=True, trigger="schedule"))
    assert [s["aco_id"] for s in started] == ["A1", "B2"]
    assert isinstance(stores.workflows, InMemoryWorkflowStarter)
    assert [(arn, payload) for arn, _name, payload in stores.workflows.started] == [
        (MAIN_ARN, {"aco_id": "A1", "sync_id": started[0]["sync_id"], "trigger": "schedule"}),
        (MAIN_ARN, {"aco_id": "B2", "sync_id": started[1]["sync_id"], "trigger": "schedule"}),
    ]
    run = stores.state.get_sync_run("A1", started[0]["sync_id"])
    assert run is not None and run.status == SyncStatus.QUEUED and run.trigger == "schedule"


def test_start_request_needs_exactly_one_target() -> None:
    with pytest.raises(ValidationError):
        StartSyncInput()
    with pytest.raises(ValidationError):
        StartSyncInput(aco_id="A1", all_configured=True)


def test_unknown_aco_is_refused_with_the_config_key(stores: Stores) -> None:
    with pytest.raises(InvalidInputError, match=r"config/acos/NOPE\.json"):
        start_sync(stores, aco_id="NOPE", trigger="manual")


def test_invalid_config_says_which_field(stores: Stores) -> None:
    stores.objects.put("config/acos/A1.json", json.dumps({"aco_id": "A1", "performance_year": 1900}).encode())
    with pytest.raises(InvalidInputError, match="performance_year"):
        validate_roster(stores, aco_id="A1", sync_id="s")


def test_sync_ids_sort_by_time_and_are_unique() -> None:
    ids = [new_sync_id() for _ in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50


def test_validation_aborts_without_roster(stores: Stores) -> None:
    write_config(stores, member_clinics=TINS)
    with pytest.raises(MissingRosterError, match="no active Medicare roster for performance year 2025"):
        validate_roster(stores, aco_id="A1", sync_id="s1")
    assert any(e.kind == "abort" for e in stores.state.list_log("A1", "s1"))


def test_validation_without_required_roster_lists_clinics_and_queues_them(stores: Stores) -> None:
    write_config(stores, member_clinics=TINS, roster_required=False)
    result = validate_roster(stores, aco_id="A1", sync_id="s1")
    assert result["clinic_count"] == len(TINS) and result["has_active_roster"] is False
    assert list_clinic_batch(stores, aco_id="A1", sync_id="s1", batch=0)["clinics"] == TINS
    assert {c.status for c in stores.state.list_clinic_statuses("A1")} == {ClinicSyncStatus.QUEUED}


def test_validation_discovers_clinic_folders_when_none_are_configured(stores: Stores) -> None:
    write_config(stores)
    _roster(stores)
    stores.objects.put("members/A1/333333333/templates/a.csv", b"x")
    stores.objects.put("members/A1/111111111/providers.csv", b"x")
    stores.objects.put("members/A1/notatin/readme.txt", b"x")
    result = validate_roster(stores, aco_id="A1", sync_id="s1")
    assert result["batch_count"] == 1
    # the distributed Map's items: the batch manifest in the bucket, not the state
    assert result["batch_manifest_key"] == "store/A1/syncs/s1/clinic-batches.json"
    assert json.loads(stores.objects.get(result["batch_manifest_key"])) == [{"batch": 0}]
    clinics = list_clinic_batch(stores, aco_id="A1", sync_id="s1", batch=0)["clinics"]
    assert [c["tin"] for c in clinics] == ["111111111", "333333333"]
    assert result["roster_key"] == "store/r.json"


def test_validation_without_any_clinic_fails_clearly(stores: Stores) -> None:
    write_config(stores, roster_required=False)
    with pytest.raises(InvalidInputError, match="no member clinics"):
        validate_roster(stores, aco_id="A1", sync_id="s1")


def test_describe_error_reads_the_lambda_error_document() -> None:
    cause = json.dumps(
        {"errorMessage": "TIN 1 has no files", "errorType": "InvalidInputError", "stackTrace": []}
    )
    assert describe_error("InvalidInputError", cause) == "InvalidInputError: TIN 1 has no files"
    assert describe_error("States.Timeout", None) == "States.Timeout"
    assert describe_error(None, "plain text") == "plain text"


def test_failure_records_error_and_fails_unfinished_clinics(stores: Stores) -> None:
    write_config(stores, member_clinics=TINS, roster_required=False)
    sync_id = start_sync(stores, aco_id="A1", trigger="manual")["sync_id"]
    acquire_aco_lock(stores, aco_id="A1", sync_id=sync_id, trigger="manual", execution_arn="arn:e")
    validate_roster(stores, aco_id="A1", sync_id=sync_id)
    record_sync_status(
        stores,
        aco_id="A1",
        sync_id=sync_id,
        status=SyncStatus.FAILED,
        error="TransientStoreError",
        cause=json.dumps({"errorMessage": "DynamoDB put: ThrottlingException"}),
    )
    status = latest_sync_status("A1", store=stores)
    assert status["sync"]["status"] == "Sync Failed"
    assert status["sync"]["error"] == "TransientStoreError: DynamoDB put: ThrottlingException"
    assert {c["status"] for c in status["clinics"]} == {"Sync Failed"}
    assert all("ThrottlingException" in c["reason"] for c in status["clinics"])


def _sync_handed_to_the_mcqm_job(stores: Stores) -> str:
    """A manual sync of A1 whose main execution (arn:main) handed over to the MCQM job (arn:mcqm)."""
    write_config(stores)
    sync_id: str = start_sync(stores, aco_id="A1", trigger="manual")["sync_id"]
    acquire_aco_lock(stores, aco_id="A1", sync_id=sync_id, trigger="manual", execution_arn="arn:main")
    record_sync_status(
        stores, aco_id="A1", sync_id=sync_id, status=SyncStatus.MCQM_RUNNING, execution_arn="arn:mcqm"
    )
    return sync_id


def test_mcqm_queued_moves_the_lock_and_never_moves_status_backwards(stores: Stores) -> None:
    sync_id = _sync_handed_to_the_mcqm_job(stores)
    assert stores.state.get_lock("A1").execution_arn == "arn:mcqm"  # type: ignore[union-attr]
    record_sync_status(
        stores, aco_id="A1", sync_id=sync_id, status=SyncStatus.MCQM_QUEUED, execution_arn="arn:mcqm"
    )
    run = stores.state.get_sync_run("A1", sync_id)
    assert run is not None and run.status == SyncStatus.MCQM_RUNNING
    assert run.execution_arns == ["arn:main", "arn:mcqm"]


def test_status_shows_latest_non_skipped_sync_and_later_skips(stores: Stores) -> None:
    write_config(stores)
    first = start_sync(stores, aco_id="A1", trigger="manual")["sync_id"]
    second = start_sync(stores, aco_id="A1", trigger="schedule")["sync_id"]
    assert isinstance(stores.workflows, InMemoryWorkflowStarter)
    stores.workflows.statuses["arn:first"] = "RUNNING"
    acquire_aco_lock(stores, aco_id="A1", sync_id=first, trigger="manual", execution_arn="arn:first")
    acquire_aco_lock(stores, aco_id="A1", sync_id=second, trigger="schedule", execution_arn="arn:second")
    stores.state.put_measure_results("A1", first, [{"measure_id": "M001", "collection_type": "CQM"}])
    record_sync_status(stores, aco_id="A1", sync_id=first, status=SyncStatus.COMPLETE)
    status = latest_sync_status("A1", store=stores)
    assert status["sync"]["id"] == first and status["sync"]["status"] == "Sync Complete"
    assert status["results_prefix"] == f"results/A1/{first}/"
    assert status["measures"] == [{"measure_id": "M001", "collection_type": "CQM"}]
    assert [s["id"] for s in status["skipped_triggers"]] == [second]
    assert [h["id"] for h in sync_history("A1", store=stores)] == [second, first]
    json.dumps(status)  # JSON-able


def test_status_of_an_aco_without_syncs(stores: Stores) -> None:
    assert latest_sync_status("NONE", store=stores) == {
        "aco_id": "NONE",
        "sync": None,
        "clinics": [],
        "measures": [],
        "log": [],
        "results_prefix": None,
        "skipped_triggers": [],
    }


def test_a_late_mcqm_queued_step_never_overwrites_a_finished_sync(stores: Stores) -> None:
    sync_id = _sync_handed_to_the_mcqm_job(stores)
    record_sync_status(stores, aco_id="A1", sync_id=sync_id, status=SyncStatus.COMPLETE)
    stores.state.release_lock("A1", sync_id)
    record_sync_status(
        stores, aco_id="A1", sync_id=sync_id, status=SyncStatus.MCQM_QUEUED, execution_arn="arn:mcqm"
    )
    run = stores.state.get_sync_run("A1", sync_id)
    assert run is not None and run.status == SyncStatus.COMPLETE
    assert stores.state.get_lock("A1") is None
    assert (
        stores.state.list_log("A1", sync_id)[-1].message
        == "MCQM Sync Queued (the MCQM job had already started)"
    )


def test_schedule_reports_an_invalid_aco_and_still_starts_the_others(stores: Stores) -> None:
    write_config(stores, "A1")
    stores.objects.put("config/acos/B2.json", b"{not json")
    write_config(stores, "C3")
    started = start_syncs(stores, StartSyncInput(all_configured=True, trigger="schedule"))
    assert [s["aco_id"] for s in started] == ["A1", "B2", "C3"]
    assert "sync_id" in started[0] and "sync_id" in started[2]
    assert "config/acos/B2.json: invalid ACO configuration" in started[1]["error"]
