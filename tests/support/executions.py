"""Waiting for one execution of the local runner (LocalAws or LocalStack) to leave RUNNING."""

from __future__ import annotations

import time
from typing import Protocol

from aco_sync_local.executions import ExecutionSummary


class DescribesExecutions(Protocol):
    def describe_execution(self, execution_arn: str) -> ExecutionSummary: ...


def wait_until_finished(aws: DescribesExecutions, execution_arn: str, timeout: float = 60) -> str:
    """The execution's final status; an AssertionError if it still runs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = aws.describe_execution(execution_arn).status
        if status != "RUNNING":
            return status
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still RUNNING after {timeout}s")
