"""Step "List Clinic Batch" (functions/list_clinic_batch): the member clinics of one batch."""

from __future__ import annotations

from pydantic import BaseModel, Field

from aco_sync.contracts.common import StepOutput, SyncStepInput


class ListClinicBatchInput(SyncStepInput):
    batch: int = Field(ge=0)


class BatchClinic(BaseModel):
    tin: str
    name: str = ""


class ListClinicBatchOutput(StepOutput):
    clinics: list[BatchClinic]
