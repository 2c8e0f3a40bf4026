"""AggregateMemberPartitionFunction (state "Aggregate Member Partition", an iteration of the
Distributed Map "Aggregate Member Partitions"): the CQM/eCQM aggregation of one engine partition."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.contracts.aggregate_member_partition import (
    AggregateMemberPartitionInput,
    AggregateMemberPartitionOutput,
)
from aco_sync.service.partitions import aggregate_member_partition

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = AggregateMemberPartitionInput.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    result = aggregate_member_partition(container_stores(), **request.model_dump())
    return AggregateMemberPartitionOutput.model_validate(result).model_dump(mode="json")
