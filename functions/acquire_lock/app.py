"""AcquireLockFunction (state "Acquire ACO Lock"): take the per-ACO lock, or report it held (skip)."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from aco_sync.adapters.environment import container_stores
from aco_sync.service.lock import acquire_lock

logger = Logger()
tracer = Tracer()


class AcquireLockEvent(BaseModel):
    aco_id: str
    sync_id: str
    trigger: str = "manual"
    execution_arn: str


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = AcquireLockEvent.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    return acquire_lock(container_stores(), **request.model_dump())
