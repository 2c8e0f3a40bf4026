"""CleanupFunction (state "Clean Up Removed Encounters"): remove aggregate encounters whose source is gone."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.service.cleanup import clean_up_removed_encounters
from aco_sync.service.events import SyncStepEvent

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = SyncStepEvent.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    return clean_up_removed_encounters(container_stores(), **request.model_dump())
