"""LocalAws shares one boto3 client per service (created once, also when threads ask at the same time),
and waiting for executions describes a finished execution once, not on every poll."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aco_sync_local.local_aws import ExecutionSummary, LocalAws


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    template = Path(__file__).resolve().parent / "fixtures" / "template.yaml"
    with LocalAws(template, fast_retries=True) as local:
        yield local


def test_a_client_is_created_once_per_service(aws: LocalAws) -> None:
    assert aws.client("s3") is aws.client("s3")
    assert aws.client("sqs") is not aws.client("s3")
    assert aws.client("s3").list_buckets()["Buckets"]  # a working client of the mocked stack


def test_threads_asking_at_once_share_one_client(aws: LocalAws) -> None:
    barrier = threading.Barrier(8)
    clients: list[Any] = []

    def ask() -> None:
        barrier.wait()
        clients.append(aws.client("dynamodb"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clients) == 8 and all(c is clients[0] for c in clients)


def test_waiting_describes_a_finished_execution_once(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    described: Counter[str] = Counter()
    real = aws.describe_execution

    def counted(execution_arn: str) -> ExecutionSummary:
        described[execution_arn] += 1
        return real(execution_arn)

    monkeypatch.setattr(aws, "describe_execution", counted)
    payload = {"start_child": False, "clinics": []}
    first = aws.start_execution("MainStateMachine", {**payload, "aco_id": "POLL1"})
    summaries = aws.wait_for_executions(timeout=30)
    assert first in {s.execution_arn for s in summaries}
    assert all(s.status != "RUNNING" for s in summaries)
    described.clear()

    second = aws.start_execution("MainStateMachine", {**payload, "aco_id": "POLL2"})
    summaries = aws.wait_for_executions(timeout=30)
    assert described[first] == 0  # finished before: not described again
    assert described[second] >= 1
    assert second in {s.execution_arn for s in summaries}
    assert {s.execution_arn for s in summaries} == {s.execution_arn for s in aws.list_executions()}

    described.clear()
    aws.wait_for_executions(timeout=30)
    assert sum(described.values()) == 0  # nothing running: nothing described
