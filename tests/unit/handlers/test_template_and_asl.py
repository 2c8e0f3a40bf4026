"""template.yaml, the ASL files and functions/ agree: every substitution is defined and used, every
function folder is deployed, every Task retries transient errors and catches failures, and every error
name the ASL matches is a real exception class."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

import aco_sync.domain.errors as domain_errors
from support.handlers import FUNCTIONS_DIR, REPO_ROOT

TEMPLATE = cfn_yaml.load(str(REPO_ROOT / "template.yaml"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
MACHINES = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::StateMachine"}
FAILURE_PATH = {
    "Record Sync Failure",
    "Release ACO Lock After Failure",
    "Record Sync Aborted",
    "Release ACO Lock After Abort",
    "Record Clinic Failure",
}
AWS_ERROR_PREFIXES = ("States.", "Lambda.", "SQS.", "StepFunctions.")


def asl(machine: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads((REPO_ROOT / machine["Properties"]["DefinitionUri"]).read_text())
    return definition


def all_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        yield name, state
        if state["Type"] == "Map":
            yield from all_states(state["ItemProcessor"])


def test_both_machines_use_definition_uri_never_inline() -> None:
    assert set(MACHINES) == {"AcoSyncStateMachine", "McqmSyncStateMachine"}
    for machine in MACHINES.values():
        assert "Definition" not in machine["Properties"] and "DefinitionUri" in machine["Properties"]


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_substitutions_are_defined_and_used(logical_id: str) -> None:
    machine = MACHINES[logical_id]
    used = set(re.findall(r"\$\{(\w+)\}", (REPO_ROOT / machine["Properties"]["DefinitionUri"]).read_text()))
    assert used == set(machine["Properties"]["DefinitionSubstitutions"])


def test_every_function_folder_is_deployed_and_every_function_has_code() -> None:
    code_uris = {
        r["Properties"]["CodeUri"].rstrip("/")
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    folders = {f"functions/{p.name}" for p in FUNCTIONS_DIR.iterdir() if (p / "app.py").is_file()}
    assert code_uris == folders


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_every_task_retries_transient_errors_and_catches_failures(logical_id: str) -> None:
    for name, state in all_states(asl(MACHINES[logical_id])):
        if state["Type"] != "Task":
            continue
        assert state.get("Retry"), f"{name} has no Retry"
        if state["Resource"].startswith("${"):
            retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
            assert {
                "Lambda.ServiceException",
                "Lambda.TooManyRequestsException",
                "TransientStoreError",
            } <= retried
            assert all(r["BackoffRate"] > 1 for r in state["Retry"])
        if name not in FAILURE_PATH:
            caught = {e for c in state.get("Catch", []) for e in c["ErrorEquals"]}
            assert "States.ALL" in caught, f"{name} does not catch failures"


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_matched_error_names_are_domain_exceptions(logical_id: str) -> None:
    domain_names = {
        error
        for _name, state in all_states(asl(MACHINES[logical_id]))
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]
        for error in rule["ErrorEquals"]
        if not error.startswith(AWS_ERROR_PREFIXES)
    }
    assert "TransientStoreError" in domain_names  # every Lambda task retries it: the scan found the rules
    for error in domain_names:
        assert issubclass(getattr(domain_errors, error, type(None)), domain_errors.AcoSyncError), error


def test_main_machine_has_the_spec_states_and_starts_the_mcqm_job_asynchronously() -> None:
    states = dict(all_states(asl(MACHINES["AcoSyncStateMachine"])))
    for name in (
        "Acquire ACO Lock",
        "Validate Roster",
        "Initial Sync",
        "Clean Up Removed Encounters",
        "Sync Member Clinics In Batches",
        "List Clinic Batch",
        "Sync Each Member Clinic",
        "Finalize Member Sync",
        "MCQM Needed?",
        "Start MCQM Sync",
        "Update Aggregate Stats",
        "Queue Clinic Stats",
        "Mark Sync Complete",
        "Release ACO Lock",
        "Record Sync Failure",
        "Skipped: Already Running",
    ):
        assert name in states
    assert states["Start MCQM Sync"]["Resource"] == "arn:aws:states:::states:startExecution"
    assert states["Queue Clinic Stats"]["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert states["Sync Each Member Clinic"]["Type"] == "Map"


def test_globals_and_storage_settings() -> None:
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.11" and globals_["Tracing"] == "Active"
    assert {"TABLE_NAME", "BUCKET_NAME", "POWERTOOLS_SERVICE_NAME"} <= set(
        globals_["Environment"]["Variables"]
    )
    table = RESOURCES["SyncStateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST" and table["SSESpecification"]["SSEEnabled"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    bucket = RESOURCES["DataBucket"]["Properties"]
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    schedule = RESOURCES["StartSyncFunction"]["Properties"]["Events"]["DailySync"]
    assert json.loads(schedule["Properties"]["Input"]) == {"all_configured": True, "trigger": "schedule"}
    layer = RESOURCES["CommonLayer"]
    assert (
        layer["Properties"]["ContentUri"] == "layers/common"
        and layer["Metadata"]["BuildMethod"] == "python3.11"
    )
