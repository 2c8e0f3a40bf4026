"""``aco-sync status|history --stack NAME`` read a deployed stack (here: the real template in moto).

moto's CloudFormation needs extra packages, so the stack's outputs come from a botocore Stubber; the
table, bucket and state machines they name are real (moto) resources.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from aco_sync_local.cli import main
from aco_sync_local.deployed_stack import stack_outputs
from aco_sync_local.local_aws import LocalAws
from aco_sync_local.runner import LocalRunError, ingest_uploaded_rosters

REAL_SESSION = boto3.Session
SAMPLE_ACO = Path(__file__).resolve().parent / "fixtures" / "sample_aco"


class StubbedCloudFormationSession:
    """A boto3 session whose CloudFormation client answers describe_stacks with given outputs."""

    def __init__(self, stacks: dict[str, dict[str, str]]) -> None:
        self.stacks = stacks
        self.session = REAL_SESSION(region_name="us-east-1")

    def client(self, service: str) -> Any:
        client = self.session.client(service)  # type: ignore[call-overload]
        if service != "cloudformation":
            return client
        stubber = Stubber(client)
        for name, outputs in self.stacks.items():
            stubber.add_response(
                "describe_stacks",
                {
                    "Stacks": [
                        {
                            "StackName": name,
                            "CreationTime": "2026-01-01T00:00:00Z",
                            "StackStatus": "CREATE_COMPLETE",
                            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                        }
                    ]
                },
                {"StackName": name},
            )
        stubber.add_client_error("describe_stacks", "ValidationError", "Stack with id nope does not exist")
        stubber.activate()
        return client


@pytest.fixture
def synced_stack(tmp_path: Path) -> Iterator[tuple[LocalAws, dict[str, Any], dict[str, str]]]:
    folder = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, folder)
    with LocalAws(fast_retries=True) as aws:
        ingest_uploaded_rosters(aws.upload_folder(folder), "DEMO1")
        started = aws.invoke("StartSyncFunction", {"aco_id": "DEMO1", "trigger": "manual"})["started"][0]
        aws.wait_for_executions(timeout=120)
        deployment = aws.deployment
        outputs = {
            "DataBucketName": deployment.physical_id("DataBucket"),
            "SyncStateTableName": deployment.physical_id("SyncStateTable"),
            "AcoSyncStateMachineArn": deployment.arn("AcoSyncStateMachine"),
            "McqmSyncStateMachineArn": deployment.arn("McqmSyncStateMachine"),
        }
        yield aws, started, outputs


def test_status_and_history_of_a_deployed_stack(
    synced_stack: tuple[LocalAws, dict[str, Any], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, started, outputs = synced_stack
    monkeypatch.setattr(
        boto3, "Session", lambda region_name=None: StubbedCloudFormationSession({"aco-sync-prod": outputs})
    )
    capsys.readouterr()

    assert main(["status", "--stack", "aco-sync-prod", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["sync"]["sync_id"] == started["sync_id"]
    assert sorted(c["tin"] for c in status["clinics"]) == ["111111111", "222222222"]
    assert status["executions"][0]["name"] == started["sync_id"]

    assert main(["history", "--stack", "aco-sync-prod", "--aco", "DEMO1"]) == 0
    history = capsys.readouterr().out
    assert f"AcoSyncStateMachine {started['sync_id']}:" in history
    assert "State" in history and "Duration" in history


def test_unknown_stack_is_a_clear_error() -> None:
    session = StubbedCloudFormationSession({})
    with pytest.raises(LocalRunError, match=r"Cannot read stack nope: .*does not exist"):
        stack_outputs("nope", session)  # type: ignore[arg-type]


def test_stack_without_aco_sync_outputs_is_refused() -> None:
    session = StubbedCloudFormationSession({"other": {"QueueUrl": "x"}})
    with pytest.raises(LocalRunError, match="Stack other has no output SyncStateTableName, DataBucketName"):
        stack_outputs("other", session)  # type: ignore[arg-type]
