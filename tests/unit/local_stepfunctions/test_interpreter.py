"""The local Step Functions interpreter on small ASL documents: what it runs as AWS does (paths,
Retry/Catch, Lambda error names, Map concurrency, distributed Map with an ItemReader, limits) and what
it refuses when the state machine is loaded."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from aco_sync_local.stepfunctions import LocalStepFunctions, Services, UnsupportedAslError, check_definition

FN = "arn:aws:lambda:us-east-1:123456789012:function:"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:test"


class Functions:
    """Fake Lambda functions by name: a callable per function; an exception becomes the error payload."""

    def __init__(self, **handlers: Any) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, Any, bool]] = []
        self.lock = threading.Lock()

    def invoke(self, arn: str, event: Any, in_map: bool) -> tuple[bytes, bool]:
        name = arn.rsplit(":", 1)[-1]
        with self.lock:
            self.calls.append((name, event, in_map))
        try:
            return json.dumps(self.handlers[name](event)).encode(), False
        except Exception as exc:
            payload = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": ["line 1"]}
            return json.dumps(payload).encode(), True


def run(
    definition: dict[str, Any], payload: Any, functions: Functions, objects: dict[str, bytes] | None = None
) -> Any:
    sent: list[tuple[str, Any]] = []
    sfn = LocalStepFunctions(
        {MACHINE: definition},
        Services(
            invoke_lambda=functions.invoke,
            send_message=lambda url, body: sent.append((url, body)) or "m-1",
            read_object=lambda bucket, key: (objects or {})[f"{bucket}/{key}"],
            sleep=lambda seconds: None,
        ),
    )
    arn = sfn.start_execution(MACHINE, payload, "run-1")
    assert sfn.wait(30) == []
    return sfn, sfn.describe(arn)


class RosterMissing(Exception):
    pass


def caught_task(function: str, catch: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A state machine of one Lambda Task ``Call`` whose Catch (``catch``, Next added) goes to the
    Succeed state ``Handle``."""
    task = {"Type": "Task", "Resource": FN + function, **fields}
    task.update({"Catch": [{"ErrorEquals": ["States.ALL"], **catch, "Next": "Handle"}], "End": True})
    return {"StartAt": "Call", "States": {"Call": task, "Handle": {"Type": "Succeed"}}}


def test_paths_parameters_result_selector_and_result_path() -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": FN + "echo",
                "Parameters": {
                    "id.$": "$.order.id",
                    "first.$": "$.items[0]",
                    "name.$": "States.Format('{}-x', $.order.id)",
                    "exec.$": "$$.Execution.Name",
                    "fixed": {"a": 1},
                },
                "ResultSelector": {"got.$": "$.first"},
                "ResultPath": "$.result",
                "Next": "Done",
            },
            "Done": {
                "Type": "Pass",
                "Parameters": {"r.$": "$.result.got"},
                "ResultPath": "$.out",
                "OutputPath": "$.out",
                "End": True,
            },
        },
    }
    functions = Functions(echo=lambda event: event)
    _, execution = run(definition, {"order": {"id": "o7"}, "items": ["i0", "i1"]}, functions)
    assert execution.status == "SUCCEEDED" and execution.output == {"r": "i0"}
    assert functions.calls[0][1] == {
        "id": "o7",
        "first": "i0",
        "name": "o7-x",
        "exec": "run-1",
        "fixed": {"a": 1},
    }


def test_lambda_errors_are_named_after_the_exception_retried_then_caught() -> None:
    attempts = {"n": 0}

    def flaky(event: Any) -> Any:
        attempts["n"] += 1
        raise RosterMissing("no roster for A1")

    retry = {"ErrorEquals": ["RosterMissing"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 2.0}
    definition = caught_task("flaky", {"ResultPath": "$.error"}, Retry=[retry])
    _, execution = run(definition, {"k": 1}, Functions(flaky=flaky))
    assert execution.status == "SUCCEEDED" and attempts["n"] == 3  # 1 + MaxAttempts
    error = execution.output["error"]
    assert error["Error"] == "RosterMissing"
    cause = json.loads(error["Cause"])
    assert cause["errorType"] == "RosterMissing" and cause["errorMessage"] == "no roster for A1"
    types = [e["type"] for e in execution.events]
    assert types.count("LambdaFunctionScheduled") == 3 and types.count("LambdaFunctionFailed") == 3


def test_an_uncaught_error_fails_the_execution_and_a_missing_path_is_not_caught_by_states_all() -> None:
    definition = caught_task("echo", {}, Parameters={"x.$": "$.missing"})
    _, execution = run(definition, {}, Functions(echo=lambda e: e))
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
    assert "'$.missing'" in execution.cause
    fail = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}}
    _, execution = run(fail, {}, Functions())
    assert (execution.status, execution.error, execution.cause) == ("FAILED", "Boom", "why")


def test_choice_rules() -> None:
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.ok", "BooleanEquals": True, "Next": "Yes"},
                    {
                        "And": [
                            {"Variable": "$.n", "NumericGreaterThan": 2},
                            {"Variable": "$.s", "StringEquals": "a"},
                        ],
                        "Next": "Big",
                    },
                ],
                "Default": "No",
            },
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "Big": {"Type": "Pass", "Result": "big", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }
    assert run(definition, {"ok": True}, Functions())[1].output == "yes"
    assert run(definition, {"ok": False, "n": 3, "s": "a"}, Functions())[1].output == "big"
    assert run(definition, {"ok": False, "n": 1, "s": "a"}, Functions())[1].output == "no"


