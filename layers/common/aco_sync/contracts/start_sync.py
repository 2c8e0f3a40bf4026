"""StartSyncFunction (the daily schedule, manual starts, roster uploads): one sync execution per ACO.
``SyncExecutionInput`` is what every main-machine execution starts with."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from aco_sync.contracts.common import StepOutput

Trigger = Literal["schedule", "roster_upload", "manual"]


class StartSyncInput(BaseModel):
    """``{"aco_id": "A1"}`` for one ACO, or ``{"all_configured": true}`` for every config/acos/*.json."""

    model_config = ConfigDict(extra="forbid")

    aco_id: str | None = None
    all_configured: bool = False
    trigger: Trigger = "manual"

    @model_validator(mode="after")
    def _one_target(self) -> StartSyncInput:
        if bool(self.aco_id) == self.all_configured:
            raise ValueError("give either aco_id or all_configured=true")
        return self


class SyncExecutionInput(StepOutput):
    """The input of a main-machine execution (the states read ``$.aco_id``, ``$.sync_id``, ``$.trigger``)."""

    aco_id: str
    sync_id: str
    trigger: Trigger


class StartedSync(StepOutput):
    """One ACO: the started execution, or (``all_configured``) the error that kept it from starting."""

    aco_id: str
    sync_id: str | None = None
    execution_arn: str | None = None
    trigger: Trigger | None = None
    error: str | None = None


class StartSyncOutput(StepOutput):
    started: list[StartedSync]
