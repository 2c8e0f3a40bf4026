"""run_local_sync: folder checks, and a whole local sync through the repo's real template.yaml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aco_sync_local.cli import main
from aco_sync_local.runner import LocalRunError, find_aco_id, load_latest_result, run_local_sync

SAMPLE_ACO = Path(__file__).resolve().parent / "fixtures" / "sample_aco"


def test_the_only_configured_aco_is_found() -> None:
    assert find_aco_id(SAMPLE_ACO) == "DEMO1"


def test_folder_without_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        LocalRunError, match=r"no ACO configuration found \(expected config/acos/<aco_id>.json"
    ):
        run_local_sync(tmp_path, state_dir=tmp_path / "state")


def test_several_acos_need_a_choice(tmp_path: Path) -> None:
    (tmp_path / "config" / "acos").mkdir(parents=True)
    for name in ("A1", "B2"):
        (tmp_path / "config" / "acos" / f"{name}.json").write_text("{}")
    with pytest.raises(LocalRunError, match=r"several ACOs are configured \(A1, B2\); choose one with --aco"):
        find_aco_id(tmp_path)
    with pytest.raises(LocalRunError, match=r"config/acos/C3\.json is missing"):
        run_local_sync(tmp_path, aco_id="C3", state_dir=tmp_path / "state")


def test_run_of_a_missing_folder_is_a_clear_cli_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "nope"), "--state-dir", str(tmp_path / "state")]) == 2  # usage
    err = capsys.readouterr().err
    assert "Directory" in err and "does not exist" in err and "Traceback" not in err


def test_whole_local_sync_through_the_real_template(tmp_path: Path) -> None:
    folder = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, folder)
    state = tmp_path / "state"

    result = run_local_sync(folder, state_dir=state, timeout=120)

    assert result.aco_id == "DEMO1"
    assert result.uploaded_files == 6
    assert [(r["key"], r["activated"], r["rows_accepted"]) for r in result.extra["rosters_ingested"]] == [
        ("rosters/DEMO1/2025/roster.csv", True, 3)
    ]
    assert len(result.started) == 1
    assert result.executions, "the start-sync handler started no execution"
    main_execution = next(
        e for e in result.executions if e["execution_arn"] == result.started[0]["execution_arn"]
    )
    assert main_execution["status"] != "RUNNING"
    assert all(e["history"] for e in result.executions)
    assert result.sync is not None and result.sync["sync_id"] == result.started[0]["sync_id"]
    assert result.sync["status"] == "Sync Complete", result.sync.get("error")
    assert [e["status"] for e in result.executions] == ["SUCCEEDED"]
    assert sorted((c["tin"], c["status"]) for c in result.status["clinics"]) == [
        ("111111111", "Sync Complete"),
        ("222222222", "Sync Complete"),
    ]
    counts = [
        (
            m["measure_id"],
            m["collection_type"],
            m["eligible_population"],
            m["performance_met"],
            m["performance_not_met"],
            m["eligible_population_exclusion"],
        )
        for m in result.status["measures"]
    ]
    # Ada is seen at both TINs (de-duplicated), Grace is excluded from M001.
    assert counts == [("M001", "CQM", 3, 1, 1, 1), ("M236", "CQM", 2, 1, 1, 0)]
    assert result.queue_messages_processed == 1  # the clinic-stats job reached its worker
    assert result.report_html is not None and Path(result.report_html).is_file()
    assert Path(result.report_html).is_relative_to(state.resolve() / "bucket" / "results" / "DEMO1")
    # Saved for later processes (aco-sync status/history/report).
    assert load_latest_result(state).to_dict() == json.loads(json.dumps(result.to_dict()))


def test_run_json_keeps_stdout_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, folder)

    code = main(["run", str(folder), "--json", "--state-dir", str(tmp_path / "state")])

    data = json.loads(capsys.readouterr().out)  # handler logs must not pollute stdout
    assert code == 0 and {e["status"] for e in data["executions"]} == {"SUCCEEDED"}
    assert data["aco_id"] == "DEMO1"
    assert sorted(c["tin"] for c in data["clinics"]) == ["111111111", "222222222"]


def test_demo_runs_the_main_sync_and_the_mcqm_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--json", "--state-dir", str(tmp_path / "state")])

    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["sync"]["status"] == "Sync Complete"
    # The main machine hands over to the MCQM machine through states:startExecution (moto patch 2).
    assert sorted((e["state_machine"], e["status"]) for e in data["executions"]) == [
        ("AcoSyncStateMachine", "SUCCEEDED"),
        ("McqmSyncStateMachine", "SUCCEEDED"),
    ]
    # the demo's clinics have rows rejected on purpose: "Sync Complete (N rows rejected)"
    assert len(data["clinics"]) >= 3 and {c["status"].split(" (")[0] for c in data["clinics"]} == {
        "Sync Complete"
    }
    assert any(m["collection_type"] == "MCQM" for m in data["measures"])
    assert (tmp_path / "state" / "demo-aco" / "config" / "acos").is_dir()
    assert main(["report", "--state-dir", str(tmp_path / "state")]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("report.html")


def test_an_invalid_configuration_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, folder)
    (folder / "config" / "acos" / "DEMO1.json").write_text(json.dumps({"aco_id": "DEMO1", "name": "No year"}))

    with pytest.raises(LocalRunError) as raised:
        run_local_sync(folder, state_dir=tmp_path / "state", timeout=60)
    assert str(raised.value) == (
        "The sync of DEMO1 could not start: InvalidInputError: config/acos/DEMO1.json: "
        "invalid ACO configuration (`performance_year` is missing)"
    )
    assert main(["run", str(folder), "--state-dir", str(tmp_path / "state")]) == 1
    assert "aco-sync: error: The sync of DEMO1 could not start" in capsys.readouterr().err
