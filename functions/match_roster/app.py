"""MatchRosterFunction (MCQM machine, state "Match Roster", an iteration of the Distributed Map
"Match Roster Partitions"): the roster match and MCQM instances of one engine partition."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.contracts.match_roster import MatchRosterInput, MatchRosterOutput
from aco_sync.service.mcqm_sync import match_roster

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = MatchRosterInput.model_validate(event)
    logger.append_keys(aco_id=request.aco_id, sync_id=request.sync_id)
    result = match_roster(container_stores(), **request.model_dump())
    return MatchRosterOutput.model_validate(result).model_dump(mode="json")
