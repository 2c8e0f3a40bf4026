"""A local Step Functions interpreter for exactly the JSONPath ASL ACO Sync's state machines use.

States: ``Task`` (a Lambda function ARN; ``arn:aws:states:::states:startExecution``, asynchronous;
``arn:aws:states:::sqs:sendMessage``), ``Choice``, ``Pass``, ``Map`` (inline, and distributed with an
``ItemReader`` over a JSON object of the bucket: child executions), ``Succeed``, ``Fail``; ``Retry``
(``ErrorEquals``/``IntervalSeconds``/``MaxAttempts``/``BackoffRate``/``MaxDelaySeconds``; the waits are
instant with fast retries), ``Catch``; ``InputPath``/``Parameters``/``ResultSelector``/``ResultPath``/
``OutputPath``, ``ItemsPath``/``ItemSelector``/``MaxConcurrency``, the context object (``$$.Execution``,
``$$.StateMachine``, ``$$.State``, ``$$.Map.Item``) and the intrinsic functions of ``paths``. Anything
else is refused with ``UnsupportedAslError`` when the state machine is loaded (never ignored).

Errors are those AWS reports: a Lambda function's exception becomes the error ``errorType`` with the
cause ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` (JSON); a missing path
``States.Runtime`` and a state input or output above 256 KB ``States.DataLimitExceeded`` (neither
caught by ``States.ALL``, as on AWS). Every execution keeps its history as ``GetExecutionHistory``
events (ids, ``previousEventId``, timestamps, the state's input and output as JSON text), so
``aco_sync_local.executions.summarise_history`` gives the console-style view.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aco_sync_local.stepfunctions.errors import (
    UNCATCHABLE,
    ExecutionAlreadyExists,
    StateFailure,
    UnsupportedAslError,
)
from aco_sync_local.stepfunctions.paths import (
    apply_template,
    check_template,
    parse_path,
    read_path,
    select,
    write_result,
)

logger = logging.getLogger(__name__)

PAYLOAD_LIMIT_BYTES = 256 * 1024  # Step Functions' limit on a state's input or output
MAX_LOCAL_MAP_THREADS = 40  # MaxConcurrency 0 (unlimited) locally
START_EXECUTION = "arn:aws:states:::states:startExecution"
SQS_SEND_MESSAGE = "arn:aws:states:::sqs:sendMessage"
S3_GET_OBJECT = "arn:aws:states:::s3:getObject"

_COMMON = {"Type", "Comment"}
_IO = {"InputPath", "OutputPath"}
_ALLOWED: dict[str, set[str]] = {
    "Pass": _COMMON | _IO | {"Parameters", "Result", "ResultPath", "Next", "End"},
    "Task": _COMMON
    | _IO
    | {"Resource", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Next", "End"},
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "Cause"},
    "Map": _COMMON
    | _IO
    | {
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "ItemProcessor",
        "Iterator",
        "ItemReader",
        "MaxConcurrency",
        "Label",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "Next",
        "End",
    },
}
_COMPARATORS = {
    "BooleanEquals",
    "StringEquals",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "IsPresent",
    "IsNull",
    "IsBoolean",
    "IsString",
    "IsNumeric",
}
_RETRY_KEYS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "Comment"}
_CATCH_KEYS = {"ErrorEquals", "ResultPath", "Next", "Comment"}


# --------------------------------------------------------------------------------------------------
# Loading: refuse what is not implemented
# --------------------------------------------------------------------------------------------------


def check_definition(definition: Mapping[str, Any], where: str = "state machine") -> None:
    """``UnsupportedAslError`` naming the first state or field the interpreter does not implement."""
    if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise UnsupportedAslError(f"{where}: only JSONPath state machines run locally (not JSONata)")
    unknown = set(definition) - {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}
    if unknown or "TimeoutSeconds" in definition:
        raise UnsupportedAslError(
            f"{where}: unsupported top-level field(s) {sorted(unknown or {'TimeoutSeconds'})}"
        )
    states = definition.get("States")
    if not isinstance(states, dict) or definition.get("StartAt") not in states:
        raise UnsupportedAslError(f"{where}: StartAt must name one of its States")
    for name, state in states.items():
        _check_state(f"{where} / state {name!r}", state, states)


def _check_state(where: str, state: Mapping[str, Any], states: Mapping[str, Any]) -> None:
    kind = state.get("Type")
    if kind not in _ALLOWED:
        raise UnsupportedAslError(f"{where}: state type {kind!r} is not supported by the local interpreter")
    unknown = set(state) - _ALLOWED[kind]
    if unknown:
        raise UnsupportedAslError(f"{where}: field(s) {sorted(unknown)} not supported for a {kind} state")
    if kind not in ("Choice", "Succeed", "Fail") and ("Next" in state) == bool(state.get("End")):
        raise UnsupportedAslError(f"{where}: exactly one of Next and End is needed")
    for target in [state.get("Next"), state.get("Default")] + [c.get("Next") for c in state.get("Catch", [])]:
        if target is not None and target not in states:
            raise UnsupportedAslError(f"{where}: Next {target!r} is not a state")
    for key in ("InputPath", "OutputPath", "ResultPath", "ItemsPath"):
        if isinstance(state.get(key), str):
            parse_path(state[key])
    for key in ("Parameters", "ResultSelector", "ItemSelector"):
        if key in state:
            check_template(state[key], f"{where} {key}")
    for retrier in state.get("Retry", []):
        if set(retrier) - _RETRY_KEYS or not retrier.get("ErrorEquals"):
            raise UnsupportedAslError(f"{where}: unsupported Retry {retrier}")
    for catcher in state.get("Catch", []):
        if set(catcher) - _CATCH_KEYS or not catcher.get("ErrorEquals") or "Next" not in catcher:
            raise UnsupportedAslError(f"{where}: unsupported Catch {catcher}")
    if kind == "Task":
        resource = str(state.get("Resource", ""))
        if not (resource.startswith("arn:aws:lambda:") or resource in (START_EXECUTION, SQS_SEND_MESSAGE)):
            raise UnsupportedAslError(f"{where}: Task resource {resource!r} is not supported locally")
    if kind == "Choice":
        if not state.get("Choices"):
            raise UnsupportedAslError(f"{where}: a Choice needs Choices")
        for rule in state["Choices"]:
            if "Next" not in rule or rule["Next"] not in states:
                raise UnsupportedAslError(f"{where}: every choice rule needs a Next state")
            _check_rule(where, rule, top=True)
    if kind == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if not isinstance(processor, dict):
            raise UnsupportedAslError(f"{where}: a Map needs an ItemProcessor")
        config = processor.get("ProcessorConfig", {"Mode": "INLINE"})
        mode = config.get("Mode", "INLINE")
        if mode not in ("INLINE", "DISTRIBUTED") or set(config) - {"Mode", "ExecutionType"}:
            raise UnsupportedAslError(f"{where}: ProcessorConfig {config} is not supported locally")
        if mode == "DISTRIBUTED" and config.get("ExecutionType", "STANDARD") != "STANDARD":
            raise UnsupportedAslError(f"{where}: only STANDARD child executions run locally")
        if "ItemReader" in state:
            reader = state["ItemReader"]
            if mode != "DISTRIBUTED":
                raise UnsupportedAslError(f"{where}: ItemReader needs a DISTRIBUTED Map")
            if (
                reader.get("Resource") != S3_GET_OBJECT
                or reader.get("ReaderConfig", {}).get("InputType") != "JSON"
                or set(reader) - {"Resource", "ReaderConfig", "Parameters"}
                or set(reader.get("ReaderConfig", {})) - {"InputType"}
            ):
                raise UnsupportedAslError(
                    f"{where}: only an ItemReader of {S3_GET_OBJECT} with ReaderConfig InputType JSON "
                    "runs locally"
                )
            check_template(reader.get("Parameters", {}), f"{where} ItemReader")
        inner = {k: v for k, v in processor.items() if k != "ProcessorConfig"}
        check_definition(inner, f"{where} ItemProcessor")


def _check_rule(where: str, rule: Mapping[str, Any], *, top: bool) -> None:
    keys = set(rule) - ({"Next"} if top else set())
    for combinator in ("And", "Or"):
        if combinator in rule:
            for inner in rule[combinator]:
                _check_rule(where, inner, top=False)
            return
    if "Not" in rule:
        _check_rule(where, rule["Not"], top=False)
        return
    comparators = keys - {"Variable"}
    if "Variable" not in rule or len(comparators) != 1 or not comparators <= _COMPARATORS:
        raise UnsupportedAslError(f"{where}: choice rule {dict(rule)} is not supported locally")
    parse_path(rule["Variable"])


# --------------------------------------------------------------------------------------------------
# Executions
# --------------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


@dataclass
class Branch:
    """Where the next event of one line of execution chains to (``previousEventId``)."""

    prev: int = 0


@dataclass(frozen=True)
class _StateRun:
    """One state being run: its execution, name and definition, the context object (with ``$$.State``),
    the line of events it chains to and whether it runs in a Map iteration."""

    execution: Execution
    name: str
    state: Mapping[str, Any]
    context: dict[str, Any]
    branch: Branch
    in_map: bool


@dataclass
class Execution:
    arn: str
    state_machine_arn: str
    name: str
    input: Any
    start: datetime
    status: str = "RUNNING"
    stop: datetime | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    map_runs: list[MapRun] = field(default_factory=list)
    parent: str | None = None  # the execution of the distributed Map that started this child
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)

    def emit(
        self, branch: Branch | None, event_type: str, details_key: str | None = None, **details: Any
    ) -> int:
        with self.lock:
            event: dict[str, Any] = {
                "id": len(self.events) + 1,
                "previousEventId": branch.prev if branch else (len(self.events)),
                "timestamp": _now(),
                "type": event_type,
            }
            if details_key:
                event[details_key] = details
            self.events.append(event)
            if branch is not None:
                branch.prev = event["id"]
            return int(event["id"])


@dataclass
class MapRun:
    """A distributed Map's run: its child executions, in item order."""

    arn: str
    state: str  # the Map state's name
    event_id: int  # the MapRunStarted event in the parent's history
    children: list[str] = field(default_factory=list)


