"""Runtime configuration of the Lambda handlers (environment variables set by template.yaml) and the
factory that turns it into boto3-backed stores."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from aco_sync.adapters.keys import UnconfiguredPseudonymKey, key_source_from_env
from aco_sync.adapters.ports import ObjectStore, PseudonymKeySource, Queue, SyncStateStore, WorkflowStarter


class RuntimeSettings(BaseModel):
    """What a handler needs to reach its stores. Read with ``RuntimeSettings.from_env()``."""

    model_config = ConfigDict(frozen=True)

    table_name: str
    bucket_name: str
    clinic_stats_queue_url: str = ""
    aco_sync_state_machine_arn: str = ""
    mcqm_state_machine_arn: str = ""
    sync_log_retention_days: int | None = None  # TTL of sync-log and result items (None: kept)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if environ is None else environ
        missing = [name for name in ("TABLE_NAME", "BUCKET_NAME") if not env.get(name)]
        if missing:
            raise RuntimeError(
                f"{' and '.join(missing)} not set: the handlers get them from template.yaml "
                "(locally: run inside aco_sync_local.local_aws.LocalAws)"
            )
        return cls(
            table_name=env["TABLE_NAME"],
            bucket_name=env["BUCKET_NAME"],
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
    """Boto3-backed stores from the environment (clients are created per call: cheap, and moto-safe)."""
    from aco_sync.adapters.aws import (
        DynamoDbSyncStateStore,
        S3ObjectStore,
        SqsQueue,
        StepFunctionsWorkflowStarter,
    )

    settings = settings or RuntimeSettings.from_env()
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
