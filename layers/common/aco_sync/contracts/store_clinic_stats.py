"""StoreClinicStatsFunction (SQS, sent by the "Queue Clinic Stats" states): per-TIN statistics."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from aco_sync.contracts.common import StepOutput


class StoreClinicStatsInput(BaseModel):
    """The SQS message body the state machines send (ids only)."""

    model_config = ConfigDict(extra="ignore")

    aco_id: str
    sync_id: str


class StoreClinicStatsOutput(StepOutput):
    """One message's result (the handler returns the batch's partial failures)."""

    key: str
    tins: int | None = None  # None: the results of an earlier sync were carried, and its stats with them
    results_of: str | None = None  # that earlier sync
