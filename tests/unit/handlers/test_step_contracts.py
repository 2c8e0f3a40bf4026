"""The step contracts (aco_sync/contracts/, one module per step) are what the state machines read.

The test walks every state of both ASL files from the execution's input (``SyncExecutionInput``; the
MCQM machine starts with what "Start MCQM Sync" passes it), following each Next, Default and Catch: a
Task's result is its handler's output model (``functions/<step>`` -> ``aco_sync.contracts.<step>``)
placed where its ResultPath says (through its ResultSelector), a Catch's is ``StepError``. Every path a
state reads (Parameters and ItemSelector ``.$`` values, intrinsic functions' arguments, Choice variables,
ItemsPath, ItemReader parameters, ResultSelector) must exist in the shape of the state's input on every
way into the state, and the keys a Task passes a handler must be its input model's fields.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import pytest
from cfnlint.decode import cfn_yaml
from pydantic import BaseModel, ValidationError

from aco_sync.adapters.ports import ClinicStatus
from aco_sync.contracts.common import StepError, StepOutput
from aco_sync.contracts.finalize_member_sync import PartitionManifestItem
from aco_sync.contracts.start_sync import SyncExecutionInput
from aco_sync.contracts.store_clinic_stats import StoreClinicStatsInput
from aco_sync.contracts.sync_member_clinic import SyncMemberClinicOutput
from aco_sync.contracts.validate_roster import BatchManifestItem
from aco_sync.domain.statuses import ClinicSyncStatus, clinic_outcome
from support.handlers import FUNCTIONS_DIR, REPO_ROOT

TEMPLATE = cfn_yaml.load(str(REPO_ROOT / "template.yaml"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FOLDERS = sorted(p.name for p in FUNCTIONS_DIR.iterdir() if (p / "app.py").is_file())

ANY = "any"  # a value no model types further (a path may go on into it unchecked)


@dataclass(frozen=True)
class ListOf:
    item: Any


# what a service integration gives back (AWS API output shapes), and who reads a message it sends
SERVICE_RESULTS: dict[str, dict[str, Any]] = {
    "arn:aws:states:::states:startExecution": {"ExecutionArn": str, "StartDate": str},
    "arn:aws:states:::sqs:sendMessage": {"MessageId": str, "MD5OfMessageBody": str},
}
SQS_CONSUMER = StoreClinicStatsInput  # the clinic stats queue's messages (StoreClinicStatsFunction)
# a Map whose ItemReader reads its items from S3: the model of one item (the step that writes the object
# declares it in its contracts module)
ITEM_READER_ITEMS: dict[str, type[BaseModel]] = {
    "Sync Member Clinics In Batches": BatchManifestItem,
    "Aggregate Member Partitions": PartitionManifestItem,
    "Match Roster Partitions": PartitionManifestItem,
}


def pascal(folder: str) -> str:
    return "".join(part.capitalize() for part in folder.split("_"))


def contract(folder: str) -> tuple[type[BaseModel], type[BaseModel]]:
    module = importlib.import_module(f"aco_sync.contracts.{folder}")
    return getattr(module, f"{pascal(folder)}Input"), getattr(module, f"{pascal(folder)}Output")


def function_folder(logical_id: str) -> str:
    return str(RESOURCES[logical_id]["Properties"]["CodeUri"]).strip("/").removeprefix("functions/")


def substituted_resource(value: Any) -> str:
    """``!GetAtt X.Arn`` or ``!Ref X`` (as cfn-lint decodes them) -> the logical id X."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    raise AssertionError(f"unexpected substitution {value!r}")


