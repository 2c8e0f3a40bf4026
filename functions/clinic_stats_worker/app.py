"""ClinicStatsWorkerFunction (SQS): the ACO clinic stats job. Failed messages are reported back as
partial batch failures (they return to the queue, then to the DLQ)."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aco_sync.adapters.environment import container_stores
from aco_sync.service.clinic_stats import ClinicStatsMessage, store_clinic_stats

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def handle_record(record: SQSRecord) -> dict[str, Any]:
    message = ClinicStatsMessage.model_validate_json(record.body)
    return store_clinic_stats(container_stores(), message)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
