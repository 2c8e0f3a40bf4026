"""IngestRosterFunction (EventBridge: S3 Object Created under rosters/): the roster upload's outcome."""

from __future__ import annotations

from pydantic import BaseModel

from aco_sync.contracts.common import StepOutput
from aco_sync.contracts.start_sync import StartedSync


class S3Object(BaseModel):
    key: str


class ObjectCreatedDetail(BaseModel):
    object: S3Object


class IngestRosterInput(BaseModel):
    """The EventBridge "Object Created" event (only the object's key is read)."""

    detail: ObjectCreatedDetail


class IngestRosterOutput(StepOutput):
    """A roster file read (``activated``/``held`` with the counts and ``report_key``), a held roster
    confirmed (``confirmed``), or an event ignored (``ignored`` with the ``reason``)."""

    aco_id: str | None = None
    performance_year: int | None = None
    activated: bool = False
    held: bool = False
    rows_total: int | None = None
    rows_accepted: int | None = None
    rows_rejected: int | None = None
    report_key: str | None = None
    confirmed: str | None = None
    message: str | None = None
    sync: StartedSync | None = None  # the sync the roster started
    ignored: str | None = None
    reason: str | None = None