def test_an_inline_map_runs_up_to_max_concurrency_iterations_at_once() -> None:
    active = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def work(event: Any) -> Any:
        with lock:
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return {"double": event["v"] * 2}

    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.values",
                "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
                "MaxConcurrency": 3,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": FN + "work", "End": True}},
                },
                "ResultPath": "$.results",
                "End": True,
            }
        },
    }
    functions = Functions(work=work)
    _, execution = run(definition, {"values": list(range(9)), "tag": "t"}, functions)
    assert execution.output["results"] == [{"double": v * 2} for v in range(9)]
    assert active["peak"] == 3
    assert all(in_map for _, _, in_map in functions.calls)
    assert sorted(event["i"] for _, event, _ in functions.calls) == list(range(9))


def test_a_distributed_map_reads_its_items_from_the_bucket_and_runs_child_executions() -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": "data", "Key.$": "$.manifest"},
                },
                "ItemSelector": {"batch.$": "$$.Map.Item.Value.batch", "aco.$": "$.aco"},
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": FN + "work", "End": True}},
                },
                "ResultPath": None,
                "End": True,
            }
        },
    }
    objects = {"data/m.json": json.dumps([{"batch": 0}, {"batch": 1}, {"batch": 2}]).encode()}
    functions = Functions(work=lambda e: {"done": e["batch"]})
    sfn, execution = run(definition, {"manifest": "m.json", "aco": "A1"}, functions, objects)
    assert execution.status == "SUCCEEDED" and execution.output == {"manifest": "m.json", "aco": "A1"}
    [run_] = execution.map_runs
    children = [sfn.describe(arn) for arn in run_.children]
    assert [c.input for c in children] == [{"batch": b, "aco": "A1"} for b in range(3)]
    assert all(c.status == "SUCCEEDED" and c.parent == execution.arn for c in children)
    types = [e["type"] for e in execution.events]
    assert "MapRunStarted" in types and "MapRunSucceeded" in types and "LambdaFunctionScheduled" not in types

    functions = Functions(work=lambda e: (_ for _ in ()).throw(RosterMissing("x")) if e["batch"] == 1 else {})
    _, execution = run(definition, {"manifest": "m.json", "aco": "A1"}, functions, objects)
    assert (execution.status, execution.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


def test_a_state_output_above_256_kb_fails_with_data_limit_exceeded() -> None:
    definition = caught_task("big", {})
    _, execution = run(definition, {}, Functions(big=lambda e: {"x": "y" * 300_000}))
    assert (execution.status, execution.error) == ("FAILED", "States.DataLimitExceeded")


def test_async_start_execution_and_sqs_tasks() -> None:
    definition = {
        "StartAt": "Choose",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution",
                "Parameters": {
                    "StateMachineArn": MACHINE,
                    "Name.$": "States.Format('{}-child', $.id)",
                    "Input": {"child": True, "id.$": "$.id"},
                },
                "ResultSelector": {"arn.$": "$.ExecutionArn"},
                "ResultPath": "$.started",
                "Next": "Done",
            },
            "Choose": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.child", "IsPresent": True, "Next": "Send"}],
                "Default": "Start",
            },
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "https://q", "MessageBody": {"id.$": "$.id"}},
                "ResultPath": None,
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    sfn, execution = run(definition, {"id": "s1"}, Functions())
    assert execution.status == "SUCCEEDED"
    child = sfn.describe(execution.output["started"]["arn"])
    assert child is not None and child.name == "s1-child" and child.status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Type": "Wait", "Seconds": 1, "End": True}, "state type 'Wait'"),
        ({"Type": "Parallel", "Branches": [], "End": True}, "state type 'Parallel'"),
        ({"Type": "Task", "Resource": FN + "f", "TimeoutSeconds": 5, "End": True}, "TimeoutSeconds"),
        ({"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "End": True}, "dynamodb:getItem"),
        (
            {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": True},
            "startExecution.sync",
        ),
        ({"Type": "Pass", "Parameters": {"a.$": "$.items[*].id"}, "End": True}, "not supported"),
        ({"Type": "Pass", "Parameters": {"a.$": "States.MathAdd(1, 2)"}, "End": True}, "States.MathAdd"),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringMatches": "x*", "Next": "S"}]},
            "choice rule",
        ),
        ({"Type": "Pass", "Next": "Nowhere"}, "'Nowhere' is not a state"),
    ],
)
def test_anything_else_is_refused_when_the_state_machine_is_loaded(
    change: dict[str, Any], message: str
) -> None:
    definition = {"StartAt": "S", "States": {"S": change}}
    with pytest.raises(
        UnsupportedAslError, match=message.replace("[", r"\[").replace("*", r"\*").replace("(", r"\(")
    ):
        check_definition(definition)
    with pytest.raises(UnsupportedAslError, match="JSONata"):
        check_definition({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}})


def test_the_repository_state_machines_load() -> None:
    from aco_sync_local.deployer import plan_stack
    from shared_fixtures import REPO_ROOT

    plan = plan_stack(REPO_ROOT / "template.yaml")
    for definition in plan.state_machines.values():
        check_definition(definition)
