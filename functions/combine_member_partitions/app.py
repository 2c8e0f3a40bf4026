"""CombineMemberPartitionsFunction (state "Combine Member Partitions"): the members' stats and log
from the partitions' sums."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.contracts.combine_member_partitions import (
    CombineMemberPartitionsInput,
    CombineMemberPartitionsOutput,
)
from aco_sync.service.partitions import combine_member_partitions

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = CombineMemberPartitionsInput.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    result = combine_member_partitions(container_stores(), **request.model_dump())
    return CombineMemberPartitionsOutput.model_validate(result).model_dump(mode="json")
