"""The status/history/report commands read the saved local sync; the summaries say what happened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aco_sync_local.cli import main
from aco_sync_local.runner import LocalSyncResult, list_saved_results, load_latest_result, save_result
from aco_sync_local.summary import render_summary, summary_json, table


def make_result(tmp_path: Path, *, with_report: bool = True) -> LocalSyncResult:
    sync_dir = tmp_path / "state" / "results" / "A1" / "s-1"
    sync_dir.mkdir(parents=True)
    report = sync_dir / "report.html"
    if with_report:
        report.write_text("<html></html>")
    history = [
        {
            "state": "Validate Roster",
            "type": "Task",
            "status": "Succeeded",
            "start": "t",
            "duration_ms": 40,
            "error": None,
            "cause": None,
            "retries": 1,
        },
        {
            "state": "Sync Clinics",
            "type": "Map",
            "status": "Succeeded",
            "start": "t",
            "duration_ms": 1500,
            "error": None,
            "cause": None,
            "retries": 0,
        },
        {
            "state": "Sync Clinic",
            "type": "Task",
            "status": "Caught",
            "start": "t",
            "duration_ms": 12,
            "error": "InvalidInputError",
            "cause": json.dumps(
                {"errorType": "InvalidInputError", "errorMessage": "templates/a.csv line 3: bad date"}
            ),
            "retries": 0,
        },
    ]
    return LocalSyncResult(
        aco_id="A1",
        folder=str(tmp_path / "aco"),
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:05+00:00",
        started=[{"aco_id": "A1", "sync_id": "s-1"}],
        executions=[
            {
                "execution_arn": "arn:1",
                "state_machine": "AcoSyncStateMachine",
                "name": "s-1",
                "status": "SUCCEEDED",
                "start": "t",
                "stop": "t",
                "duration_ms": 2100,
                "error": None,
                "cause": None,
                "history": history,
            },
        ],
        status={
            "aco_id": "A1",
            "sync": {
                "sync_id": "s-1",
                "status": "Sync Complete",
                "trigger": "manual",
                "started": "t0",
                "finished": "t1",
                "error": None,
            },
            "clinics": [
                {
                    "tin": "111111111",
                    "name": "North",
                    "status": "Sync Complete",
                    "reason": None,
                    "last_synced": "t1",
                },
                {
                    "tin": "222222222",
                    "name": "South",
                    "status": "Sync Failed",
                    "reason": "templates/a.csv line 3: bad date",
                    "last_synced": None,
                },
            ],
            "measures": [
                {
                    "measure_id": "M001",
                    "collection_type": "CQM",
                    "eligible_population": 3,
                    "performance_met": 2,
                    "performance_not_met": 1,
                    "eligible_population_exclusion": 0,
                    "eligible_population_exception": 0,
                    "performance_rate": 66.6667,
                },
            ],
            "log": [
                {
                    "kind": "halt",
                    "message": "ACO aggregation for measure 001 cannot proceed due to missing "
                    "Medicare roster",
                    "measure_id": "M001",
                    "tin": None,
                    "file": None,
                    "line": None,
                }
            ],
            "results_prefix": "results/A1/s-1/",
            "skipped_triggers": [
                {"trigger": "schedule", "started": "t2", "status": "Skipped: Already Running"}
            ],
        },
        results_dir=str(tmp_path / "state" / "results" / "A1"),
        report_html=str(report) if with_report else None,
        quality_score={"quality_score": 71.25},
    )


def test_summary_reads_top_down_result_fixes_details_files_next_steps(tmp_path: Path) -> None:
    result = make_result(tmp_path)
    result.extra["rosters_ingested"] = [
        {"key": "rosters/A1/2025/old.csv", "activated": False, "error": "InvalidInputError: no valid rows"}
    ]
    result.status["log"] += [
        {"kind": "aggregation", "message": f"entry {n}", "measure_id": None, "tin": None, "file": None}
        for n in range(60)
    ]
    sync_dir = Path(str(result.report_html)).parent
    (sync_dir / "patients.csv").write_text("master_pat_id\n")
    (sync_dir / "gaps-222222222.csv").write_text("tin\n")
    (sync_dir / "probable-duplicates.csv").write_text("master_pat_id_a\n")
    text = render_summary(result)

    sections = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert sections == [
        "Result: Sync Complete (ACO A1, sync s-1)",
        "Aggregated measures",
        "What to fix",
        "Member clinics (TINs)",
        "Decisions (sync log)",
        "Execution history",
        "Files written",
        "Next steps",
    ]
    assert "ACO quality score 71.25 of 100" in text and "1 of 2 member clinics synced" in text
    fixes = text.split("What to fix")[1].split("Member clinics")[0]
    for fix in (
        "TIN 222222222 did not sync: templates/a.csv line 3: bad date",
        "Roster rosters/A1/2025/old.csv was not ingested: InvalidInputError: no valid rows",
        "ACO aggregation for measure 001 cannot proceed due to missing Medicare roster (M001)",
    ):
        assert fix in fixes
    for line in (
        "Validate Roster  Task  Succeeded after 1 retry",
        "Sync Clinic      Task  Caught",
        "InvalidInputError: templates/a.csv line 3: bad date",
        "222222222  South  Sync Failed",
        "M001 CQM         3    2        1      0       0  66.67%",
        "[skipped trigger] schedule at t2: Skipped: Already Running",
        "[aggregation] entry 59",  # the decision log is never cut
    ):
        assert line in text
    files = text.split("Files written")[1].split("Next steps")[0]
    for name in ("report.html", "patients.csv", "gaps-222222222.csv", "probable-duplicates.csv"):
        assert name in files
    assert "TIN 222222222: patients who count against a measure" in files
    steps = text.split("Next steps")[1]
    assert "aco-sync report --open" in steps and "aco-sync validate" in steps
    assert "reviews/A1/duplicate-decisions.csv" in steps


def test_status_json_is_measures_and_clinics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_result(make_result(tmp_path), tmp_path / "state")

    assert main(["status", "--state-dir", str(tmp_path / "state"), "--json"]) == 0

    data = json.loads(capsys.readouterr().out)
    assert data == summary_json(load_latest_result(tmp_path / "state"))
    assert [c["status"] for c in data["clinics"]] == ["Sync Complete", "Sync Failed"]
    assert data["measures"][0]["performance_met"] == 2


def test_status_and_history_read_the_saved_sync(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    save_result(make_result(tmp_path), state)

    assert main(["status", "--state-dir", str(state)]) == 0
    status = capsys.readouterr().out
    assert "111111111  North  Sync Complete" in status
    assert "Execution history" not in status

    assert main(["history", "--state-dir", str(state)]) == 0
    history = capsys.readouterr().out
    assert "AcoSyncStateMachine s-1: SUCCEEDED in 2.1 s" in history
    assert "Sync Clinics     Map   Succeeded                1.5 s" in history

    assert main(["history", "--state-dir", str(state), "--all"]) == 0
    assert "A1   s-1   Sync Complete  AcoSyncStateMachine SUCCEEDED" in capsys.readouterr().out
    assert [r.aco_id for r in list_saved_results(state)] == ["A1"]


def test_report_prints_the_report_path_and_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = make_result(tmp_path)
    save_result(result, tmp_path / "state")

    assert main(["report", "--state-dir", str(tmp_path / "state")]) == 0
    assert capsys.readouterr().out.splitlines() == [str(result.report_html), "ACO quality score: 71.25"]


def test_report_explains_a_missing_quality_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = make_result(tmp_path)
    result.quality_score = {"quality_score": None, "measures_scored": 0, "note": None}
    save_result(result, tmp_path / "state")

    assert main(["report", "--state-dir", str(tmp_path / "state")]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "ACO quality score: not available (no measure instance could be scored)"
    )


def test_report_without_a_report_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_result(make_result(tmp_path, with_report=False), tmp_path / "state")

    assert main(["report", "--state-dir", str(tmp_path / "state")]) == 1
    assert "the latest sync (A1) wrote no report.html" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["status", "history", "report"])
def test_commands_without_a_saved_sync_say_how_to_make_one(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--state-dir", str(tmp_path / "empty")]) == 1
    assert "run `aco-sync run <folder>` or `aco-sync demo`" in capsys.readouterr().err


def test_table_aligns_numbers_right_and_text_left() -> None:
    assert table(["Name", "Count"], [("a", 1), ("long name", 100), ("b", None)], indent="").splitlines() == [
        "Name       Count",
        "---------  -----",
        "a              1",
        "long name    100",
        "b              -",
    ]


def test_a_clinic_with_rejected_rows_counts_as_synced_in_the_summary(tmp_path: Path) -> None:
    result = make_result(tmp_path)
    result.status["clinics"] = [
        {"tin": "111111111", "status": "Sync Complete (3 rows rejected)"},
        {"tin": "222222222", "status": "Sync Failed", "reason": "bad"},
        {"tin": "333333333", "status": "Sync Complete"},
    ]
    assert "2 of 3 member clinics synced" in render_summary(result)
