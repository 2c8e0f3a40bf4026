"""FinalizeMemberSyncFunction (state "Finalize Member Sync"): clinics Sync Complete, measure plan,
the engine partitions' manifest."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.contracts.finalize_member_sync import FinalizeMemberSyncInput, FinalizeMemberSyncOutput
from aco_sync.service.finalize import finalize_member_sync

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = FinalizeMemberSyncInput.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    result = FinalizeMemberSyncOutput.model_validate(
        finalize_member_sync(container_stores(), **request.model_dump())
    )
    metrics.add_metric(name="RecordsAggregated", unit=MetricUnit.Count, value=result.records)
    metrics.add_metric(name="ClinicsFailed", unit=MetricUnit.Count, value=result.failed_tin_count)
    return result.model_dump(mode="json")
