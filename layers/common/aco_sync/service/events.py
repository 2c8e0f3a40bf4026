"""Events the state machines pass to the step handlers (validated by each handler with pydantic)."""

from __future__ import annotations

from pydantic import BaseModel


class SyncStepEvent(BaseModel):
    """The input of a workflow step that needs only the ACO and the sync it belongs to."""

    aco_id: str
    sync_id: str
