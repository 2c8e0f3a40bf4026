"""Reports of a sync: HTML report, CSV exports, QPP Submissions JSON, QRDA Category III, quality score.

``build_reports(inputs)`` returns ``{file name: content}``; the workflow writes them under
``results/<aco_id>/<sync_id>/``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.errors import MeasureDataNotFoundError
from aco_sync.domain.qpp_measures import qpp_measures
from aco_sync.reports.csv_exports import gaps_csvs, measures_csv, patients_csv, probable_duplicates_csv
from aco_sync.reports.html_report import render_html
from aco_sync.reports.model import ReportInputs, ScoredSync
from aco_sync.reports.qpp_json import submission_json
from aco_sync.reports.qrda3 import Qrda3Refused, qrda3_document
from aco_sync.reports.submission import QPP_JSON_FILE, QRDA3_FILE, SubmissionPlan, plan_submission
from aco_sync.reports.targets import ranked_targets
from aco_sync.scoring.app_plus import app_plus_score
from aco_sync.scoring.benchmarks import BenchmarkSet, load_benchmarks_or_nearest
from aco_sync.scoring.clinic_stats import compute_clinic_stats
from aco_sync.scoring.points import score_measure
from aco_sync.scoring.quality import aco_quality_score
from aco_sync.wire import score_to_dict

__all__ = ["ReportInputs", "ScoredSync", "build_reports", "quality_score_document", "score_sync"]


def score_sync(inputs: ReportInputs, *, catalog: MeasureCatalog | None = None) -> ScoredSync:
    """Score every measure instance of the sync (benchmarks: the inputs', else the bundled year's).

    Without ``clinic_stats`` (the clinic stats job runs after the reports), they are computed from the
    outcomes so the report still shows each TIN's own rates.
    """
    catalog = catalog or default_catalog()
    if inputs.clinic_stats is None and inputs.outcomes:
        inputs = replace(inputs, clinic_stats=compute_clinic_stats(inputs.outcomes, catalog=catalog))
    benchmarks = without_removed_caps(
        inputs.benchmarks or load_benchmarks_or_nearest(inputs.settings.performance_year)
    )
    scores = [score_measure(stats, benchmarks, catalog=catalog) for stats in inputs.stats]
    quality = aco_quality_score(scores)
    try:
        app_plus = app_plus_score(
            scores, quality, benchmarks, performance_year=inputs.settings.performance_year,
            cms_results=inputs.cms_results,
        )  # fmt: skip
    except MeasureDataNotFoundError:
        app_plus = None
    return ScoredSync(inputs=inputs, benchmarks=benchmarks, scores=scores, quality=quality, app_plus=app_plus)


def without_removed_caps(benchmarks: BenchmarkSet) -> BenchmarkSet:
    """Topped-out benchmarks of measures for which CMS removed the 7-point cap (qpp-measures-data
    ``isSevenPointCapRemoved``) no longer cap points."""
    try:
        measures = qpp_measures(benchmarks.performance_year)
    except MeasureDataNotFoundError:
        return benchmarks
    removed = {m.measure_id for m in measures.measures.values() if m.seven_point_cap_removed}
    if not removed:
        return benchmarks
    adjusted = {
        key: replace(b, topped_out_by_program=False) if b.measure_id in removed else b
        for key, b in benchmarks.benchmarks.items()
    }
    return replace(benchmarks, benchmarks=adjusted)


def quality_score_document(scored: ScoredSync) -> dict:  # type: ignore[type-arg]
    """quality-score.json: the score, the measures that count, per-measure points (the CLI prints it)."""
    inputs = scored.inputs
    return {
        "aco_id": inputs.settings.aco_id,
        "aco_name": inputs.settings.name,
        "sync_id": inputs.sync_id,
        "generated_at": inputs.generated_at.isoformat(),
        "performance_year": inputs.settings.performance_year,
        "benchmark_year": scored.benchmarks.performance_year,
        "benchmark_source": scored.benchmarks.source,
        "note": scored.benchmarks.note,
        "quality_score": scored.quality.score,
        "total_points": scored.quality.total_points,
        "max_points": 10 * scored.quality.measures_scored,
        "measures_scored": scored.quality.measures_scored,
        "counted": scored.quality.counted_instances,
        "not_counted": scored.quality.to_dict()["not_counted"],
        "targets": list(scored.quality.targets),
        "ranked_targets": [target.to_dict() for target in ranked_targets(scored)],
        "aco_patients": inputs.aco_patients,
        "measures": [
            {**score_to_dict(score), "counted": scored.quality.is_counted(score)} for score in scored.scores
        ],
        "app_plus": scored.app_plus.to_dict() if scored.app_plus else None,
        "cms_results_problem": inputs.cms_results_problem,
        "submission": scored.submission.to_dict() if scored.submission else None,
    }


def submission_outputs(scored: ScoredSync) -> tuple[SubmissionPlan, dict[str, bytes]]:
    """The submission files (names with ``DRAFT-`` when drafts) and the plan that says what is in them."""
    plan = plan_submission(scored)
    files: dict[str, bytes] = {}
    documents: dict[str, Any] = {QPP_JSON_FILE: submission_json(scored, plan)}
    try:
        documents[QRDA3_FILE] = qrda3_document(scored, plan) if plan.ecqm_file == QRDA3_FILE else None
    except Qrda3Refused as refused:
        plan.refused[QRDA3_FILE] = str(refused)
    for file, content in documents.items():
        if content is not None:
            name = plan.file_name(file)
            plan.written[file] = name
            files[name] = content
    return plan, files


def build_reports(inputs: ReportInputs) -> dict[str, bytes]:
    """All outputs of a sync: file name -> content."""
    scored = score_sync(inputs)
    plan, submission_files = submission_outputs(scored)
    scored = replace(scored, submission=plan)
    files: dict[str, bytes] = {
        "report.html": render_html(scored),
        "measures.csv": measures_csv(scored),
        "quality-score.json": (json.dumps(quality_score_document(scored), indent=2) + "\n").encode("utf-8"),
    }
    if inputs.patient_level is not None:  # merged from the engine partitions' parts
        files.update(inputs.patient_level.files)
    else:
        files["patients.csv"] = patients_csv(inputs.outcomes, inputs.record_sources)
        if inputs.probable_duplicates:  # the sync log links to it
            files["probable-duplicates.csv"] = probable_duplicates_csv(
                inputs.probable_duplicates, inputs.outcomes, inputs.record_sources
            )
        files.update(gaps_csvs(scored))
    files.update(submission_files)
    return files