# ----- shapes ---------------------------------------------------------------------------------------
def shape_of(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return shape_of(args[0]) if len(args) == 1 else ANY
    if origin is list:
        return ListOf(shape_of(get_args(annotation)[0]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return fields_of(annotation)
    if origin is dict or annotation is Any:
        return ANY
    return annotation  # a scalar


def fields_of(model: type[BaseModel]) -> dict[str, Any]:
    return {name: shape_of(field.annotation) for name, field in model.model_fields.items()}


def key(shape: Any) -> str:
    if isinstance(shape, dict):
        return "{" + ",".join(f"{k}:{key(v)}" for k, v in sorted(shape.items())) + "}"
    if isinstance(shape, ListOf):
        return f"[{key(shape.item)}]"
    return getattr(shape, "__name__", str(shape))


PATH = re.compile(r"\$\$?(?:\.[A-Za-z_][\w-]*)*")


@dataclass
class Walk:
    machine: str
    substitutions: dict[str, Any]
    started_inputs: dict[str, Any]  # state machine logical id -> its executions' input shape
    checked: int = 0

    def resolve(self, path: str, shape: Any, context: dict[str, Any], where: str) -> Any:
        root, *parts = path.split(".")
        current = context if root == "$$" else shape
        self.checked += 1
        for i, part in enumerate(parts):
            if current == ANY:
                return ANY
            assert isinstance(current, dict) and part in current, (
                f"{self.machine}: {where} reads {path}, but {'.'.join([root, *parts[:i]])} "
                f"has no {part!r} (it has {sorted(current) if isinstance(current, dict) else key(current)})"
            )
            current = current[part]
        return current

    def read(self, value: str, shape: Any, context: dict[str, Any], where: str) -> Any:
        if PATH.fullmatch(value):
            return self.resolve(value, shape, context, where)
        for path in PATH.findall(value):  # an intrinsic function: States.Format('{}-mcqm', $.sync_id)
            if path not in ("$", "$$"):
                self.resolve(path, shape, context, where)
        return ANY

    def template(self, template: dict[str, Any], shape: Any, context: dict[str, Any], where: str) -> Any:
        out: dict[str, Any] = {}
        for name, value in template.items():
            if name.endswith(".$"):
                out[name[:-2]] = self.read(value, shape, context, where)
            elif isinstance(value, dict):
                out[name] = self.template(value, shape, context, where)
            else:
                out[name] = type(value)
        return out

    def put(self, shape: Any, result_path: Any, result: Any) -> Any:
        if result_path is None:
            return shape
        parts = str(result_path).split(".")[1:]
        if not parts:
            return result
        assert isinstance(shape, dict), f"{self.machine}: ResultPath {result_path} into {key(shape)}"
        rest = "$" + "".join(f".{p}" for p in parts[1:])
        return {**shape, parts[0]: self.put(shape.get(parts[0], {}), rest, result)}


def check_handler_input(walk: Walk, where: str, given: dict[str, Any], model: type[BaseModel]) -> None:
    fields = model.model_fields
    assert set(given) <= set(fields), f"{walk.machine}: {where} passes {sorted(set(given) - set(fields))}"
    missing = {name for name, f in fields.items() if f.is_required()} - set(given)
    assert not missing, f"{walk.machine}: {where} does not pass {sorted(missing)} ({model.__name__})"


def task_result(walk: Walk, name: str, state: dict[str, Any], effective: Any, context: dict[str, Any]) -> Any:
    resource = str(state["Resource"])
    given = walk.template(state.get("Parameters", {}), effective, context, f"state {name!r}")
    lambda_arn = re.fullmatch(r"\$\{(\w+)\}", resource)
    if lambda_arn:
        folder = function_folder(substituted_resource(walk.substitutions[lambda_arn[1]]))
        input_model, output_model = contract(folder)
        check_handler_input(walk, f"state {name!r}", given, input_model)
        return fields_of(output_model)
    assert resource in SERVICE_RESULTS, f"{walk.machine}: state {name!r}: no output shape for {resource}"
    if resource.endswith(":sendMessage"):
        check_handler_input(walk, f"state {name!r} (MessageBody)", given["MessageBody"], SQS_CONSUMER)
    if resource.endswith(":startExecution"):
        arn = re.fullmatch(r"\$\{(\w+)\}", str(state["Parameters"]["StateMachineArn"]))
        assert arn, f"{walk.machine}: state {name!r} starts an execution of an unknown machine"
        walk.started_inputs[substituted_resource(walk.substitutions[arn[1]])] = given["Input"]
    return SERVICE_RESULTS[resource]


def walk_states(walk: Walk, states: dict[str, Any], start: str, shape: Any, context: dict[str, Any]) -> None:
    """Walk ``states`` from ``start`` with the input ``shape``: every state once per input shape."""
    seen: set[tuple[str, str]] = set()
    pending: list[tuple[str, Any]] = [(start, shape)]
    while pending:
        name, shape = pending.pop()
        if (name, key(shape)) in seen:
            continue
        seen.add((name, key(shape)))
        state = states[name]
        where = f"state {name!r}"
        kind = state["Type"]
        effective = walk.read(state["InputPath"], shape, context, where) if state.get("InputPath") else shape
        successors: list[tuple[str, Any]] = []
        if kind == "Choice":

            def variables(rule: dict[str, Any]) -> list[str]:
                found = [rule["Variable"]] if "Variable" in rule else []
                found += [v for k, v in rule.items() if k.endswith("Path") and isinstance(v, str)]
                for nested in [
                    *rule.get("And", []),
                    *rule.get("Or", []),
                    *([rule["Not"]] if "Not" in rule else []),
                ]:
                    found += variables(nested)
                return found

            for choice in state["Choices"]:
                for variable in variables(choice):
                    walk.resolve(variable, effective, context, where)
                successors.append((choice["Next"], shape))
            if "Default" in state:
                successors.append((state["Default"], shape))
        elif kind in ("Task", "Map", "Pass"):
            if kind == "Task":
                result = task_result(walk, name, state, effective, context)
            elif kind == "Pass":
                result = (
                    walk.template(state["Parameters"], effective, context, where)
                    if "Parameters" in state
                    else (ANY if "Result" in state else effective)
                )
            else:
                result = map_result(walk, name, state, effective, context)
            if "ResultSelector" in state:
                result = walk.template(state["ResultSelector"], result, context, f"{where} ResultSelector")
            after = walk.put(shape, state.get("ResultPath", "$"), result)
            if "OutputPath" in state:
                after = (
                    {}
                    if state["OutputPath"] is None
                    else walk.read(state["OutputPath"], after, context, where)
                )
            if "Next" in state:
                successors.append((state["Next"], after))
            for catcher in state.get("Catch", []):
                successors.append(
                    (catcher["Next"], walk.put(shape, catcher.get("ResultPath", "$"), fields_of(StepError)))
                )
        elif kind == "Fail":
            for field_name in ("ErrorPath", "CausePath"):
                if field_name in state:
                    walk.read(state[field_name], effective, context, where)
        else:
            assert kind == "Succeed", f"{walk.machine}: {where}: the walk does not know {kind} states"
        pending += reversed(successors)  # in the order the state lists them


def map_result(walk: Walk, name: str, state: dict[str, Any], effective: Any, context: dict[str, Any]) -> Any:
    where = f"state {name!r}"
    if "ItemReader" in state:  # the items are an object the state's input names (e.g. a manifest's key)
        walk.template(state["ItemReader"].get("Parameters", {}), effective, context, f"{where} ItemReader")
        assert name in ITEM_READER_ITEMS, (
            f"{walk.machine}: {where}: add its items' model to ITEM_READER_ITEMS"
        )
        items = ListOf(fields_of(ITEM_READER_ITEMS[name]))
    else:
        items = walk.resolve(state.get("ItemsPath", "$"), effective, context, f"{where} ItemsPath")
    assert isinstance(items, ListOf), f"{walk.machine}: {where} ItemsPath is not a list ({key(items)})"
    item_context = {**context, "Map": {"Item": {"Index": int, "Value": items.item}}}
    iteration = (
        walk.template(state["ItemSelector"], effective, item_context, f"{where} ItemSelector")
        if "ItemSelector" in state
        else items.item
    )
    processor = state.get("ItemProcessor") or state["Iterator"]
    walk_states(walk, processor["States"], processor["StartAt"], iteration, item_context)
    return ListOf(ANY)


def execution_context() -> dict[str, Any]:
    return {"Execution": {"Id": str, "Name": str, "StartTime": str, "Input": ANY}, "State": ANY, "Task": ANY}


def machine_walks() -> list[Walk]:
    """Both machines, the main one first (it starts the MCQM one, whose input is what it passes)."""
    machines = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::StateMachine"}
    started: dict[str, Any] = {"AcoSyncStateMachine": fields_of(SyncExecutionInput)}
    walks = []
    for logical_id in ["AcoSyncStateMachine", *sorted(set(machines) - {"AcoSyncStateMachine"})]:
        props = machines[logical_id]["Properties"]
        definition = json.loads((REPO_ROOT / props["DefinitionUri"]).read_text())
        walk = Walk(logical_id, props["DefinitionSubstitutions"], started)
        assert logical_id in started, f"nothing starts {logical_id}"
        walk_states(
            walk, definition["States"], definition["StartAt"], started[logical_id], execution_context()
        )
        walks.append(walk)
    return walks


# ----- tests ----------------------------------------------------------------------------------------
def test_every_path_the_state_machines_read_is_declared_by_the_step_that_produced_it() -> None:
    walks = machine_walks()
    assert [w.machine for w in walks] == ["AcoSyncStateMachine", "McqmSyncStateMachine"]
    assert all(w.checked > 20 for w in walks)


def test_the_walk_fails_on_a_path_no_model_declares(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: "MCQM Needed?" reading a field FinalizeMemberSyncOutput does not have."""
    original = json.loads

    def renamed(text: str | bytes, **kwargs: Any) -> Any:
        return original(str(text).replace("$.finalize.mcqm_needed", "$.finalize.mcqm_required"), **kwargs)

    monkeypatch.setattr(json, "loads", renamed)
    with pytest.raises(AssertionError, match=r"\$\.finalize\.mcqm_required.*has no 'mcqm_required'"):
        machine_walks()


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_handler_has_one_contract_module_and_returns_its_output_model(folder: str) -> None:
    input_model, output_model = contract(folder)
    assert issubclass(output_model, StepOutput)  # undeclared keys are refused
    source = (FUNCTIONS_DIR / folder / "app.py").read_text()
    imported = {
        (node.module, alias.name)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    module = f"aco_sync.contracts.{folder}"
    assert {(module, input_model.__name__), (module, output_model.__name__)} <= imported
    assert f"{input_model.__name__}.model_validate" in source
    assert re.search(r"\.model_dump\(mode=\"json\"\)$", source.strip(), re.M)
    assert "BaseModel" not in source and "return {" not in source  # no event model or dict built here


def test_an_output_model_refuses_a_key_it_does_not_declare() -> None:
    with pytest.raises(ValidationError, match="extra"):
        SyncMemberClinicOutput.model_validate({"tin": "1", "status": "Sync Complete", "surprise": 1})


def test_one_clinic_status_vocabulary_and_old_stored_outcomes_still_load() -> None:
    """The clinic step's result and the stored outcome use the statuses the user sees; a status item
    stored before (outcome "synced"/"failed") loads as Sync Complete / Sync Failed."""
    assert (
        SyncMemberClinicOutput.model_validate({"tin": "1", "status": "Sync Failed"}).status
        is ClinicSyncStatus.FAILED
    )
    with pytest.raises(ValidationError):
        SyncMemberClinicOutput.model_validate({"tin": "1", "status": "synced"})
    old = json.loads('{"tin": "111111111", "status": "Sync Running", "sync_id": "s1", "outcome": "synced"}')
    assert ClinicStatus(**old).outcome == "Sync Complete"
    assert ClinicStatus(**{**old, "outcome": "failed"}).outcome == "Sync Failed"
    assert ClinicStatus(**{**old, "outcome": None}).outcome is None
    assert clinic_outcome("Sync Complete") is ClinicSyncStatus.COMPLETE
    with pytest.raises(ValueError):
        clinic_outcome("done")
