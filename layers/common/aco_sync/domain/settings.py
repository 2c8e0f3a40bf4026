"""Per-ACO configuration (stored as ``config/acos/<aco_id>.json`` in the data bucket)."""

from __future__ import annotations

import difflib
import unicodedata
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aco_sync.domain.partitions import DEFAULT_RECORDS_PER_PARTITION


def has_control_characters(text: str) -> bool:
    """Control, format and separator characters other than a plain space (tabs, line breaks, escape
    sequences, bidirectional overrides, NUL ...): never valid in a name that is printed or written."""
    if text.isprintable():  # fast path: no Cc, Cf, Zl, Zp (nor other non-printables) at all
        return False
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


def _printable(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("must not contain control characters (tabs, line breaks, escape codes)")
    return value


_MESSAGES = {
    "missing": "is missing",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text in double quotes",
    "list_type": "must be a list ([...])",
    "model_type": "must be an object ({...})",
    "dict_type": "must be an object ({...})",
}
_PATTERNS = {
    "tin": "must be the clinic's 9-digit TIN",
    "aco_id": "may hold only letters, digits, '-' and '_' (up to 64, starting with a letter or digit)",
    "apm_entity_id": "must be the CMS APM Entity ID (4 to 20 capital letters or digits, e.g. A1234)",
    "cehrt_id": "must be a CEHRT ID (2025CXXXXXXXXXX or XX15CXXXXXXXXXX)",
    "program_name": "must be appPlus, app1, mips or an MVP id such as G0053",
}


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = MemberClinic if "member_clinics" in loc else AcoSettings
    return list(model.model_fields)


def _where(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def settings_problems(exc: ValidationError) -> list[str]:
    """The problems of an invalid ``config/acos/<aco_id>.json``, one plain sentence each (no pydantic
    wording): an unknown key gets a "did you mean" with the closest setting name."""
    problems = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        key = str(loc[-1]) if loc else ""
        kind = error.get("type", "")
        where = _where(loc) or "the file"
        if kind == "extra_forbidden":
            known = _known_keys(loc[:-1])
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; did you mean `{close[0]}`?" if close else f"; the settings are {', '.join(known)}"
            problems.append(f"`{where}` is not a setting{hint}")
        elif kind == "string_pattern_mismatch":
            problems.append(f"`{where}` {_PATTERNS.get(key, 'has the wrong format')}")
        elif kind in ("greater_than_equal", "less_than_equal") and key == "performance_year":
            problems.append(f"`{where}` must be a year between 2017 and 2100")
        elif kind == "literal_error":
            allowed = str(error.get("ctx", {}).get("expected", "")).replace("'", "`")
            problems.append(f"`{where}` must be one of {allowed}")
        elif kind == "value_error":
            problems.append(f"`{where}` {str(error.get('msg', '')).removeprefix('Value error, ')}")
        elif kind in ("json_invalid", "json_type"):
            detail = str(error.get("msg", "")).removeprefix("Invalid JSON: ")
            problems.append(f"the file is not valid JSON ({detail})")
        else:
            problems.append(f"`{where}` {_MESSAGES.get(kind, 'is not valid')}")
    return problems


# QPP Submissions API measurementSet.programName (qpp-submissions-docs data.ts): the APM Performance
# Pathway Plus, the legacy APP, traditional MIPS, or an MVP id (G0053, M1366, ...).
PROGRAM_NAME_PATTERN = r"^(appPlus|app1|mips|[GM]\d{4})$"
# measurementSet.cehrtId: "CEHRT ID must be in the format 2025CXXXXXXXXXX or XX15CXXXXXXXXXX" (data.ts)
CEHRT_ID_PATTERN = r"^(\d{4}|[0-9A-Z]{2}15)C[0-9A-Z]{10}$"
# submission.entityId of an APM entity: the CMS-issued APM Entity ID (a Shared Savings Program ACO's
# ACO ID, e.g. A1234)
APM_ENTITY_ID_PATTERN = r"^[A-Z0-9]{4,20}$"


class MemberClinic(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")  # a misspelt key is an error, never ignored

    tin: str = Field(pattern=r"^[0-9]{9}$")  # ASCII digits only (\d would accept other scripts' digits)
    name: str = Field(default="", max_length=200)

    _name_printable = field_validator("name")(_printable)


class AcoSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")  # `mcqm_optin` must not silently drop MCQM

    aco_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    name: str = Field(default="", max_length=200)
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
    # a new roster that would drop more than this share of the active roster's beneficiaries is held
    # until confirmed (aco-sync roster-confirm, or an upload to rosters/<aco>/<py>/confirm/<file>)
    roster_max_drop_percent: float = Field(default=10.0, ge=0, le=100)
    # a member clinic's input per sync, in MB of template CSV (docs/PERFORMANCE.md "Per-clinic input
    # limit"); None: derived from the clinic sync function's memory. Files beyond it are refused.
    clinic_input_limit_mb: float | None = Field(default=None, gt=0, le=1_000_000)
    # the engine steps run in partitions of the patients (docs/PERFORMANCE.md "Scaling past one Lambda"):
    # one partition per this many records, rounded up to a power of two, at most 16
    records_per_partition: int = Field(default=DEFAULT_RECORDS_PER_PARTITION, ge=1, le=1_000_000_000)

    _name_printable = field_validator("name")(_printable)

    @property
    def duplicate_tins(self) -> list[str]:
        """TINs listed more than once in ``member_clinics`` (each is synced and counted once)."""
        counts = Counter(c.tin for c in self.member_clinics)
        return sorted(tin for tin, count in counts.items() if count > 1)

    @property
    def unique_member_clinics(self) -> list[MemberClinic]:
        """``member_clinics`` with each TIN once (its first entry)."""
        first: dict[str, MemberClinic] = {}
        for clinic in self.member_clinics:
            first.setdefault(clinic.tin, clinic)
        return list(first.values())
