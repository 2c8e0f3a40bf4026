"""Runtime configuration of the Lambda handlers (environment variables set by template.yaml) and the
factory that turns it into boto3-backed stores."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from aco_sync.adapters.keys import KEY_FILE_ENV, SECRET_ENV, UnconfiguredPseudonymKey, key_source_from_env
from aco_sync.adapters.ports import ObjectStore, PseudonymKeySource, SyncStateStore, WorkflowStarter

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
    aco_sync_state_machine_arn: str = ""
    mcqm_state_machine_arn: str = ""
    # the MASTER_PAT_ID key (only finalize and the MCQM job read it); unconfigured: fails when used
    pseudonym_keys: PseudonymKeySource = field(default_factory=UnconfiguredPseudonymKey)


_container = threading.local()  # a Lambda container runs one invocation at a time: one thread
_generation = [0]  # bumped by reset_container_stores: every thread's kept stores are then stale


def container_stores() -> Stores:
    """This container's stores, for the handlers: built from the environment on the first invocation and
    kept for the next ones (a warm Lambda container reuses its boto3 clients). Built again when the
    environment names other stores: the local runner points each ACO at its own state folder
    (``ACO_SYNC_LOCAL_STATE_DIR``). Kept per thread (boto3 resources are not thread-safe; the local
    runner invokes handlers on several threads). Tests call :func:`reset_container_stores`."""
    settings = RuntimeSettings.from_env()
    key = (_generation[0], settings, os.environ.get(KEY_FILE_ENV, ""), os.environ.get(SECRET_ENV, ""))
    kept: tuple[tuple[object, ...], Stores] | None = getattr(_container, "stores", None)
    if kept is None or kept[0] != key:
        kept = _container.stores = (key, build_stores(settings))
    return kept[1]


def reset_container_stores() -> None:
    """Forget the stores :func:`container_stores` kept, on every thread (each test starts with none)."""
    _generation[0] += 1
    _container.stores = None


def build_stores(settings: RuntimeSettings | None = None) -> Stores:
    """Boto3-backed stores from the environment (new clients each call; handlers use
    :func:`container_stores`, which builds them once per container).

    With ``local_state_dir`` (``ACO_SYNC_LOCAL_STATE_DIR``, set by the local runner) the sync state is
    the SQLite file ``<dir>/state.db`` and the data bucket the folder ``<dir>/bucket/``; executions are
    the local runner's in-process Step Functions interpreter (``local_workflows``)."""
    settings = settings or RuntimeSettings.from_env()
    if settings.local_state_dir:
        return _local_stores(settings)
    from aco_sync.adapters.aws import DynamoDbSyncStateStore, S3ObjectStore, StepFunctionsWorkflowStarter

    return Stores(
        objects=S3ObjectStore(settings.bucket_name),
        state=DynamoDbSyncStateStore(settings.table_name, retention_days=settings.sync_log_retention_days),
        workflows=StepFunctionsWorkflowStarter(),
        aco_sync_state_machine_arn=settings.aco_sync_state_machine_arn,
        mcqm_state_machine_arn=settings.mcqm_state_machine_arn,
        pseudonym_keys=key_source_from_env(),
    )


def _local_stores(settings: RuntimeSettings) -> Stores:
    from aco_sync.adapters.filesystem import FilesystemObjectStore
    from aco_sync.adapters.local_workflows import (
        InProcessWorkflows,
        LocalWorkflowStarter,
        in_process_workflows,
    )
    from aco_sync.adapters.sqlite import SqliteSyncStateStore

    state_dir = Path(settings.local_state_dir)
    state = SqliteSyncStateStore(state_dir / STATE_FILE)
    inner: Callable[[], WorkflowStarter]
    if in_process_workflows() is not None:  # the local runner's interpreter (looked up at each call)
        inner = InProcessWorkflows
    else:  # Step Functions reached with boto3 (moto in the test suite)
        from aco_sync.adapters.aws import StepFunctionsWorkflowStarter

        inner = StepFunctionsWorkflowStarter
    return Stores(
        objects=FilesystemObjectStore(state_dir / BUCKET_DIR),
        state=state,
        workflows=LocalWorkflowStarter(inner, state),
        aco_sync_state_machine_arn=settings.aco_sync_state_machine_arn,
        mcqm_state_machine_arn=settings.mcqm_state_machine_arn,
        pseudonym_keys=key_source_from_env(),
    )
