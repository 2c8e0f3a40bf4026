"""Which measure instances go to CMS, in which file, and whether the files are drafts.

- A measure instance enters a submission file only if CMS allows its QPP measure id for the ACO's
  program (``program_name``), the performance year and the submission method (``allowedPrograms`` and
  ``submissionMethods`` of the year's qpp-measures-data); the others are listed as not submittable.
- Registry instances (CQM and Medicare CQM) go to ``qpp-submission.json`` (QPP Submissions API, one
  ``registry`` measurement set). eCQM instances go to exactly one file (settings
  ``ecqm_submission_file``): ``qrda3-ecqm.xml`` (QRDA Category III, the default) or the
  ``electronicHealthRecord`` measurement set of ``qpp-submission.json``; never both, so the same data
  is never submitted twice.
- Without an APM Entity ID (``apm_entity_id``), or without a CEHRT ID (``cehrt_id``) for the file with
  the eCQMs, a file is still written but as a draft: its name starts with ``DRAFT-`` and
  quality-score.json, the report and the CLI say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aco_sync.domain.errors import MeasureDataNotFoundError
from aco_sync.domain.qpp_measures import QppMeasureSet, qpp_measures
from aco_sync.domain.records import CollectionType, MeasureStats
from aco_sync.reports.model import ScoredSync
from aco_sync.scoring.benchmarks import submission_method_for

QPP_JSON_FILE = "qpp-submission.json"
QRDA3_FILE = "qrda3-ecqm.xml"
DRAFT_PREFIX = "DRAFT-"
ROUTES = {
    QPP_JSON_FILE: "QPP Submissions API (POST /submissions)",
    QRDA3_FILE: "QRDA III file upload on qpp.cms.gov (or the QPP Submissions API)",
}
NO_APM_ENTITY_ID = (
    "no APM Entity ID in the ACO's settings (apm_entity_id; a Shared Savings Program ACO's ACO ID)"
)
NO_CEHRT_ID = "no CEHRT ID in the ACO's settings (cehrt_id), which CMS requires for eCQMs"


@dataclass(frozen=True, slots=True)
class SubmittedInstance:
    stats: MeasureStats
    qpp_measure_id: str
    submission_method: str

    @property
    def instance(self) -> str:
        return f"{self.stats.measure_id} {self.stats.collection_type.value}"


@dataclass
class SubmissionPlan:
    """What the sync submits to CMS (see the module docstring)."""

    program_name: str
    entity_id: str  # the APM Entity ID, or the ACO's config id in a draft
    registry: list[SubmittedInstance] = field(default_factory=list)
    ecqm: list[SubmittedInstance] = field(default_factory=list)
    ecqm_file: str = QRDA3_FILE
    not_submittable: list[tuple[str, str, str]] = field(default_factory=list)  # instance, qpp id, reason
    draft_reasons: list[str] = field(default_factory=list)  # apply to every file
    ecqm_draft_reasons: list[str] = field(default_factory=list)  # apply to the file with the eCQMs
    refused: dict[str, str] = field(default_factory=dict)  # file -> why it is not written
    measures: QppMeasureSet | None = None
    written: dict[str, str] = field(default_factory=dict)  # file -> the name it was written under

    def file_draft_reasons(self, file: str) -> list[str]:
        reasons = list(self.draft_reasons)
        if self.ecqm and file == self.ecqm_file:
            reasons.extend(self.ecqm_draft_reasons)
        return reasons

    def file_name(self, file: str) -> str:
        return DRAFT_PREFIX + file if self.file_draft_reasons(file) else file

    def to_dict(self) -> dict[str, Any]:
        files = []
        for file, written_as in self.written.items():
            reasons = self.file_draft_reasons(file)
            instances = list(self.registry) if file == QPP_JSON_FILE else []
            if file == self.ecqm_file:
                instances += self.ecqm
            files.append(
                {
                    "file": written_as,
                    "route": ROUTES[file],
                    "draft": bool(reasons),
                    "draft_reasons": reasons,
                    "measures": [f"{i.qpp_measure_id} ({i.submission_method})" for i in instances],
                }
            )
        return {
            "program_name": self.program_name,
            "entity_id": self.entity_id,
            "ecqm_submission_file": self.ecqm_file,
            "files": files,
            "refused": [{"file": f, "reason": r} for f, r in self.refused.items()],
            "not_submittable": [
                {"instance": i, "qpp_measure_id": q, "reason": r} for i, q, r in self.not_submittable
            ],
        }


def plan_submission(scored: ScoredSync) -> SubmissionPlan:
    settings = scored.inputs.settings
    plan = SubmissionPlan(
        program_name=settings.program_name,
        entity_id=settings.apm_entity_id or settings.aco_id,
        ecqm_file=QRDA3_FILE if settings.ecqm_submission_file == "qrda3" else QPP_JSON_FILE,
    )
    if not settings.apm_entity_id:
        plan.draft_reasons.append(NO_APM_ENTITY_ID)
    if not settings.cehrt_id:
        plan.ecqm_draft_reasons.append(NO_CEHRT_ID)
    try:
        plan.measures = qpp_measures(settings.performance_year)
    except MeasureDataNotFoundError as error:
        plan.refused[QPP_JSON_FILE] = str(error)
        plan.refused[QRDA3_FILE] = str(error)
        return plan
    for stats in scored.inputs.stats:
        score = scored.score_for(stats)
        qpp_id = score.qpp_measure_id if score else stats.measure_id
        method = submission_method_for(stats.collection_type)
        instance = SubmittedInstance(stats=stats, qpp_measure_id=qpp_id, submission_method=method)
        reason = plan.measures.not_allowed_reason(qpp_id, settings.program_name, method)
        if reason is not None:
            plan.not_submittable.append((instance.instance, qpp_id, f"Not submittable: {reason}."))
        elif stats.collection_type == CollectionType.ECQM:
            plan.ecqm.append(instance)
        else:
            plan.registry.append(instance)
    plan.registry.sort(key=lambda i: i.qpp_measure_id)
    plan.ecqm.sort(key=lambda i: i.qpp_measure_id)
    return plan
