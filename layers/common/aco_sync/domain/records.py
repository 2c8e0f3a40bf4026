"""The records every part of ACO Sync exchanges.

This module is the contract between the readers (``aco_sync.ingest``), the eCQM calculator
(``aco_sync.ecqm``), the aggregation engine (``aco_sync.domain``), scoring and reports
(``aco_sync.scoring``, ``aco_sync.reports``) and the workflow (``aco_sync.service``).
Change it only additively: add optional fields with defaults, never rename or remove.

Records are frozen, slotted dataclasses (cheap to create by the million); settings and
anything parsed from an event are pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from aco_sync.domain.bulk import fast_frozen_init


class CollectionType(StrEnum):
    """How a member TIN submitted a measure (and which instance of it the ACO aggregates into)."""

    ECQM = "eCQM"  # electronic, from QRDA Category I files
    CQM = "CQM"  # registry template / manual upload
    MCQM = "MCQM"  # Medicare CQM (SSP): CQM spec restricted to the ACO's Medicare roster


class Performance(StrEnum):
    """A patient's performance on a measure, as submitted (QPP Submissions API vocabulary)."""

    MET = "MET"
    NOT_MET = "NOT_MET"
    DENOMINATOR_EXCLUSION = "DENOMINATOR_EXCLUSION"
    DENOMINATOR_EXCEPTION = "DENOMINATOR_EXCEPTION"
    DENOMINATOR_ONLY = "DENOMINATOR_ONLY"  # in the eligible population, no numerator data (blank in files)

    @property
    def is_numerator(self) -> bool:
        return self in (Performance.MET, Performance.NOT_MET)


class Gender(StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


@fast_frozen_init  # built once per template row / QRDA-I performance
@dataclass(frozen=True, slots=True)
class PerformanceRecord:
    """One patient encounter/performance on one measure, from one member TIN.

    ``source_key`` is the stable identity of the member's source record, used by cleanup and by
    incremental syncs: the template's ``encounter_id`` column when given, else a hash of the
    file name and the row's normalised content; for QRDA-I ``"{tin}:qrda:{file}:{measure_id}"``.
    Same source record tomorrow -> same key. ``content_hash`` changes when anything that affects
    aggregation changes.
    """

    tin: str
    source_key: str
    measure_id: str  # catalog id, e.g. "M001"
    collection_type: CollectionType
    performance: Performance
    performance_date: date | None
    # Patient identity: kept out of repr so that a logged or raised record never shows PHI.
    first_name: str = field(repr=False)
    last_name: str = field(repr=False)
    birth_date: date = field(repr=False)
    gender: Gender
    mbi: str | None = field(default=None, repr=False)
    npi: str | None = None
    member_patient_id: str | None = None  # the member clinic's own patient id (MRN), if given
    source_file: str = ""
    source_line: int | None = None  # 1-based row/line in source_file, None for QRDA-I
    hba1c: float | None = None
    systolic: int | None = None
    diastolic: int | None = None
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class DenominatorCount:
    """A TIN's MCQM (or other) denominator-only count for a measure, without patient rows."""

    tin: str
    measure_id: str
    collection_type: CollectionType
    count: int
    source_file: str = ""
    source_line: int | None = None


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One Medicare beneficiary on the ACO's roster (normalised, validated). PHI is kept out of repr."""

    mbi: str = field(repr=False)
    first_name: str = field(repr=False)
    last_name: str = field(repr=False)
    birth_date: date = field(repr=False)
    gender: Gender
    eligible_measures: frozenset[str] | None = None  # None: no per-measure flags in the file
    source_line: int | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    tin: str
    npi: str
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class IngestIssue:
    """A problem found in an input file. ``line`` is the 1-based row (CSV) or line (XML)."""

    file: str
    reason: str  # a sentence a user understands, no PHI
    line: int | None = None
    severity: str = "error"  # "error": the row/file was rejected; "warning": accepted with a caveat
    code: str = ""  # machine-readable, e.g. "invalid_date", "unknown_measure", "xml_doctype"
    tin: str | None = None
    covers: int = 1  # the rejected rows/documents it stands for (a "more not listed" line stands for many)


@dataclass(slots=True)
class FileAccount:
    """How every row (document, for QRDA-I) of one input file was accounted for:
    ``read == accepted + rejected``. A refused file (a file-level error) has none read."""

    file: str
    kind: str  # "roster" | "template" | "providers" | "qrda"
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    refused: bool = False  # the whole file was refused (the reason is its file-level issue)
    duplicate_of: str | None = None  # an identical file read earlier (this one was not counted)
    tin: str | None = None

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.rejected

    def describe(self, *, brief: bool = False) -> str:
        """What became of the file's rows, in the sync log's words (``brief``: ``aco-sync validate``'s)."""
        if self.duplicate_of:
            return f"identical to {self.duplicate_of}, counted once" + ("" if brief else " (as that file)")
        if self.refused:
            return "refused as a whole" + ("" if brief else " (see its error); none of its rows were used")
        unit = ("document" if self.kind == "qrda" else "row") + ("" if self.read == 1 else "s")
        separator = "," if brief else ":"
        return f"{self.read} {unit} read{separator} {self.accepted} accepted, {self.rejected} rejected"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "kind": self.kind,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "refused": self.refused,
            "duplicate_of": self.duplicate_of,
            "tin": self.tin,
        }


