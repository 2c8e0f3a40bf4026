"""IngestRosterFunction (EventBridge: S3 Object Created under rosters/): validate and store the roster,
make it active when it has valid rows, then start a sync through the guarded path."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from aco_sync.adapters.environment import container_stores
from aco_sync.service.roster_ingest import ingest_roster

logger = Logger()
tracer = Tracer()


class S3Object(BaseModel):
    key: str


class ObjectCreatedDetail(BaseModel):
    object: S3Object


class ObjectCreatedEvent(BaseModel):
    detail: ObjectCreatedDetail


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ObjectCreatedEvent.model_validate(event)
    return ingest_roster(container_stores(), key=request.detail.object.key)
