"""Per-ACO configuration (stored as ``config/acos/<aco_id>.json`` in the data bucket)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# QPP Submissions API measurementSet.programName (qpp-submissions-docs data.ts): the APM Performance
# Pathway Plus, the legacy APP, traditional MIPS, or an MVP id (G0053, M1366, ...).
PROGRAM_NAME_PATTERN = r"^(appPlus|app1|mips|[GM]\d{4})$"
# measurementSet.cehrtId: "CEHRT ID must be in the format 2025CXXXXXXXXXX or XX15CXXXXXXXXXX" (data.ts)
CEHRT_ID_PATTERN = r"^(\d{4}|[0-9A-Z]{2}15)C[0-9A-Z]{10}$"
# submission.entityId of an APM entity: the CMS-issued APM Entity ID (a Shared Savings Program ACO's
# ACO ID, e.g. A1234)
APM_ENTITY_ID_PATTERN = r"^[A-Z0-9]{4,20}$"


class MemberClinic(BaseModel):
    model_config = ConfigDict(frozen=True)

    tin: str = Field(pattern=r"^\d{9}$")
    name: str = ""


class AcoSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    aco_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    name: str = ""
    performance_year: int = Field(ge=2017, le=2100)
    member_clinics: list[MemberClinic] = Field(default_factory=list)
    roster_required: bool = True  # Data validation aborts without an active roster (seed 000)
    mcqm_opt_in: bool = False  # "and MCQM, if the ACO opts in" (collection-type table)
    roster_mbi_tiebreak: bool = False  # several roster matches + MBIs known on both sides: MBI decides
    # Submission (docs/SCORING.md "Submission files"): without an APM Entity ID (or, for eCQMs, a CEHRT
    # ID) the submission files are still written, as drafts.
    apm_entity_id: str | None = Field(default=None, pattern=APM_ENTITY_ID_PATTERN)
    cehrt_id: str | None = Field(default=None, pattern=CEHRT_ID_PATTERN)
    program_name: str = Field(default="appPlus", pattern=PROGRAM_NAME_PATTERN)
    # Which file carries the eCQMs to CMS (never both): the QRDA III (qrda3-ecqm.xml, uploaded) or the
    # electronicHealthRecord measurement set of qpp-submission.json (QPP Submissions API).
    ecqm_submission_file: Literal["qrda3", "qpp_json"] = "qrda3"
