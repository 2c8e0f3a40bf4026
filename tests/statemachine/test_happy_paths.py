"""Happy paths through the real ASL: with and without the MCQM job."""

from __future__ import annotations

from pathlib import Path

from statemachine_support import NORTH, SOUTH, ingest_roster, lock_holder, start, states_entered, write_aco

from aco_sync.service.status import latest_sync_status
from aco_sync_local.local_stack import LocalStack


def test_sync_without_mcqm_completes_and_releases_the_lock(tmp_path: Path) -> None:
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        write_aco(aws, mcqm=False, roster_required=False)
        started = start(aws)
        executions = aws.wait_for_executions(timeout=60)
        assert [(e.state_machine, e.status) for e in executions] == [("AcoSyncStateMachine", "SUCCEEDED")]
        states = states_entered(aws, started["execution_arn"])
        for state in (
            "Acquire ACO Lock",
            "Validate Roster",
            "Initial Sync",
            "Clean Up Removed Encounters",
            "Sync Each Member Clinic",
            "Finalize Member Sync",
            "MCQM Needed?",
            "Update Aggregate Stats",
            "Queue Clinic Stats",
            "Mark Sync Complete",
            "Release ACO Lock",
        ):
            assert state in states, states
        assert "Start MCQM Sync" not in states

        status = latest_sync_status("A1")
        assert status["sync"]["status"] == "Sync Complete"
        assert {c["tin"]: c["status"] for c in status["clinics"]} == {
            NORTH: "Sync Complete",
            SOUTH: "Sync Complete",
        }
        m236 = next(m for m in status["measures"] if m["measure_id"] == "M236")
        assert (m236["collection_type"], m236["eligible_population"], m236["performance_met"]) == (
            "CQM",
            3,
            1,
        )
        assert aws.drain_queues() == 1  # the clinic stats job
        keys = aws.list_keys(status["results_prefix"])
        assert f"{status['results_prefix']}clinic_stats.json" in keys
        assert f"{status['results_prefix']}report.html" in keys
        assert lock_holder(aws) is None

        again = start(aws)  # unchanged data: the second sync writes no aggregate encounter
        aws.wait_for_executions(timeout=60)
        status = latest_sync_status("A1")
        assert status["sync"]["id"] == again["sync_id"] and status["sync"]["status"] == "Sync Complete"
        clinic_lines = [e["message"] for e in status["log"] if e["kind"] == "clinic"]
        assert len(clinic_lines) == 2
        assert all("0 added or changed, 0 removed" in line for line in clinic_lines), clinic_lines


def test_roster_upload_starts_a_sync_whose_mcqm_job_completes_it(tmp_path: Path) -> None:
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        write_aco(aws, mcqm=True)
        ingested = ingest_roster(aws)
        assert ingested["activated"] and ingested["sync"]["trigger"] == "roster_upload"
        executions = aws.wait_for_executions(timeout=60)
        assert sorted((e.state_machine, e.status) for e in executions) == [
            ("AcoSyncStateMachine", "SUCCEEDED"),
            ("McqmSyncStateMachine", "SUCCEEDED"),
        ]
        main = next(e for e in executions if e.state_machine == "AcoSyncStateMachine")
        mcqm = next(e for e in executions if e.state_machine == "McqmSyncStateMachine")
        assert "Start MCQM Sync" in states_entered(aws, main.execution_arn)
        assert "Update Aggregate Stats" not in states_entered(aws, main.execution_arn)
        mcqm_states = states_entered(aws, mcqm.execution_arn)
        for state in (
            "Mark MCQM Sync Running",
            "Match Roster",
            "Update Aggregate Stats",
            "Queue Clinic Stats",
            "Mark Sync Complete",
            "Release ACO Lock",
        ):
            assert state in mcqm_states, mcqm_states

        status = latest_sync_status("A1")
        assert status["sync"]["status"] == "Sync Complete"
        assert status["sync"]["trigger"] == "roster_upload"
        assert mcqm.execution_arn in status["sync"]["execution_arns"]
        m236 = [m for m in status["measures"] if m["measure_id"] == "M236"]
        assert [(m["collection_type"], m["eligible_population"]) for m in m236] == [("MCQM", 2)]
        log_kinds = {e["kind"] for e in status["log"]}
        assert {"roster", "status"} <= log_kinds
