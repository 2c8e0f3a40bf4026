"""Runtime configuration of the Lambda handlers (environment variables set by template.yaml) and the
factory that turns it into boto3-backed stores."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from aco_sync.adapters.keys import UnconfiguredPseudonymKey, key_source_from_env
from aco_sync.adapters.ports import ObjectStore, PseudonymKeySource, Queue, SyncStateStore, WorkflowStarter

# Set by the local runner (aco_sync_local): the stores are the state folder's SQLite file and bucket folder.
LOCAL_STATE_DIR_VARIABLE = "ACO_SYNC_LOCAL_STATE_DIR"
STATE_FILE = "state.db"
BUCKET_DIR = "bucket"


class RuntimeSettings(BaseModel):
    """What a handler needs to reach its stores. Read with ``RuntimeSettings.from_env()``."""

    model_config = ConfigDict(frozen=True)

    table_name: str = ""
    bucket_name: str = ""
    # local runner: the state folder (SQLite state file + the bucket as a folder) instead of DynamoDB and S3
    local_state_dir: str = ""
    clinic_stats_queue_url: str = ""
    aco_sync_state_machine_arn: str = ""
    mcqm_state_machine_arn: str = ""
    sync_log_retention_days: int | None = None  # TTL of sync-log and result items (None: kept)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if environ is None else environ
        missing = [name for name in ("TABLE_NAME", "BUCKET_NAME") if not env.get(name)]
        if missing and not env.get(LOCAL_STATE_DIR_VARIABLE):
            raise RuntimeError(
                f"{' and '.join(missing)} not set: the handlers get them from template.yaml "
                "(locally: run inside aco_sync_local.local_aws.LocalAws)"
            )
        return cls(
            table_name=env.get("TABLE_NAME", ""),
            bucket_name=env.get("BUCKET_NAME", ""),
            local_state_dir=env.get(LOCAL_STATE_DIR_VARIABLE, ""),
            clinic_stats_queue_url=env.get("CLINIC_STATS_QUEUE_URL", ""),
            aco_sync_state_machine_arn=env.get("ACO_SYNC_STATE_MACHINE_ARN", ""),
            mcqm_state_machine_arn=env.get("MCQM_STATE_MACHINE_ARN", ""),
            sync_log_retention_days=int(env["SYNC_LOG_RETENTION_DAYS"])
            if env.get("SYNC_LOG_RETENTION_DAYS", "").isdigit()
            else None,
        )


@dataclass
class Stores:
    """Everything a service function reaches outside itself."""

    objects: ObjectStore
    state: SyncStateStore
    workflows: WorkflowStarter
    queue: Queue
    aco_sync_state_machine_arn: str = ""
    mcqm_state_machine_arn: str = ""
    clinic_stats_queue_url: str = ""
    # the MASTER_PAT_ID key (only finalize and the MCQM job read it); unconfigured: fails when used
    pseudonym_keys: PseudonymKeySource = field(default_factory=UnconfiguredPseudonymKey)


def build_stores(settings: RuntimeSettings | None = None) -> Stores:
    """Boto3-backed stores from the environment (clients are created per call: cheap, and moto-safe).

    With ``local_state_dir`` (``ACO_SYNC_LOCAL_STATE_DIR``, set by the local runner) the sync state is
    the SQLite file ``<dir>/state.db`` and the data bucket the folder ``<dir>/bucket/``; executions and
    the queue are the local runner's in-process Step Functions and queue (``local_workflows``)."""
    settings = settings or RuntimeSettings.from_env()
    if settings.local_state_dir:
        return _local_stores(settings)
    from aco_sync.adapters.aws import (
        DynamoDbSyncStateStore,
        S3ObjectStore,
        SqsQueue,
        StepFunctionsWorkflowStarter,
    )

    return Stores(
        objects=S3ObjectStore(settings.bucket_name),
        state=DynamoDbSyncStateStore(settings.table_name, retention_days=settings.sync_log_retention_days),
        workflows=StepFunctionsWorkflowStarter(),
        queue=SqsQueue(),
        aco_sync_state_machine_arn=settings.aco_sync_state_machine_arn,
        mcqm_state_machine_arn=settings.mcqm_state_machine_arn,
        clinic_stats_queue_url=settings.clinic_stats_queue_url,
        pseudonym_keys=key_source_from_env(),
    )


def _local_stores(settings: RuntimeSettings) -> Stores:
    from aco_sync.adapters.filesystem import FilesystemObjectStore
    from aco_sync.adapters.local_workflows import LocalWorkflowStarter, in_process_services
    from aco_sync.adapters.sqlite import SqliteSyncStateStore

    state_dir = Path(settings.local_state_dir)
    state = SqliteSyncStateStore(state_dir / STATE_FILE)
    services = in_process_services()
    if services is not None:  # the local runner's interpreter and queue
        workflows: Callable[[], WorkflowStarter] = lambda: services[0]  # noqa: E731
        queue: Queue = services[1]
    else:  # Step Functions and SQS reached with boto3 (moto in the test suite)
        from aco_sync.adapters.aws import SqsQueue, StepFunctionsWorkflowStarter

        workflows, queue = StepFunctionsWorkflowStarter, _LazyQueue(SqsQueue)
    return Stores(
        objects=FilesystemObjectStore(state_dir / BUCKET_DIR),
        state=state,
        workflows=LocalWorkflowStarter(workflows, state),
        queue=queue,
        aco_sync_state_machine_arn=settings.aco_sync_state_machine_arn,
        mcqm_state_machine_arn=settings.mcqm_state_machine_arn,
        clinic_stats_queue_url=settings.clinic_stats_queue_url,
        pseudonym_keys=key_source_from_env(),
    )


class _LazyQueue:
    """A queue whose client is made on first send (most local handlers never send)."""

    def __init__(self, make: Callable[[], Queue]) -> None:
        self._make = make
        self._queue: Queue | None = None

    def send(self, queue_url: str, message: Mapping[str, Any]) -> None:
        if self._queue is None:
            self._queue = self._make()
        self._queue.send(queue_url, message)