@dataclass
class Services:
    """What Tasks reach outside the interpreter (the local stack provides them)."""

    # (function ARN, event, in a Map iteration) -> (payload bytes, errored)
    invoke_lambda: Callable[[str, Any, bool], tuple[bytes, bool]]
    send_message: Callable[[str, Any], str]  # (queue URL, body) -> message id
    read_object: Callable[[str, str], bytes]  # (bucket, key) -> bytes
    sleep: Callable[[float], None] = time.sleep  # retry waits (instant with fast retries)


class LocalStepFunctions:
    """State machines by ARN and the executions started in this process."""

    def __init__(
        self,
        machines: Mapping[str, Mapping[str, Any]],
        services: Services,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        for arn, definition in machines.items():
            check_definition(definition, arn.rsplit(":", 1)[-1])
        self.machines = {arn: dict(d) for arn, d in machines.items()}
        self.services = services
        self.region = region
        self.account_id = account_id
        self.on_start = on_start
        self.executions: dict[str, Execution] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # -- API -------------------------------------------------------------------------------------
    def start_execution(self, state_machine_arn: str, input: Any = None, name: str | None = None) -> str:
        if state_machine_arn not in self.machines:
            raise KeyError(f"State machine does not exist: {state_machine_arn}")
        name = name or str(uuid.uuid4())
        arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        execution = self._new_execution(arn, state_machine_arn, name, input)
        thread = threading.Thread(
            target=self._run_execution,
            args=(execution, self.machines[state_machine_arn]),
            name=f"sfn-{name}",
            daemon=True,
        )
        with self._lock:
            self._threads.append(thread)
        thread.start()
        return arn

    def _new_execution(
        self, arn: str, machine_arn: str, name: str, input: Any, parent: str | None = None
    ) -> Execution:
        with self._lock:
            if arn in self.executions:
                raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
            execution = Execution(
                arn, machine_arn, name, input if input is not None else {}, _now(), parent=parent
            )
            self.executions[arn] = execution
        if self.on_start is not None and parent is None:
            self.on_start(arn)
        return execution

    def describe(self, arn: str) -> Execution | None:
        return self.executions.get(arn)

    def top_level_executions(self) -> list[Execution]:
        with self._lock:
            return sorted((e for e in self.executions.values() if e.parent is None), key=lambda e: e.start)

    def running(self) -> list[Execution]:
        with self._lock:
            return [e for e in self.executions.values() if e.status == "RUNNING"]

    def wait(self, timeout: float) -> list[Execution]:
        """Wait until no execution runs (new ones started meanwhile count); returns those still running."""
        deadline = time.monotonic() + timeout
        while True:
            running = self.running()
            if not running:
                return []
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return running
            running[0].done.wait(min(remaining, 0.5))

    # -- running ---------------------------------------------------------------------------------
    def _context(self, execution: Execution) -> dict[str, Any]:
        return {
            "Execution": {
                "Id": execution.arn,
                "Name": execution.name,
                "Input": execution.input,
                "StartTime": execution.start.isoformat(),
                "RoleArn": f"arn:aws:iam::{self.account_id}:role/aco-sync-local",
            },
            "StateMachine": {
                "Id": execution.state_machine_arn,
                "Name": execution.state_machine_arn.rsplit(":", 1)[-1],
            },
        }

    def _run_execution(self, execution: Execution, definition: Mapping[str, Any]) -> None:
        branch = Branch()
        execution.emit(
            branch,
            "ExecutionStarted",
            "executionStartedEventDetails",
            input=_json(execution.input),
            roleArn=self._context(execution)["Execution"]["RoleArn"],
        )
        try:
            output = self._run_program(  # a map run's child is a Map iteration: its Lambdas run as those
                execution,
                definition,
                execution.input,
                self._context(execution),
                branch,
                in_map=execution.parent is not None,
            )
        except StateFailure as failure:
            execution.error, execution.cause = failure.error, failure.cause
            execution.emit(
                branch,
                "ExecutionFailed",
                "executionFailedEventDetails",
                error=failure.error,
                cause=failure.cause,
            )
            execution.status = "FAILED"
        except Exception as exc:  # an interpreter bug must not leave the execution RUNNING
            logger.exception("Local interpreter error in %s", execution.arn)
            execution.error, execution.cause = "States.Runtime", f"{type(exc).__name__}: {exc}"
            execution.emit(
                branch,
                "ExecutionFailed",
                "executionFailedEventDetails",
                error=execution.error,
                cause=execution.cause,
            )
            execution.status = "FAILED"
        else:
            execution.output = output
            execution.emit(
                branch, "ExecutionSucceeded", "executionSucceededEventDetails", output=_json(output)
            )
            execution.status = "SUCCEEDED"
        execution.stop = _now()
        execution.done.set()

    def _run_program(
        self,
        execution: Execution,
        program: Mapping[str, Any],
        data: Any,
        context: dict[str, Any],
        branch: Branch,
        *,
        in_map: bool = False,
    ) -> Any:
        name = program["StartAt"]
        while True:
            state = program["States"][name]
            data, next_name = self._run_state(execution, name, state, data, context, branch, in_map=in_map)
            if next_name is None:
                return data
            name = next_name

    def _run_state(
        self,
        execution: Execution,
        name: str,
        state: Mapping[str, Any],
        data: Any,
        context: dict[str, Any],
        branch: Branch,
        *,
        in_map: bool,
    ) -> tuple[Any, str | None]:
        kind = state["Type"]
        execution.emit(
            branch, f"{kind}StateEntered", "stateEnteredEventDetails", name=name, input=_limited(data, name)
        )
        context = {**context, "State": {"Name": name, "EnteredTime": _now().isoformat(), "RetryCount": 0}}
        run = _StateRun(execution, name, state, context, branch, in_map)
        if kind == "Fail":
            raise StateFailure(str(state.get("Error", "States.Fail")), str(state.get("Cause", "")))
        if kind == "Choice":
            effective = _input_of(state, data, name)
            next_name = next(
                (r["Next"] for r in state["Choices"] if _rule_matches(r, effective)), state.get("Default")
            )
            if next_name is None:
                raise StateFailure("States.NoChoiceMatched", f"No Choice matched in state '{name}'")
            output = _output_of(state, effective, name)
            _emit_exited(execution, branch, "Choice", name, output)
            return output, next_name
        if kind == "Succeed":
            effective = _input_of(state, data, name)
            output = _output_of(state, effective, name)
            _emit_exited(execution, branch, "Succeed", name, output)
            return output, None
        if kind == "Pass":
            effective = _input_of(state, data, name)
            if "Parameters" in state:
                effective = apply_template(state["Parameters"], effective, context, state=name)
            result = state.get("Result", effective)
            output = write_result(state.get("ResultPath", "$"), data, result, state=name)
            output = _output_of(state, output, name)
            _emit_exited(execution, branch, "Pass", name, output)
            return output, state.get("Next")
        # Task and Map: Retry and Catch
        attempts: dict[int, int] = {}
        while True:
            try:
                effective = _input_of(state, data, name)
                result = (self._run_task if kind == "Task" else self._run_map)(run, effective)
                if kind == "Map":  # the results themselves (no ResultWriter: a distributed Map's too)
                    _limited(result, name)
                if "ResultSelector" in state:
                    result = apply_template(state["ResultSelector"], result, context, state=name)
                output = write_result(state.get("ResultPath", "$"), data, result, state=name)
                output = _output_of(state, output, name)
                _emit_exited(execution, branch, kind, name, output)
                return output, state.get("Next")
            except StateFailure as failure:
                if failure.error in UNCATCHABLE:
                    raise
                retrier = _matching(state.get("Retry", []), failure.error, task=kind == "Task")
                if retrier is not None:
                    index = state["Retry"].index(retrier)
                    attempts[index] = attempts.get(index, 0) + 1
                    if attempts[index] <= int(retrier.get("MaxAttempts", 3)):
                        delay = float(retrier.get("IntervalSeconds", 1)) * float(
                            retrier.get("BackoffRate", 2.0)
                        ) ** (attempts[index] - 1)
                        if "MaxDelaySeconds" in retrier:
                            delay = min(delay, float(retrier["MaxDelaySeconds"]))
                        self.services.sleep(delay)
                        context["State"]["RetryCount"] = sum(attempts.values())
                        continue
                catcher = _matching(state.get("Catch", []), failure.error, task=kind == "Task")
                if catcher is None:
                    raise
                output = write_result(
                    catcher.get("ResultPath", "$"),
                    data,
                    {"Error": failure.error, "Cause": failure.cause},
                    state=name,
                )
                _emit_exited(execution, branch, kind, name, output)
                return output, catcher["Next"]

    # -- Task ------------------------------------------------------------------------------------
    def _run_task(self, run: _StateRun, effective: Any) -> Any:
        execution, name, state, context, branch = run.execution, run.name, run.state, run.context, run.branch
        resource = str(state["Resource"])
        parameters = (
            apply_template(state["Parameters"], effective, context, state=name)
            if "Parameters" in state
            else effective
        )
        if resource.startswith("arn:aws:lambda:"):
            execution.emit(
                branch,
                "LambdaFunctionScheduled",
                "lambdaFunctionScheduledEventDetails",
                resource=resource,
                input=_json(parameters),
            )
            execution.emit(branch, "LambdaFunctionStarted")
            payload, errored = self.services.invoke_lambda(resource, parameters, run.in_map)
            text = payload.decode("utf-8")
            try:
                result: Any = json.loads(text) if text else None
            except json.JSONDecodeError:
                result = text
            if errored:
                details = result if isinstance(result, dict) else {"errorMessage": text}
                error = str(details.get("errorType") or "Lambda.Unknown")
                cause = _json(
                    {
                        "errorMessage": details.get("errorMessage", ""),
                        "errorType": error,
                        "requestId": details.get("requestId", str(uuid.uuid4())),
                        "stackTrace": details.get("stackTrace", []),
                    }
                )
                execution.emit(
                    branch,
                    "LambdaFunctionFailed",
                    "lambdaFunctionFailedEventDetails",
                    error=error,
                    cause=cause,
                )
                raise StateFailure(error, cause)
            execution.emit(
                branch, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", output=_json(result)
            )
            return result
        service, action = (
            ("states", "startExecution") if resource == START_EXECUTION else ("sqs", "sendMessage")
        )
        execution.emit(
            branch,
            "TaskScheduled",
            "taskScheduledEventDetails",
            resourceType=service,
            resource=action,
            region=self.region,
            parameters=_json(parameters),
        )
        execution.emit(
            branch, "TaskStarted", "taskStartedEventDetails", resourceType=service, resource=action
        )
        try:
            if resource == START_EXECUTION:
                result = self._task_start_execution(parameters)
            else:
                body = parameters.get("MessageBody")
                message_id = self.services.send_message(str(parameters.get("QueueUrl", "")), body)
                result = {"MessageId": message_id, "MD5OfMessageBody": ""}
        except StateFailure as failure:
            execution.emit(
                branch,
                "TaskFailed",
                "taskFailedEventDetails",
                resourceType=service,
                resource=action,
                error=failure.error,
                cause=failure.cause,
            )
            raise
        execution.emit(
            branch,
            "TaskSucceeded",
            "taskSucceededEventDetails",
            resourceType=service,
            resource=action,
            output=_json(result),
        )
        return result

    def _task_start_execution(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        machine = str(parameters.get("StateMachineArn", ""))
        payload = parameters.get("Input", {})
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except json.JSONDecodeError:
                raise StateFailure(
                    "StepFunctions.InvalidExecutionInputException", "Input is not JSON"
                ) from None
        if machine not in self.machines:
            raise StateFailure(
                "StepFunctions.StateMachineDoesNotExistException",
                f"State Machine Does Not Exist: '{machine}'",
            )
        try:
            arn = self.start_execution(machine, payload, parameters.get("Name"))
        except ExecutionAlreadyExists as exc:
            raise StateFailure("StepFunctions.ExecutionAlreadyExistsException", str(exc)) from None
        return {"ExecutionArn": arn, "StartDate": self.executions[arn].start.isoformat()}

    # -- Map -------------------------------------------------------------------------------------
    def _run_map(self, run: _StateRun, effective: Any) -> list[Any]:
        execution, name, state, context, branch = run.execution, run.name, run.state, run.context, run.branch
        processor = dict(state.get("ItemProcessor") or state.get("Iterator") or {})
        mode = processor.get("ProcessorConfig", {}).get("Mode", "INLINE")
        program = {k: v for k, v in processor.items() if k != "ProcessorConfig"}
        if "ItemReader" in state:
            items = self._read_items(state["ItemReader"], effective, context, name)
        else:
            items = select(state.get("ItemsPath", "$"), effective, state=name, field="ItemsPath")
        if not isinstance(items, list):
            raise StateFailure(
                "States.Runtime",
                f"An error occurred while executing the state '{name}'. "
                f"Items of the Map must be a JSON array, got {_json(items)[:200]}",
            )
        selector = state.get("ItemSelector", state.get("Parameters"))

        def iteration_input(index: int, item: Any) -> Any:
            if selector is None:
                return item
            item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
            return apply_template(selector, effective, item_context, state=name)

        limit = int(state.get("MaxConcurrency", 0)) or MAX_LOCAL_MAP_THREADS
        workers = max(1, min(limit, MAX_LOCAL_MAP_THREADS, len(items) or 1))
        if mode == "DISTRIBUTED":
            return self._run_distributed(execution, name, program, items, iteration_input, workers, branch)
        execution.emit(branch, "MapStateStarted", "mapStateStartedEventDetails", length=len(items))
        map_event = branch.prev

        def run_iteration(index: int, item: Any) -> Any:
            iteration = Branch(prev=map_event)
            execution.emit(
                iteration, "MapIterationStarted", "mapIterationStartedEventDetails", name=name, index=index
            )
            try:
                result = self._run_program(
                    execution,
                    program,
                    iteration_input(index, item),
                    self._context(execution),
                    iteration,
                    in_map=True,
                )
            except StateFailure as failure:
                execution.emit(
                    iteration, "MapIterationFailed", "mapIterationFailedEventDetails", name=name, index=index
                )
                raise failure
            execution.emit(
                iteration,
                "MapIterationSucceeded",
                "mapIterationSucceededEventDetails",
                name=name,
                index=index,
            )
            return result

        try:
            results = _run_all(items, run_iteration, workers)
        except StateFailure as failure:
            execution.emit(branch, "MapStateFailed")
            raise failure
        execution.emit(branch, "MapStateSucceeded")
        return results

    def _read_items(
        self, reader: Mapping[str, Any], effective: Any, context: dict[str, Any], name: str
    ) -> Any:
        parameters = apply_template(reader.get("Parameters", {}), effective, context, state=name)
        bucket, key = str(parameters.get("Bucket", "")), str(parameters.get("Key", ""))
        try:
            body = self.services.read_object(bucket, key)
        except (FileNotFoundError, KeyError):
            raise StateFailure(
                "States.ItemReaderFailed", f"The object s3://{bucket}/{key} of the ItemReader does not exist"
            ) from None
        try:
            return json.loads(body)
        except json.JSONDecodeError as exc:
            raise StateFailure("States.ItemReaderFailed", f"s3://{bucket}/{key} is not JSON: {exc}") from None

    def _run_distributed(
        self,
        execution: Execution,
        name: str,
        program: Mapping[str, Any],
        items: list[Any],
        iteration_input: Callable[[int, Any], Any],
        workers: int,
        branch: Branch,
    ) -> list[Any]:
        label = f"{execution.name}:{name}"
        machine = execution.state_machine_arn
        map_run_arn = f"{machine.replace(':stateMachine:', ':mapRun:')}/{uuid.uuid4().hex[:8]}:{uuid.uuid4()}"
        execution.emit(branch, "MapRunStarted", "mapRunStartedEventDetails", mapRunArn=map_run_arn)
        run = MapRun(map_run_arn, name, branch.prev)
        with execution.lock:
            execution.map_runs.append(run)
        child_prefix = f"{machine.replace(':stateMachine:', ':execution:')}/{label.replace(':', '-')}"
        children: list[str] = [f"{child_prefix}:{uuid.uuid4()}" for _ in items]
        run.children = children

        def run_child(index: int, item: Any) -> Any:
            arn = children[index]
            child = self._new_execution(
                arn, machine, arn.rsplit(":", 1)[-1], iteration_input(index, item), parent=execution.arn
            )
            self._run_execution(child, program)
            if child.status != "SUCCEEDED":
                raise StateFailure(child.error or "States.TaskFailed", child.cause or "")
            return child.output

        try:
            results = _run_all(items, run_child, workers)
        except StateFailure as failure:
            cause = (
                "The specified tolerated failure threshold was exceeded (a child execution failed: "
                f"{failure.error})"
            )
            execution.emit(
                branch,
                "MapRunFailed",
                "mapRunFailedEventDetails",
                error="States.ExceedToleratedFailureThreshold",
                cause=cause,
            )
            raise StateFailure("States.ExceedToleratedFailureThreshold", cause) from None
        execution.emit(branch, "MapRunSucceeded")
        return results


def _run_all(items: list[Any], run: Callable[[int, Any], Any], workers: int) -> list[Any]:
    """``run(index, item)`` for every item, ``workers`` at a time, results in item order; the first
    failure (in item order) is raised once the iterations that started have ended."""
    if workers <= 1 or len(items) <= 1:
        return [run(i, item) for i, item in enumerate(items)]
    failed = threading.Event()
    results: list[Any] = [None] * len(items)
    failures: dict[int, StateFailure] = {}

    def one(index: int) -> None:
        if failed.is_set():  # as on AWS: a failed iteration stops the Map; iterations not started do not run
            return
        try:
            results[index] = run(index, items[index])
        except StateFailure as failure:
            failures[index] = failure
            failed.set()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sfn-map") as pool:
        list(pool.map(one, range(len(items))))
    if failures:
        raise failures[min(failures)]
    return results


def _matching(rules: list[Mapping[str, Any]], error: str, *, task: bool) -> Mapping[str, Any] | None:
    for rule in rules:
        names = rule["ErrorEquals"]
        if error in names or "States.ALL" in names:
            return rule
        if task and "States.TaskFailed" in names and error != "States.Timeout":
            return rule
    return None


def _rule_matches(rule: Mapping[str, Any], data: Any) -> bool:
    if "And" in rule:
        return all(_rule_matches(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(_rule_matches(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _rule_matches(rule["Not"], data)
    try:
        value = read_path(rule["Variable"], data, None)
        present = True
    except Exception:
        value, present = None, False
    if "IsPresent" in rule:
        return present == bool(rule["IsPresent"])
    if not present:
        raise StateFailure(
            "States.Runtime",
            f"Invalid path '{rule['Variable']}': the choice state's condition path references an "
            "invalid value.",
        )
    for comparator, expected in rule.items():
        if comparator in ("Variable", "Next"):
            continue
        if comparator == "BooleanEquals":
            return isinstance(value, bool) and value == expected
        if comparator == "StringEquals":
            return isinstance(value, str) and value == expected
        if comparator == "IsNull":
            return (value is None) == bool(expected)
        if comparator == "IsBoolean":
            return isinstance(value, bool) == bool(expected)
        if comparator == "IsString":
            return isinstance(value, str) == bool(expected)
        if comparator == "IsNumeric":
            return (isinstance(value, int | float) and not isinstance(value, bool)) == bool(expected)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return {
            "NumericEquals": value == expected,
            "NumericLessThan": value < expected,
            "NumericGreaterThan": value > expected,
            "NumericLessThanEquals": value <= expected,
            "NumericGreaterThanEquals": value >= expected,
        }[comparator]
    return False


def _input_of(state: Mapping[str, Any], data: Any, name: str) -> Any:
    """The state's effective input: its InputPath applied to ``data``."""
    return select(state.get("InputPath", "$"), data, state=name, field="InputPath")


def _output_of(state: Mapping[str, Any], value: Any, name: str) -> Any:
    """The state's output: its OutputPath applied to ``value``."""
    return select(state.get("OutputPath", "$"), value, state=name, field="OutputPath")


def _emit_exited(execution: Execution, branch: Branch, kind: str, name: str, output: Any) -> None:
    execution.emit(
        branch, f"{kind}StateExited", "stateExitedEventDetails", name=name, output=_limited(output, name)
    )


def _limited(value: Any, state: str) -> str:
    text = _json(value)
    if len(text.encode("utf-8")) > PAYLOAD_LIMIT_BYTES:
        raise StateFailure(
            "States.DataLimitExceeded",
            f"The state/task '{state}' returned a result with a size exceeding the maximum number of "
            "bytes service limit.",
        )
    return text
