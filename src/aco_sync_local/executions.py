"""Executions and their histories as the local runner reports them (no AWS imports).

``summarise_history`` turns Step Functions ``GetExecutionHistory`` events (the local interpreter's,
moto's or a deployed stack's) into one ``HistoryRow`` per state visit, as the console's event view
summarises it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)


class ExecutionsTimeoutError(TimeoutError):
    """Executions still RUNNING when ``wait_for_executions`` gave up (the message lists them)."""


class LocalFunctionError(Exception):
    """A handler invoked with ``LocalAws.invoke`` raised; ``error_type`` is the exception class name."""

    def __init__(self, function: str, error_type: str, error_message: str) -> None:
        super().__init__(f"{function} failed with {error_type}: {error_message}")
        self.function = function
        self.error_type = error_type
        self.error_message = error_message


def invoke_queue_batch(
    invoke: Callable[[str, dict[str, Any]], Any],
    function_logical_id: str,
    records: list[dict[str, Any]],
    message_ids: Iterable[str],
) -> set[str]:
    """One SQS batch handed to its function, as the event source mapping does: the ids of the messages
    that failed (``batchItemFailures``; every message of the batch when the function raised)."""
    ids = list(message_ids)
    try:
        result = invoke(function_logical_id, {"Records": records})
    except LocalFunctionError as error:
        logger.warning("%s failed on %d queued messages: %s", function_logical_id, len(ids), error)
        return set(ids)
    if not isinstance(result, dict):
        return set()
    return {str(item.get("itemIdentifier")) for item in result.get("batchItemFailures", [])}


@dataclass(frozen=True)
class ExecutionSummary:
    execution_arn: str
    state_machine: str  # logical id in the template
    name: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    start: str  # ISO 8601
    stop: str | None
    duration_ms: int | None
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HistoryRow:
    """One state as the Step Functions console's event view summarises it."""

    state: str
    type: str  # Task, Map, Choice, Pass, Fail, Succeed, Wait, Parallel
    status: str  # Succeeded, Failed, Caught, Running
    start: str  # ISO 8601
    duration_ms: int | None
    error: str | None = None
    cause: str | None = None
    retries: int = 0
    iteration: int | None = None  # index of the Map iteration this visit belongs to
    depth: int = 0  # nesting: 0 for top-level states, 1 inside a Map iteration, ...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def duration_ms(start: Any, stop: Any) -> int | None:
    if isinstance(start, datetime) and isinstance(stop, datetime):
        return max(0, round((stop - start).total_seconds() * 1000))
    return None


def json_or_text(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def summarise_history(events: list[dict[str, Any]], execution_status: str = "SUCCEEDED") -> list[HistoryRow]:
    """Group raw ``get_execution_history`` events into one row per state visit.

    Events are attributed to the state visit they belong to by following ``previousEventId`` back to
    a ``*StateEntered`` event (Map iterations interleave), falling back to the latest open state.
    """
    rows: list[dict[str, Any]] = []
    open_rows: list[dict[str, Any]] = []
    owner_of: dict[int, dict[str, Any]] = {}
    context_of: dict[int, tuple[int | None, int]] = {}  # event id -> (Map iteration, depth)

    def owner(event: dict[str, Any], state_type: str | None = None) -> dict[str, Any] | None:
        row = owner_of.get(event.get("previousEventId", -1))
        if row is not None and row in open_rows and (state_type is None or row["type"] == state_type):
            return row
        candidates = [r for r in open_rows if state_type is None or r["type"] == state_type]
        return candidates[-1] if candidates else None

    for event in events:
        event_type: str = event["type"]
        if event_type.endswith("StateEntered"):
            row = {
                "state": event["stateEnteredEventDetails"]["name"],
                "type": event_type[: -len("StateEntered")],
                "status": "Running",
                "start": event["timestamp"],
                "stop": None,
                "error": None,
                "cause": None,
                "retries": 0,
                "attempts": 0,
            }
            row["iteration"], row["depth"] = context_of.get(event.get("previousEventId", -1), (None, 0))
            context_of[event["id"]] = (row["iteration"], row["depth"])
            rows.append(row)
            open_rows.append(row)
            owner_of[event["id"]] = row
            continue
        if event_type.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            exited = owner(event)
            if exited is None or exited["state"] != name:
                exited = next((r for r in reversed(open_rows) if r["state"] == name), None)
            if exited is not None:
                context_of[event["id"]] = (exited["iteration"], exited["depth"])
                exited["stop"] = event["timestamp"]
                exited["status"] = "Caught" if exited["error"] else "Succeeded"
                open_rows.remove(exited)
            continue
        if event_type.startswith("Execution") and (
            event_type.endswith("Failed") or event_type.endswith("TimedOut") or event_type.endswith("Aborted")
        ):
            details = next(
                (v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {}
            )
            for row in open_rows:
                row["status"] = "Failed"
                row["stop"] = event["timestamp"]
                row["error"] = row["error"] or details.get("error")
                row["cause"] = row["cause"] or details.get("cause")
            open_rows.clear()
            continue
        context_of[event["id"]] = context_of.get(event.get("previousEventId", -1), (None, 0))
        row_of_event = owner(event)
        if row_of_event is None:
            continue
        owner_of[event["id"]] = row_of_event
        if event_type == "MapIterationStarted":
            map_row = owner(event, "Map") or row_of_event
            owner_of[event["id"]] = map_row
            index = event.get("mapIterationStartedEventDetails", {}).get("index")
            context_of[event["id"]] = (index, map_row["depth"] + 1)
        if event_type in ("LambdaFunctionScheduled", "TaskScheduled"):
            row_of_event["attempts"] += 1
            row_of_event["retries"] = max(0, row_of_event["attempts"] - 1)
            if row_of_event["attempts"] > 1:
                row_of_event["error"] = row_of_event["cause"] = None  # a retry: the last attempt decides
        elif event_type.endswith("Failed") or event_type.endswith("TimedOut"):
            details = next(
                (v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {}
            )
            if details.get("error") and not row_of_event["error"]:
                row_of_event["error"] = details.get("error")
                row_of_event["cause"] = details.get("cause")
    for row in open_rows:
        row["status"] = "Running" if execution_status == "RUNNING" else "Failed"
    return [
        HistoryRow(
            state=row["state"],
            type=row["type"],
            status=row["status"],
            start=iso(row["start"]),
            duration_ms=duration_ms(row["start"], row["stop"]),
            error=row["error"],
            cause=row["cause"],
            retries=row["retries"],
            iteration=row["iteration"],
            depth=row["depth"],
        )
        for row in rows
    ]
