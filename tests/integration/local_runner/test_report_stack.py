"""``aco-sync report --stack NAME`` downloads the latest sync's results from a deployed stack (here: the
real template in moto) and prints the report path and the ACO quality score, as the local form does.

As in test_deployed_stack.py, the stack's outputs come from a botocore Stubber; the table and bucket
they name are real (moto) resources.
"""

from __future__ import annotations

import json
import re
import shutil
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_deployed_stack import REAL_SESSION, SAMPLE_ACO, StubbedCloudFormationSession

from aco_sync.adapters.environment import build_stores
from aco_sync.adapters.ports import SyncRun
from aco_sync.service.common import SyncStatus
from aco_sync_local.cli import main
from aco_sync_local.local_aws import LocalAws
from aco_sync_local.runner import LocalSyncResult, ingest_uploaded_rosters
from aco_sync_local.summary import quality_score_lines

STACK = "aco-sync-prod"


def use_stack(monkeypatch: pytest.MonkeyPatch, stacks: dict[str, dict[str, str]]) -> None:
    monkeypatch.setattr(boto3, "Session", lambda region_name=None: StubbedCloudFormationSession(stacks))


class RegionalStubbedSession(StubbedCloudFormationSession):
    """The stubbed session in the given region (``--region``), making resources as boto3.Session does."""

    def __init__(self, stacks: dict[str, dict[str, str]], region_name: str | None) -> None:
        super().__init__(stacks)
        self.session = REAL_SESSION(region_name=region_name)

    def resource(self, service: str) -> Any:
        return self.session.resource(service)  # type: ignore[call-overload]


@pytest.fixture
def deployed_stack(tmp_path: Path) -> Iterator[tuple[LocalAws, dict[str, str]]]:
    """The real template deployed in moto with the sample ACO uploaded, and no sync yet."""
    folder = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, folder)
    with LocalAws(fast_retries=True) as aws:
        ingest_uploaded_rosters(aws.upload_folder(folder), "DEMO1")
        deployment = aws.deployment
        outputs = {
            "DataBucketName": deployment.physical_id("DataBucket"),
            "SyncStateTableName": deployment.physical_id("SyncStateTable"),
        }
        yield aws, outputs


def bucket_files(aws: LocalAws, prefix: str) -> dict[str, bytes]:
    s3 = aws.client("s3")
    bucket = aws.bucket_name("DataBucket")
    return {
        key[len(prefix) :]: s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        for key in aws.list_keys(prefix, bucket_logical_id="DataBucket")
    }


@dataclass
class StackCli:
    """The deployed stack and its outputs, with the CLI pointed at it by ``use``."""

    aws: LocalAws
    outputs: dict[str, str]
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def start_sync(self) -> str:
        """A manual sync of DEMO1, run to its end: its sync id."""
        started = self.aws.invoke("StartSyncFunction", {"aco_id": "DEMO1", "trigger": "manual"})
        self.aws.wait_for_executions(timeout=120)
        return str(started["started"][0]["sync_id"])

    def use(self) -> None:
        """boto3 sessions read this stack's outputs; what was printed so far is dropped."""
        use_stack(self.monkeypatch, {STACK: self.outputs})
        self.capsys.readouterr()

    def error(self) -> str:
        """What the CLI wrote to stderr, after checking it wrote nothing to stdout."""
        captured = self.capsys.readouterr()
        assert captured.out == ""
        return captured.err


