"""Per-ACO configuration (stored as ``config/acos/<aco_id>.json`` in the data bucket)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    # a new roster that would drop more than this share of the active roster's beneficiaries is held
    # until confirmed (aco-sync roster-confirm, or an upload to rosters/<aco>/<py>/confirm/<file>)
    roster_max_drop_percent: float = Field(default=10.0, ge=0, le=100)
