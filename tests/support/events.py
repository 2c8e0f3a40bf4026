"""The events AWS delivers to the handlers, delivered to a local runner (LocalAws or LocalStack)."""

from __future__ import annotations

from typing import Any, Protocol


class InvokesFunctions(Protocol):
    def bucket_name(self, bucket_logical_id: str | None = None) -> str: ...

    def invoke(self, function_logical_id: str, event: Any) -> Any: ...


def ingest_roster_event(aws: InvokesFunctions, key: str) -> dict[str, Any]:
    """Deliver the S3 "Object Created" event of ``key`` to the roster ingest, as the EventBridge rule does."""
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": aws.bucket_name()}, "object": {"key": key}},
    }
    result: dict[str, Any] = aws.invoke("IngestRosterFunction", event)
    return result