@pytest.fixture
def stack(
    deployed_stack: tuple[LocalAws, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> StackCli:
    aws, outputs = deployed_stack
    return StackCli(aws, outputs, monkeypatch, capsys)


def downloaded_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_report_downloads_the_latest_sync_and_prints_path_and_score(
    stack: StackCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    aws, outputs = stack.aws, stack.outputs
    sync_id = stack.start_sync()
    expected = bucket_files(aws, f"results/DEMO1/{sync_id}/")
    assert "report.html" in expected and "quality-score.json" in expected and "measures.csv" in expected
    score = json.loads(expected["quality-score.json"])
    stack.use()

    out = tmp_path / "downloaded"
    assert main(["report", "--stack", STACK, "--aco", "DEMO1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert downloaded_files(out) == expected
    local_form = LocalSyncResult("DEMO1", "-", "", "", [], [], {}, quality_score=score)
    assert printed == [str((out / "report.html").resolve()), *quality_score_lines(local_form)]

    # the score the sync wrote, printed as the local form prints it
    aws.client("s3").put_object(
        Bucket=outputs["DataBucketName"],
        Key=f"results/DEMO1/{sync_id}/quality-score.json",
        Body=json.dumps({**score, "quality_score": 87.456, "measures_scored": 3}).encode(),
    )
    expected = bucket_files(aws, f"results/DEMO1/{sync_id}/")
    # default folder (under the working directory), the only configured ACO, and --open
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--stack", STACK, "--open"]) == 0
    default_dir = tmp_path / ".aco-sync" / "stack-results" / "DEMO1" / sync_id
    report = (default_dir / "report.html").resolve()
    assert downloaded_files(default_dir) == expected
    assert capsys.readouterr().out.splitlines() == [
        str(report),
        "ACO quality score: 87.46 (3 measure instances scored)",
    ]
    assert opened == [report.as_uri()]


def test_report_of_an_aco_without_a_sync_is_a_clear_error(stack: StackCli, tmp_path: Path) -> None:
    stack.use()

    assert main(["report", "--stack", STACK, "--out", str(tmp_path / "out")]) == 1
    assert stack.error() == f"aco-sync: error: ACO DEMO1 has no sync in stack {STACK} yet\n"
    assert not (tmp_path / "out").exists()


def test_report_of_a_failed_sync_without_report_is_a_clear_error(stack: StackCli, tmp_path: Path) -> None:
    outputs = stack.outputs
    sync_id = "sync-20260105T060000Z-abcd"
    build_stores().state.put_sync_run(
        SyncRun(
            aco_id="DEMO1",
            sync_id=sync_id,
            status=SyncStatus.FAILED,
            trigger="schedule",
            started="2026-01-05T06:00:00+00:00",
            finished="2026-01-05T06:01:00+00:00",
            error="NoClinicSyncedError: no member clinic synced",
        )
    )
    stack.use()

    assert main(["report", "--stack", STACK, "--aco", "DEMO1", "--out", str(tmp_path / "out")]) == 1
    assert stack.error() == (
        f"aco-sync: error: the latest sync of ACO DEMO1 in stack {STACK} ({sync_id}, Sync Failed: "
        "NoClinicSyncedError: no member clinic synced) wrote no report.html (nothing at "
        f"s3://{outputs['DataBucketName']}/results/DEMO1/{sync_id}/report.html)\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("stacks", "message"),
    [
        ({"other": {"QueueUrl": "x"}}, "Stack other has no output SyncStateTableName, DataBucketName"),
        (
            {"other": {"SyncStateTableName": "t", "QueueUrl": "x"}},
            "Stack other has no output DataBucketName",
        ),
        ({}, "Cannot read stack other: .*does not exist"),
    ],
)
def test_report_of_a_stack_without_aco_sync_outputs_is_a_clear_error(
    stacks: dict[str, dict[str, str]],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_stack(monkeypatch, stacks)

    assert main(["report", "--stack", "other"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("aco-sync: error: ")
    assert re.search(message, captured.err)


def test_out_without_stack_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--state-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert "--out needs --stack" in capsys.readouterr().err


def test_region_option_reaches_the_table_and_bucket(
    stack: StackCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stack is in us-east-1 while boto3's default region is elsewhere: ``--region`` must apply to
    the table and bucket reads too, not only to CloudFormation."""
    outputs = stack.outputs
    sync_id = stack.start_sync()
    monkeypatch.setattr(
        boto3, "Session", lambda region_name=None: RegionalStubbedSession({STACK: outputs}, region_name)
    )
    capsys.readouterr()
    with monkeypatch.context() as env:  # undone before LocalAws restores its own environment
        env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        env.setenv("AWS_REGION", "eu-west-1")
        out = tmp_path / "out"
        assert main(["report", "--stack", STACK, "--region", "us-east-1", "--out", str(out)]) == 0
        assert capsys.readouterr().out.splitlines()[0] == str((out / "report.html").resolve())
        assert main(["status", "--stack", STACK, "--region", "us-east-1", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["sync"]["sync_id"] == sync_id

        assert main(["report", "--stack", STACK, "--region", "eu-west-1", "--out", str(out)]) == 1
        assert "Cannot read the sync state of stack aco-sync-prod: " in capsys.readouterr().err
