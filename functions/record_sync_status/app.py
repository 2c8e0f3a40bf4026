"""RecordSyncStatusFunction: status transitions (MCQM Sync Queued/Running, Sync Complete, Sync Failed,
Sync Aborted). Failures carry the Catch block's ``error`` and ``cause``."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from aco_sync.adapters.environment import container_stores
from aco_sync.service.common import SyncStatus
from aco_sync.service.sync_status import record_sync_status

logger = Logger()
tracer = Tracer()


class RecordSyncStatusEvent(BaseModel):
    aco_id: str
    sync_id: str
    status: SyncStatus
    execution_arn: str | None = None
    error: str | None = None
    cause: str | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RecordSyncStatusEvent.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    return record_sync_status(container_stores(), **request.model_dump())
