"""``make demo``: the demo config carries example submission ids, so the run prints where the submission
files are and that they are ready (not drafts), and the QPP JSON follows the documented data model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from aco_sync.domain.records import CollectionType
from aco_sync.domain.settings import AcoSettings
from aco_sync.reports import ReportInputs, score_sync
from aco_sync.reports.qrda3 import qrda3_document
from aco_sync.reports.submission import SubmittedInstance, plan_submission
from aco_sync.wire import stats_from_dict
from aco_sync_local.demo_data import write_demo_aco
from aco_sync_local.runner import run_local_sync
from aco_sync_local.summary import render_summary
from qpp_data_model import submission_errors
from qrda3_validation import validate_qrda3


def test_demo_prints_where_the_submission_files_are_and_that_they_are_not_drafts(tmp_path: Path) -> None:
    aco_id = write_demo_aco(tmp_path / "aco")
    settings = json.loads((tmp_path / "aco" / "config" / "acos" / f"{aco_id}.json").read_text())
    assert (settings["apm_entity_id"], settings["cehrt_id"], settings["program_name"]) == (
        "A9999",
        "0015CDEMO000001",
        "appPlus",
    )
    result = run_local_sync(tmp_path / "aco", state_dir=tmp_path / "state", timeout=600)
    assert result.report_html is not None
    sync_dir = Path(result.report_html).parent
    summary = render_summary(result)
    assert f"Submission files (in {sync_dir}):" in summary
    assert "qpp-submission.json (QPP Submissions API (POST /submissions)): ready" in summary
    assert "DRAFT" not in summary
    document = json.loads((sync_dir / "qpp-submission.json").read_text())
    assert document["entityId"] == "A9999" and submission_errors(document) == []
    # the demo's only eCQM is CMS130 (113), which is not in the PY2025 APP Plus set: no QRDA III
    manifest = json.loads((sync_dir / "quality-score.json").read_text())["submission"]
    assert {n["instance"] for n in manifest["not_submittable"]} == {"M113 eCQM", "M113 MCQM"}
    assert not list(sync_dir.glob("*qrda3*"))

    # The QRDA III the demo's eCQM data gives (its eCQM, 113, is outside the PY2025 APP Plus set, so the
    # demo writes none): built from the demo's own results and valid against schema and schematron.
    stats = [stats_from_dict(item) for item in json.loads((sync_dir / "measures.json").read_text())]
    ecqm = [s for s in stats if s.collection_type == CollectionType.ECQM]
    assert ecqm
    scored = score_sync(
        ReportInputs(
            settings=AcoSettings.model_validate(settings),
            sync_id=result.sync["sync_id"] if result.sync else "demo",
            generated_at=datetime(2025, 12, 31, tzinfo=UTC),
            stats=ecqm,
        )
    )
    plan = plan_submission(scored)
    plan.ecqm = [SubmittedInstance(s, "113", "electronicHealthRecord") for s in ecqm]
    document = qrda3_document(scored, plan)
    assert document is not None and validate_qrda3(document, 2025) == []
