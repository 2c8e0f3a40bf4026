"""ListClinicBatchFunction (state "List Clinic Batch"): the member clinics of one batch of the sync (at
most ``CLINIC_BATCH_SIZE``), so that the state machine never holds the whole clinic list."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from aco_sync.adapters.environment import container_stores
from aco_sync.service.validation import clinic_batch

logger = Logger()
tracer = Tracer()


class ClinicBatchEvent(BaseModel):
    aco_id: str
    sync_id: str
    batch: int = Field(ge=0)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ClinicBatchEvent.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    return clinic_batch(container_stores(), **request.model_dump())
