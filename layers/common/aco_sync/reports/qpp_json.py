"""QPP Submissions API measurement sets for the APM entity, one file per collection type.

``entityType: "apm"``; eCQM -> ``submissionMethod: electronicHealthRecord``, CQM -> ``registry``,
MCQM -> ``registry`` with the ``<id>SSP`` measure ids; ``measurements[].value`` carries the five counts
(the shape of CMSgov/qpp-submissions-docs' quality submission example).
"""

from __future__ import annotations

import json
from typing import Any

from aco_sync.domain.records import CollectionType
from aco_sync.reports.model import ScoredSync
from aco_sync.scoring.benchmarks import submission_method_for

FILE_NAMES = {
    CollectionType.ECQM: "qpp-submission-ecqm.json",
    CollectionType.CQM: "qpp-submission-cqm.json",
    CollectionType.MCQM: "qpp-submission-mcqm.json",
}


def submission(scored: ScoredSync, collection_type: CollectionType) -> dict[str, Any] | None:
    """The submission document of one collection type; None when the sync has no such instance."""
    settings = scored.inputs.settings
    year = settings.performance_year
    measurements: list[dict[str, Any]] = []
    for stats in scored.inputs.stats:
        if stats.collection_type != collection_type:
            continue
        score = scored.score_for(stats)
        measure_id = score.qpp_measure_id if score else stats.measure_id
        measurements.append(
            {
                "measureId": measure_id,
                "value": {
                    "isEndToEndReported": collection_type == CollectionType.ECQM,
                    "eligiblePopulation": stats.eligible_population,
                    "performanceMet": stats.performance_met,
                    "performanceNotMet": stats.performance_not_met,
                    "eligiblePopulationExclusion": stats.eligible_population_exclusion,
                    "eligiblePopulationException": stats.eligible_population_exception,
                },
            }
        )
    if not measurements:
        return None
    measurements.sort(key=lambda m: m["measureId"])
    return {
        "entityType": "apm",
        "entityId": settings.aco_id,
        "performanceYear": year,
        "measurementSets": [
            {
                "category": "quality",
                "submissionMethod": submission_method_for(collection_type),
                "performanceStart": f"{year}-01-01",
                "performanceEnd": f"{year}-12-31",
                "measurements": measurements,
            }
        ],
    }


def submission_files(scored: ScoredSync) -> dict[str, bytes]:
    files = {}
    for collection_type, name in FILE_NAMES.items():
        document = submission(scored, collection_type)
        if document is not None:
            files[name] = (json.dumps(document, indent=2) + "\n").encode("utf-8")
    return files
