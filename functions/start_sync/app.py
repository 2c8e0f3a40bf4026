"""StartSyncFunction: the daily schedule (``{"all_configured": true, "trigger": "schedule"}``) and manual
starts (``{"aco_id": "A1"}``) start one sync execution per ACO."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import build_stores
from aco_sync.service.start_sync import StartSyncRequest, start_syncs

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = StartSyncRequest.model_validate(event)
    return {"started": start_syncs(build_stores(), request)}
