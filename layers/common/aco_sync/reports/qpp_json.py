"""The QPP Submissions API submission of the APM entity (``qpp-submission.json``).

Fields as the API's data model documents them (CMSgov/qpp-submissions-docs ``data.ts``), writable
fields only (nothing the API calculates: no ``performanceRate``, ``reportingRate``, ``caseCount``):

- submission: ``entityType: "apm"``, ``entityId`` (the CMS-issued APM Entity ID), ``performanceYear``,
  ``measurementSets``;
- one measurement set per (category, submissionMethod, programName): the CQM and Medicare CQM
  (``<id>SSP``) measurements in one ``registry`` set, the eCQM measurements (when the ACO submits its
  eCQMs in this file, settings ``ecqm_submission_file: "qpp_json"``) in one ``electronicHealthRecord``
  set with ``cehrtId``; ``programName`` from the settings (default ``appPlus``);
- each measurement: ``measureId`` and ``value`` with the counts of
  :func:`aco_sync.scoring.submitted_counts.submitted_counts` (registry exclusions subtracted from
  ``eligiblePopulation``, ``eligiblePopulationExclusion`` 0) and ``isEndToEndReported`` (true for eCQMs
  only).
"""

from __future__ import annotations

import json
from typing import Any

from aco_sync.reports.model import ScoredSync
from aco_sync.reports.submission import QPP_JSON_FILE, SubmissionPlan, SubmittedInstance
from aco_sync.scoring.submitted_counts import submitted_counts


def _measurement_set(
    scored: ScoredSync, plan: SubmissionPlan, method: str, instances: list[SubmittedInstance]
) -> dict[str, Any]:
    year = scored.inputs.settings.performance_year
    measurement_set: dict[str, Any] = {"category": "quality", "submissionMethod": method}
    if method == "electronicHealthRecord" and scored.inputs.settings.cehrt_id:
        measurement_set["cehrtId"] = scored.inputs.settings.cehrt_id
    measurement_set.update(
        {
            "programName": plan.program_name,
            "performanceStart": f"{year}-01-01",
            "performanceEnd": f"{year}-12-31",
            "measurements": [
                {
                    "measureId": instance.qpp_measure_id,
                    "value": submitted_counts(instance.stats).value(
                        end_to_end=method == "electronicHealthRecord"
                    ),
                }
                for instance in instances
            ],
        }
    )
    return measurement_set


def submission_document(scored: ScoredSync, plan: SubmissionPlan) -> dict[str, Any] | None:
    """The submission; None when it would carry no measurement (or the year's measure data is missing)."""
    if QPP_JSON_FILE in plan.refused:
        return None
    sets = []
    if plan.registry:
        sets.append(_measurement_set(scored, plan, "registry", plan.registry))
    if plan.ecqm and plan.ecqm_file == QPP_JSON_FILE:
        sets.append(_measurement_set(scored, plan, "electronicHealthRecord", plan.ecqm))
    if not sets:
        return None
    return {
        "entityType": "apm",
        "entityId": plan.entity_id,
        "performanceYear": scored.inputs.settings.performance_year,
        "measurementSets": sets,
    }


def submission_json(scored: ScoredSync, plan: SubmissionPlan) -> bytes | None:
    document = submission_document(scored, plan)
    return None if document is None else (json.dumps(document, indent=2) + "\n").encode("utf-8")
