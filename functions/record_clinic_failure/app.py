"""RecordClinicFailureFunction (Map iterator Catch "Record Clinic Failure"): clinic -> Sync Failed."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from aco_sync.adapters.environment import container_stores
from aco_sync.service.clinic_sync import record_clinic_failure

logger = Logger()
tracer = Tracer()


class ClinicFailureEvent(BaseModel):
    aco_id: str
    sync_id: str
    tin: str
    name: str = ""
    error: str | None = None
    cause: str | None = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ClinicFailureEvent.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id, tin=request.tin)
    return record_clinic_failure(container_stores(), **request.model_dump())
