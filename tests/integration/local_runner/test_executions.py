"""Whole executions of the tiny stack through moto: every moto patch exercised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aco_sync_local.local_aws import ExecutionSummary, LocalAws, LocalFunctionError


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    template = Path(__file__).resolve().parent / "fixtures" / "template.yaml"
    with LocalAws(template, fast_retries=True) as local:
        yield local


def run(aws: LocalAws, payload: dict[str, Any]) -> tuple[str, ExecutionSummary]:
    arn = aws.start_execution("MainStateMachine", {"start_child": False, "clinics": [], **payload})
    aws.wait_for_executions(timeout=30)
    return arn, aws.describe_execution(arn)


def item(aws: LocalAws, pk: str) -> dict[str, Any] | None:
    table = aws.deployment.physical_id("Table")
    return (
        aws.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "-"}}).get("Item")
    )


def test_transient_error_is_retried_by_its_class_name_until_it_succeeds(aws: LocalAws) -> None:
    arn, execution = run(aws, {"aco_id": "RETRY", "validate": "flaky:2"})

    assert execution.status == "SUCCEEDED"
    assert execution.output["validation"]["status"] == "ok"
    assert item(aws, "attempts#RETRY") == {
        "pk": {"S": "attempts#RETRY"},
        "sk": {"S": "-"},
        "attempts": {"N": "3"},
    }
    validate = aws.execution_history(arn)[0]
    assert (validate.state, validate.type, validate.status, validate.retries) == (
        "Validate",
        "Task",
        "Succeeded",
        2,
    )
    assert validate.error is None


def test_domain_error_is_caught_by_its_class_name(aws: LocalAws) -> None:
    arn, execution = run(aws, {"aco_id": "NOROSTER", "validate": "missing_roster"})

    assert execution.status == "SUCCEEDED"
    assert execution.output["status"] == "aborted"
    assert '"errorMessage":"ACO NOROSTER has no active roster"' in execution.output["reason"]
    rows = aws.execution_history(arn)
    assert [(r.state, r.status, r.error) for r in rows] == [
        ("Validate", "Caught", "MissingRosterError"),
        ("Aborted", "Succeeded", None),
    ]
    assert "ACO NOROSTER has no active roster" in (rows[0].cause or "")


def test_other_exceptions_fall_through_to_states_all(aws: LocalAws) -> None:
    arn, execution = run(aws, {"aco_id": "BOOM", "validate": "boom"})

    assert execution.status == "FAILED"
    assert (execution.error, execution.cause) == ("SyncFailed", "validation failed")
    rows = aws.execution_history(arn)
    assert (rows[0].state, rows[0].status, rows[0].error) == ("Validate", "Caught", "RuntimeError")
    assert (rows[-1].status, rows[-1].error) == ("Failed", "SyncFailed")
    assert rows[-1].state == "Failed"


def test_map_keeps_other_clinics_when_one_fails_and_retries_inside_iterations(aws: LocalAws) -> None:
    clinics = [
        {"tin": "111111111", "action": "ok"},
        {"tin": "222222222", "action": "boom"},
        {"tin": "333333333", "action": "flaky:1"},
    ]
    arn, execution = run(aws, {"aco_id": "MAP", "validate": "ok", "clinics": clinics})

    assert execution.status == "SUCCEEDED"
    assert execution.output["clinic_results"] == [
        {"tin": "111111111", "status": "ok", "greeting": "hello-local"},
        {"tin": "222222222", "status": "failed", "error": "RuntimeError"},
        {"tin": "333333333", "status": "ok", "greeting": "hello-local"},
    ]
    assert item(aws, "done#111111111") is not None
    assert item(aws, "done#333333333") is not None
    assert item(aws, "done#222222222") is None
    rows = aws.execution_history(arn)
    clinic_rows = [r for r in rows if r.state == "SyncClinic"]
    assert sorted((r.iteration, r.depth, r.status, r.error, r.retries) for r in clinic_rows) == [
        (0, 1, "Succeeded", None, 0),
        (1, 1, "Caught", "RuntimeError", 0),
        (2, 1, "Succeeded", None, 1),
    ]
    assert [(r.iteration, r.depth) for r in rows if r.state == "ClinicFailed"] == [(1, 1)]
    assert [(r.state, r.iteration, r.depth) for r in rows if r.depth == 0] == [
        ("Validate", None, 0),
        ("SyncClinics", None, 0),
        ("StartChild?", None, 0),
        ("Notify", None, 0),
    ]


def test_start_execution_integration_starts_the_second_machine(aws: LocalAws) -> None:
    arn, execution = run(aws, {"aco_id": "CHILD", "validate": "ok", "start_child": True})

    assert execution.status == "SUCCEEDED"
    child_arn = execution.output["child"]["child_arn"]
    assert not child_arn.endswith(":None")
    child = aws.describe_execution(child_arn)
    assert (child.state_machine, child.status, child.input) == (
        "ChildStateMachine",
        "SUCCEEDED",
        {"aco_id": "CHILD"},
    )
    assert item(aws, "child#CHILD") is not None
    states = [r.state for r in aws.execution_history(arn)]
    assert states == ["Validate", "SyncClinics", "StartChild?", "StartChild", "Notify"]


def test_unnamed_executions_started_by_a_handler_do_not_collide(aws: LocalAws) -> None:
    first = aws.invoke(
        "StartFunction", {"aco_id": "UNNAMED1", "validate": "ok", "clinics": [], "start_child": False}
    )
    second = aws.invoke(
        "StartFunction", {"aco_id": "UNNAMED2", "validate": "ok", "clinics": [], "start_child": False}
    )
    aws.wait_for_executions(timeout=30)

    arns = [first["execution_arn"], second["execution_arn"]]
    assert arns[0] != arns[1]
    assert not any(arn.endswith(":None") for arn in arns)
    assert [aws.describe_execution(arn).status for arn in arns] == ["SUCCEEDED", "SUCCEEDED"]
    assert item(aws, "done#UNNAMED1") is not None and item(aws, "done#UNNAMED2") is not None


def test_send_message_integration_and_queue_trigger(aws: LocalAws) -> None:
    run(aws, {"aco_id": "QUEUE", "validate": "ok"})

    assert aws.drain_queues() >= 1
    table = aws.deployment.physical_id("Table")
    queued = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "queued#QUEUE"}},
    )["Items"]
    assert [i["kind"]["S"] for i in queued] == ["clinic-stats"]
    assert aws.drain_queues() == 0


def test_invoke_returns_the_result_or_raises_with_the_error_type(aws: LocalAws) -> None:
    assert aws.invoke("StepFunction", {"aco_id": "DIRECT"}) == {
        "tin": "DIRECT",
        "status": "ok",
        "greeting": "hello-local",
    }
    assert aws.invoke("RecordFunction", {"source": "direct", "aco_id": "X"}) == {"recorded": True}
    with pytest.raises(LocalFunctionError) as raised:
        aws.invoke("StepFunction", {"aco_id": "DIRECT", "action": "missing_roster"})
    assert raised.value.error_type == "MissingRosterError"
    assert raised.value.error_message == "ACO DIRECT has no active roster"


def test_upload_folder_and_download_prefix_round_trip(aws: LocalAws, tmp_path: Path) -> None:
    source = tmp_path / "bucket"
    (source / "members" / "A1" / "123456789").mkdir(parents=True)
    (source / "members" / "A1" / "123456789" / "providers.csv").write_text("npi,name,active\n1,Dr A,Y\n")
    (source / "config" / "acos").mkdir(parents=True)
    (source / "config" / "acos" / "A1.json").write_text("{}")
    (source / ".DS_Store").write_text("junk")

    keys = aws.upload_folder(source)

    assert keys == ["config/acos/A1.json", "members/A1/123456789/providers.csv"]
    written = aws.download_prefix("members/A1/", tmp_path / "out")
    assert written == [(tmp_path / "out" / "123456789" / "providers.csv").resolve()]
    assert written[0].read_text() == "npi,name,active\n1,Dr A,Y\n"


def test_asynchronous_invocation_runs_the_handler_in_the_background(aws: LocalAws) -> None:
    import json
    import time

    response = aws.client("lambda").invoke(
        FunctionName=aws.deployment.physical_id("StepFunction"),
        InvocationType="Event",
        Payload=json.dumps({"aco_id": "ASYNC"}).encode(),
    )

    assert response["StatusCode"] == 202
    for _ in range(200):  # the handler runs on a thread: poll for its effect
        if item(aws, "done#ASYNC") is not None:
            break
        time.sleep(0.02)
    assert item(aws, "done#ASYNC") == {
        "pk": {"S": "done#ASYNC"},
        "sk": {"S": "-"},
        "function": {"S": aws.deployment.physical_id("StepFunction")},
    }
