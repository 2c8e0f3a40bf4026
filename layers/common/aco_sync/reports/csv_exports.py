"""CSV exports for audit: the aggregate measure table and the patient-level aggregate (no PHI)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from aco_sync.domain.records import PatientOutcome
from aco_sync.reports.model import ScoredSync

MEASURE_COLUMNS = (
    "measure_id",
    "collection_type",
    "qpp_measure_id",
    "submission_method",
    "title",
    "inverse",
    "eligible_population",
    "performance_met",
    "performance_not_met",
    "eligible_population_exclusion",
    "eligible_population_exception",
    "performance_rate",
    "data_completeness",
    "case_minimum_met",
    "data_completeness_met",
    "decile",
    "points",
    "status",
    "counted",
    "reason",
    "roster_coverage",
)
PATIENT_COLUMNS = (
    "master_pat_id",
    "measure_id",
    "collection_type",
    "outcome",
    "performance_date",
    "source_tins",
)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode("utf-8")


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def measures_csv(scored: ScoredSync) -> bytes:
    rows = []
    for stats in scored.inputs.stats:
        score = scored.score_for(stats)
        rows.append(
            [
                stats.measure_id,
                stats.collection_type.value,
                score.qpp_measure_id if score else None,
                score.submission_method if score else None,
                score.title if score else None,
                "Y" if stats.inverse else "N",
                stats.eligible_population,
                stats.performance_met,
                stats.performance_not_met,
                stats.eligible_population_exclusion,
                stats.eligible_population_exception,
                _number(stats.performance_rate),
                _number(stats.data_completeness),
                ("Y" if score.case_minimum_met else "N") if score else None,
                ("Y" if score.data_completeness_met else "N") if score else None,
                score.decile if score else None,
                f"{score.points:.4f}" if score and score.points is not None else None,
                score.status.value if score else None,
                ("Y" if scored.quality.is_counted(score) else "N") if score else None,
                (scored.quality.why_not_counted(score) or score.reason) if score else None,
                _number(stats.roster_coverage),
            ]
        )
    return _csv(MEASURE_COLUMNS, rows)


def patients_csv(outcomes: Sequence[PatientOutcome]) -> bytes:
    ordered = sorted(outcomes, key=lambda o: (o.master_pat_id, o.measure_id, o.collection_type.value))
    rows = (
        [
            outcome.master_pat_id,
            outcome.measure_id,
            outcome.collection_type.value,
            outcome.outcome.value,
            outcome.performance_date.isoformat() if outcome.performance_date else None,
            ";".join(outcome.source_tins),
        ]
        for outcome in ordered
    )
    return _csv(PATIENT_COLUMNS, rows)
