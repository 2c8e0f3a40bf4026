"""SyncClinicFunction (Map iteration "Sync Member Clinic"): one member clinic -> the aggregate."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from aco_sync.adapters.environment import container_stores
from aco_sync.service.clinic_sync import sync_member_clinic

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class SyncClinicEvent(BaseModel):
    aco_id: str
    sync_id: str
    tin: str
    name: str = ""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = SyncClinicEvent.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id, tin=request.tin)
    metrics.add_metric(name="ClinicSyncsStarted", unit=MetricUnit.Count, value=1)
    result = sync_member_clinic(container_stores(), **request.model_dump())
    written = result.get("upserts", 0) + result.get("deletes", 0)  # none when the clinic had no usable data
    metrics.add_metric(name="EncountersWritten", unit=MetricUnit.Count, value=written)
    metrics.add_metric(name="RecordsRead", unit=MetricUnit.Count, value=result.get("records", 0))
    return result
