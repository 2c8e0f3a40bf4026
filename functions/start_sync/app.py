"""StartSyncFunction: the daily schedule (``{"all_configured": true, "trigger": "schedule"}``) and manual
starts (``{"aco_id": "A1"}``) start one sync execution per ACO."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.service.start_sync import StartSyncRequest, start_syncs

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = StartSyncRequest.model_validate(event)
    started = start_syncs(container_stores(), request)
    metrics.add_metric(
        name="SyncsStarted", unit=MetricUnit.Count, value=sum(1 for s in started if "sync_id" in s)
    )
    return {"started": started}
