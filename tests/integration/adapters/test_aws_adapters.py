"""The boto3 adapters against moto: the lock's conditional writes, sync runs, log order, encounters,
providers, roster pointer, S3 objects, Step Functions status and SQS messages."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from aco_sync.adapters import ports
from aco_sync.adapters.aws import (
    DynamoDbSyncStateStore,
    S3ObjectStore,
    StepFunctionsWorkflowStarter,
    transient_errors_as_domain_errors,
)
from aco_sync.domain.errors import TransientStoreError
from aco_sync.domain.records import Provider, SyncLogEntry
from support.stores import moto_dynamodb_state_store

REGION = "us-east-1"


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def table(aws) -> DynamoDbSyncStateStore:
    return moto_dynamodb_state_store(REGION)


def holder(sync_id: str, arn: str = "arn:exec:1") -> ports.LockHolder:
    return ports.LockHolder(
        aco_id="A1", sync_id=sync_id, execution_arn=arn, acquired_at="2026-01-01T00:00:00Z"
    )


def test_lock_is_exclusive_and_can_be_taken_over_only_from_the_named_holder(
    table: DynamoDbSyncStateStore,
) -> None:
    assert table.try_acquire_lock(holder("s1", "arn:exec:1"))
    assert not table.try_acquire_lock(holder("s2", "arn:exec:2"))
    assert not table.try_acquire_lock(holder("s2", "arn:exec:2"), replacing_execution_arn="arn:exec:other")
    assert table.try_acquire_lock(holder("s2", "arn:exec:2"), replacing_execution_arn="arn:exec:1")
    lock = table.get_lock("A1")
    assert lock is not None and lock.sync_id == "s2"


def test_lock_moves_and_releases_only_for_its_sync(table: DynamoDbSyncStateStore) -> None:
    assert table.try_acquire_lock(holder("s1"))
    assert not table.move_lock("A1", "other", "arn:mcqm")
    assert table.move_lock("A1", "s1", "arn:mcqm")
    assert table.get_lock("A1").execution_arn == "arn:mcqm"  # type: ignore[union-attr]
    assert not table.release_lock("A1", "other")
    assert table.release_lock("A1", "s1")
    assert table.get_lock("A1") is None
    assert not table.release_lock("A1", "s1")


def test_sync_runs_newest_first_and_updates(table: DynamoDbSyncStateStore) -> None:
    for sync_id in ("sync-1", "sync-3", "sync-2"):
        table.put_sync_run(
            ports.SyncRun(aco_id="A1", sync_id=sync_id, status="Sync Queued", trigger="manual", started="t")
        )
    table.update_sync_run("A1", "sync-2", status="Sync Complete", counts={"records": 4})
    runs = table.list_sync_runs("A1")
    assert [r.sync_id for r in runs] == ["sync-3", "sync-2", "sync-1"]
    assert runs[1].status == "Sync Complete" and runs[1].counts == {"records": 4}
    assert table.list_sync_runs("A1", limit=1)[0].sync_id == "sync-3"
    with pytest.raises(KeyError):
        table.update_sync_run("A1", "missing", status="x")


def test_log_keeps_append_order(table: DynamoDbSyncStateStore) -> None:
    table.append_log(
        "A1", "s1", [SyncLogEntry(kind="a", message="first"), SyncLogEntry(kind="b", message="second")]
    )
    table.append_log("A1", "s1", [SyncLogEntry(kind="c", message="third", tin="123456789", line=4)])
    log = table.list_log("A1", "s1")
    assert [e.message for e in log] == ["first", "second", "third"]
    assert log[2].tin == "123456789" and log[2].line == 4


def test_clinics_results_encounters_providers_and_roster(table: DynamoDbSyncStateStore) -> None:
    table.put_clinic_status("A1", ports.ClinicStatus(tin="111111111", status="Sync Running"))
    table.put_clinic_status(
        "A1", ports.ClinicStatus(tin="111111111", status="Sync Complete", last_synced="t")
    )
    assert [(c.tin, c.status) for c in table.list_clinic_statuses("A1")] == [("111111111", "Sync Complete")]

    table.put_measure_results(
        "A1", "s1", [{"measure_id": "M001", "collection_type": "CQM", "performance_rate": 50.5}]
    )
    assert table.list_measure_results("A1", "s1")[0]["performance_rate"] == 50.5

    encounters = [
        ports.AggregateEncounter(
            tin=t,
            source_key=f"k{i}",
            content_hash="h",
            source_file="f.csv",
            measure_id="M001",
            collection_type="CQM",
        )
        for i, t in enumerate(["111111111", "111111111", "222222222"])
    ]
    assert table.put_aggregate_encounters("A1", encounters) == 3
    assert len(table.aggregate_encounters("A1")) == 3
    assert {e.source_key for e in table.aggregate_encounters("A1", "111111111")} == {"k0", "k1"}
    assert table.delete_aggregate_encounters("A1", "111111111", ["k0"]) == 1
    assert {e.source_key for e in table.aggregate_encounters("A1", "111111111")} == {"k1"}
    table.delete_aggregate_encounters("A1", "111111111", ["k1"])
    assert [(e.tin, e.source_key) for e in table.aggregate_encounters("A1")] == [("222222222", "k2")]
    assert table.aggregate_encounters("A1", "222222222")[0] == encounters[2]

    table.put_providers("A1", [Provider(tin="111111111", npi="1234567893", name="Dr A")])
    assert table.list_providers("A1") == [Provider(tin="111111111", npi="1234567893", name="Dr A")]
    table.delete_providers("A1", table.list_providers("A1"))
    assert table.list_providers("A1") == []

    roster = ports.ActiveRoster(
        "A1", 2025, "store/x.json", "r.csv", rows_accepted=3, rows_rejected=1, activated_at="t"
    )
    assert table.get_active_roster("A1", 2025) is None
    table.set_active_roster(roster)
    assert table.get_active_roster("A1", 2025) == roster


def test_s3_object_store(aws) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="data")
    store = S3ObjectStore("data", client=s3)
    store.put("a/1.txt", b"one")
    store.put("a/2.txt", b"two")
    store.put("b/3.txt", b"three")
    assert store.get("a/2.txt") == b"two"
    assert store.list_keys("a/") == ["a/1.txt", "a/2.txt"]
    store.delete("a/1.txt")
    assert store.list_keys("a/") == ["a/2.txt"]
    with pytest.raises(ports.ObjectNotFoundError):
        store.get("a/1.txt")


def test_workflow_starter_and_queue(aws) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="m",
        roleArn=role,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    starter = StepFunctionsWorkflowStarter(client=sfn)
    arn = starter.start(machine, "sync-1", {"aco_id": "A1"})
    assert arn.endswith(":sync-1")
    assert starter.execution_status(arn) in {"RUNNING", "SUCCEEDED"}
    assert starter.execution_status(arn.replace("sync-1", "nope")) is None


def test_throttling_becomes_transient_store_error_but_other_errors_do_not() -> None:
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")
    with (
        pytest.raises(TransientStoreError, match="ThrottlingException"),
        transient_errors_as_domain_errors("put"),
    ):
        raise throttled
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutItem")
    with pytest.raises(ClientError), transient_errors_as_domain_errors("put"):
        raise denied


def test_sync_run_updates_are_conditional_and_versioned(table: DynamoDbSyncStateStore) -> None:
    table.put_sync_run(
        ports.SyncRun(aco_id="A1", sync_id="s1", status="Sync Running", trigger="manual", started="t")
    )
    assert not table.update_sync_run("A1", "s1", only_if_status="Sync Queued", status="MCQM Sync Queued")
    assert table.update_sync_run("A1", "s1", only_if_status="Sync Running", status="MCQM Sync Queued")
    assert table.update_sync_run("A1", "s1", status="Sync Complete", execution_arns=["a", "b"])
    assert not table.update_sync_run("A1", "s1", only_if_status="Sync Running", status="MCQM Sync Queued")
    run = table.get_sync_run("A1", "s1")
    assert run is not None and run.status == "Sync Complete" and run.execution_arns == ["a", "b"]
    raw = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName="state", Key={"PK": {"S": "ACO#A1"}, "SK": {"S": "SYNC#s1"}}
    )["Item"]
    assert raw["version"] == {"N": "2"} and raw["status"] == {"S": "Sync Complete"}


def test_runtime_settings_come_from_the_environment() -> None:
    from aco_sync.adapters.environment import RuntimeSettings

    settings = RuntimeSettings.from_env({"TABLE_NAME": "t", "BUCKET_NAME": "b"})
    assert (settings.table_name, settings.bucket_name) == ("t", "b")
    with pytest.raises(RuntimeError, match="TABLE_NAME and BUCKET_NAME not set"):
        RuntimeSettings.from_env({})


def test_handlers_stores_are_built_once_per_container_and_per_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aco_sync.adapters.environment import (
        LOCAL_STATE_DIR_VARIABLE,
        container_stores,
        reset_container_stores,
    )

    monkeypatch.setenv(LOCAL_STATE_DIR_VARIABLE, str(tmp_path / "aco-a"))
    first = container_stores()
    assert container_stores() is first  # a warm container reuses its stores (and boto3 clients)
    monkeypatch.setenv(LOCAL_STATE_DIR_VARIABLE, str(tmp_path / "aco-b"))
    other = container_stores()  # the local runner's next ACO has its own state folder
    assert other is not first
    first.objects.put("x/y.txt", b"a")
    assert other.objects.list_keys("x/") == []
    reset_container_stores()
    assert container_stores() is not other


def test_encounter_index_is_bucketed_and_updates_only_touched_buckets(table: DynamoDbSyncStateStore) -> None:
    from aco_sync.adapters.aws import ENCOUNTER_BUCKETS, encounter_bucket

    encounters = [
        ports.AggregateEncounter("111111111", f"111111111:tpl:{i}", f"h{i}", "templates/a.csv", "M001", "CQM")
        for i in range(2000)
    ]
    assert table.put_aggregate_encounters("A1", encounters) == 2000
    client = boto3.client("dynamodb", region_name=REGION)
    items = client.query(
        TableName="state",
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "ENC#A1#111111111"}},
    )["Items"]
    assert len(items) <= ENCOUNTER_BUCKETS and sum(int(i["n"]["N"]) for i in items) == 2000
    assert {e.source_key: e.content_hash for e in table.aggregate_encounters("A1")} == {
        e.source_key: e.content_hash for e in encounters
    }

    changed = ports.AggregateEncounter(
        "111111111", "111111111:tpl:7", "new", "templates/a.csv", "M001", "CQM"
    )
    before = {i["SK"]["S"]: i["d"] for i in items}
    table.put_aggregate_encounters("A1", [changed])
    after = {
        i["SK"]["S"]: i["d"]
        for i in client.query(
            TableName="state",
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": "ENC#A1#111111111"}},
        )["Items"]
    }
    assert [k for k in after if after[k] != before[k]] == [encounter_bucket(changed.source_key)]

    assert (
        table.delete_aggregate_encounters("A1", "111111111", [e.source_key for e in encounters[:1500]])
        == 1500
    )
    assert len(table.aggregate_encounters("A1", "111111111")) == 500
    assert table.delete_aggregate_encounters("A1", "111111111", ["not-there"]) == 0
