"""RecordClinicFailureFunction (Map iterator Catch "Record Clinic Failure"): clinic -> Sync Failed."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.contracts.record_clinic_failure import RecordClinicFailureInput, RecordClinicFailureOutput
from aco_sync.service.clinic_sync import record_clinic_failure

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RecordClinicFailureInput.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id, tin=request.tin)
    result = record_clinic_failure(container_stores(), **request.model_dump())
    return RecordClinicFailureOutput.model_validate(result).model_dump(mode="json")
