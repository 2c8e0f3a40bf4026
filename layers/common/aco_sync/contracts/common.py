"""What the step contracts share: the strict output base, the ids every step gets, the Catch error."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StepOutput(BaseModel):
    """A step's result: only the declared keys (a key the ASL reads must be declared here)."""

    model_config = ConfigDict(extra="forbid")


class SyncStepInput(BaseModel):
    """The input of a workflow step that needs only the ACO and the sync it belongs to."""

    aco_id: str
    sync_id: str


class StepError(BaseModel):
    """What a Catch puts at its ResultPath (``$.error``, ``$.failure``): the error name and its cause."""

    Error: str
    Cause: str