@dataclass(slots=True)
class ClinicData:
    """Everything read from one member clinic's upload."""

    tin: str
    records: list[PerformanceRecord] = field(default_factory=list)
    denominator_counts: list[DenominatorCount] = field(default_factory=list)
    providers: list[Provider] = field(default_factory=list)
    issues: list[IngestIssue] = field(default_factory=list)
    files_read: int = 0
    files: list[FileAccount] = field(default_factory=list)  # per input file: read = accepted + rejected

    @property
    def rows_rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def rows_accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def files_refused(self) -> int:
        return sum(1 for f in self.files if f.refused)


@dataclass(frozen=True, slots=True)
class PatientOutcome:
    """The resolved result of one ACO patient (MASTER_PAT_ID) on one measure instance."""

    master_pat_id: str
    measure_id: str
    collection_type: CollectionType  # the ACO instance this outcome belongs to
    outcome: Performance  # DENOMINATOR_ONLY: eligible, no performance data
    performance_date: date | None
    source_tins: tuple[str, ...]  # TINs whose records contributed, sorted
    source_keys: tuple[str, ...] = ()  # the records behind it (audit trail)
    gender: Gender | None = None  # the patient's gender (part of the MASTER_PAT_ID key); None: not known


@dataclass(frozen=True, slots=True)
class MeasureStats:
    """Counts of one measure instance (measure x collection type), QPP Submissions API vocabulary."""

    measure_id: str
    collection_type: CollectionType
    eligible_population: int
    performance_met: int
    performance_not_met: int
    eligible_population_exclusion: int
    eligible_population_exception: int
    performance_rate: float | None  # 100*met/(met+not_met); None when met+not_met == 0
    data_completeness: float | None  # 100*(met+not_met+excl+excep)/eligible; None when eligible == 0
    inverse: bool  # lower rate is better
    patients_by_tin: dict[str, int] = field(default_factory=dict)  # patients each TIN contributed
    roster_coverage: float | None = None  # share (0-100) of roster beneficiaries found in the data


@dataclass(frozen=True, slots=True)
class SyncLogEntry:
    """One line of the sync log a user reads. No PHI: MASTER_PAT_IDs, counts, file names, rows."""

    kind: str  # e.g. "collection_type", "halt", "skip", "removal", "ingest_error", "status"
    message: str
    level: str = "info"  # info | warning | error
    measure_id: str | None = None
    tin: str | None = None
    file: str | None = None
    line: int | None = None
