"""What a sync's reports are built from (:class:`ReportInputs`) and what scoring made of it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from aco_sync.domain.records import MeasureStats, PatientOutcome, SyncLogEntry
from aco_sync.domain.settings import AcoSettings
from aco_sync.scoring.app_plus import AppPlusScore, CmsResults
from aco_sync.scoring.benchmarks import BenchmarkSet
from aco_sync.scoring.clinic_stats import ClinicStats
from aco_sync.scoring.points import MeasureScore
from aco_sync.scoring.quality import QualityScore

if TYPE_CHECKING:
    from aco_sync.reports.submission import SubmissionPlan


class RecordSource(NamedTuple):
    """Where a member record came from, so a gap can be traced to a chart (no PHI: TIN, file, row).
    A named tuple: an engine partition makes one per outcome."""

    tin: str
    source_file: str
    source_line: int | None  # template row; None for a QRDA-I document
    encounter_id: str | None  # the template's encounter_id, when given
    performance: str
    performance_date: str | None  # ISO date


@dataclass(frozen=True)
class PatientLevelReports:
    """What the reports take from the patient outcomes, built by the engine partitions and merged
    (:mod:`aco_sync.reports.patient_parts`) when the outcomes themselves are not loaded."""

    files: dict[str, bytes]  # patients.csv, gaps-<tin>.csv, probable-duplicates.csv
    aco_patients: int  # distinct MASTER_PAT_IDs of all outcomes
    ecqm_outcomes: dict[str, int]  # eCQM measure -> outcomes (patients) of its instance
    ecqm_sexes: dict[str, dict[str, Counter[str]]]  # eCQM measure -> population -> sex -> patients


@dataclass
class ReportInputs:
    settings: AcoSettings
    sync_id: str
    generated_at: datetime
    stats: list[MeasureStats]
    outcomes: list[PatientOutcome] = field(default_factory=list)
    log: list[SyncLogEntry] = field(default_factory=list)
    # one dict per member clinic: tin, name, status, reason, last_synced
    clinic_statuses: list[dict[str, Any]] = field(default_factory=list)
    clinic_stats: list[ClinicStats] | None = None
    roster_size: int | None = None
    benchmarks: BenchmarkSet | None = None  # None: the bundled year (or the nearest one, with a note)
    cms_results: CmsResults | None = None  # config/cms-results/<aco_id>.json (CAHPS, claims measures, HEA)
    cms_results_problem: str | None = None  # why the CMS results file was not used (invalid), if so
    record_sources: dict[str, RecordSource] = field(default_factory=dict)  # source_key -> where it came from
    probable_duplicates: list[dict[str, str]] = field(default_factory=list)  # master_pat_id_a/_b, reason
    previous: dict[str, Any] | None = None  # quality-score.json of the previous sync (same ACO and year)
    patient_level: PatientLevelReports | None = None  # given: instead of outcomes and record_sources

    @property
    def aco_patients(self) -> int:
        """The distinct patients (MASTER_PAT_IDs) of the sync's outcomes."""
        if self.patient_level is not None:
            return self.patient_level.aco_patients
        return len({o.master_pat_id for o in self.outcomes})


@dataclass(frozen=True)
class ScoredSync:
    """ReportInputs plus the scores every output shares."""

    inputs: ReportInputs
    benchmarks: BenchmarkSet
    scores: list[MeasureScore]
    quality: QualityScore
    # what goes to CMS in which file, drafts (set by build_reports; aco_sync.reports.submission)
    submission: SubmissionPlan | None = None
    app_plus: AppPlusScore | None = None  # None: no APP Plus rules for the performance year

    def score_for(self, stats: MeasureStats) -> MeasureScore | None:
        for score in self.scores:
            if score.measure_id == stats.measure_id and score.collection_type == stats.collection_type:
                return score
        return None
