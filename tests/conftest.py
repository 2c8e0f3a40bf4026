"""Test-wide settings: Powertools env vars, the shared fixtures folder, a fake Lambda context."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared_fixtures import REPO_ROOT, SHARED_DIR, shared_path

__all__ = ["REPO_ROOT", "SHARED_DIR", "shared_path"]

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "aco-sync")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AcoSync")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
# One pseudonym key for every local deployment the tests make (the key file wins over the deployed
# secret), so that results of separate deployments compare equal (a crashed run against a clean one).
# Tests of the key itself override it: the runner sets its state folder's file; test_iam_covers_calls
# removes it to exercise the Secrets Manager path.
os.environ.setdefault(
    "ACO_SYNC_PSEUDONYM_KEY_FILE", os.path.join(tempfile.mkdtemp(prefix="aco-sync-tests-"), "pseudonym.key")
)


@pytest.fixture(autouse=True)
def _fresh_container_stores() -> Iterator[None]:
    """Every test starts as a cold Lambda container: the handlers' stores are built anew (and never
    outlive the moto mock or state folder they were built for)."""
    from aco_sync.adapters.environment import reset_container_stores

    reset_container_stores()
    yield
    reset_container_stores()


@pytest.fixture
def shared_dir() -> Path:
    return shared_path()


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
