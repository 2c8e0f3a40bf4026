"""``make demo``: the demo config carries example submission ids, so the run prints where the submission
files are and that they are ready (not drafts), and the QPP JSON follows the documented data model."""

from __future__ import annotations

import json
from pathlib import Path

from aco_sync_local.demo_data import write_demo_aco
from aco_sync_local.runner import run_local_sync
from aco_sync_local.summary import render_summary
from qpp_data_model import submission_errors


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
