"""CombineRosterMatchesFunction (MCQM machine, state "Combine Roster Matches"): the MCQM instances'
stats and log from the partitions' sums."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.contracts.combine_roster_matches import CombineRosterMatchesInput, CombineRosterMatchesOutput
from aco_sync.service.mcqm_sync import combine_roster_matches

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = CombineRosterMatchesInput.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    result = combine_roster_matches(container_stores(), **request.model_dump())
    return CombineRosterMatchesOutput.model_validate(result).model_dump(mode="json")
