"""Issue 11, the sync: honest statuses (rows rejected, no usable data, incomplete ACO result), rosters never
replaced by a damaged file (holds, confirmation, pending ingest), no double counting of TINs, inputs
validated at the door, the alarms and retries in the template, and the exit code of ``aco-sync run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aco_sync.adapters.environment import Stores
from aco_sync.contracts.start_sync import StartSyncInput
from aco_sync.domain.settings import AcoSettings
from aco_sync.service.clinic_sync import record_clinic_failure, sync_member_clinic
from aco_sync.service.common import SyncStatus
from aco_sync.service.finalize import finalize_member_sync
from aco_sync.service.lock import acquire_aco_lock
from aco_sync.service.roster_ingest import confirm_held_roster, held_roster, ingest_roster
from aco_sync.service.start_sync import start_sync, start_syncs
from aco_sync.service.status import latest_sync_status
from aco_sync.service.sync_status import record_sync_status
from aco_sync.service.validation import list_clinic_batch, validate_roster
from aco_sync_local.commands import run as run_command
from aco_sync_local.commands.roster_confirm import confirm as roster_confirm
from aco_sync_local.commands.validate import validate_folder
from aco_sync_local.runner import LocalSyncResult
from aco_sync_local.summary import render_summary, terminal_safe
from support import small_aco
from support import stores as support_stores
from support.engine_steps import run_member_partitions
from support.stores import memory_stores

TEMPLATE_HEADER = (
    "measure_id,collection_type,first_name,last_name,birth_date,gender,"
    "performance_date,performance,npi,hba1c\n"
)
GOOD = "M001,CQM,Ann{n},Lee,1950-02-03,F,2025-03-01,MET,1234567893,8.5"
NORTH, SOUTH = small_aco.NORTH, small_aco.SOUTH
MBIS = [f"{d}EG4TE5MK{n:02d}" for d in range(1, 4) for n in range(10, 20)]  # 30 valid MBIs


def write_config(stores: Stores, **settings: object) -> None:
    support_stores.write_config(stores, "A1", **{"roster_required": False, **settings})


def template(rows: list[str]) -> bytes:
    return (TEMPLATE_HEADER + "\n".join(rows) + "\n").encode()


def sync_clinics(stores: Stores) -> dict[str, Any]:
    """Validation, every clinic (batch by batch, as the ASL) and finalize; the status view after it."""
    sync_id = start_sync(stores, aco_id="A1", trigger="manual")["sync_id"]
    ids = {"aco_id": "A1", "sync_id": sync_id}
    assert acquire_aco_lock(stores, **ids, trigger="manual", execution_arn=f"arn:{sync_id}")["acquired"]
    validation = validate_roster(stores, **ids)
    for batch in range(validation["batch_count"]):
        for clinic in list_clinic_batch(stores, **ids, batch=batch)["clinics"]:
            try:
                sync_member_clinic(stores, **ids, tin=clinic["tin"], name=clinic["name"])
            except Exception as exc:  # the Map's Catch
                record_clinic_failure(
                    stores, **ids, tin=clinic["tin"], error=type(exc).__name__, cause=str(exc)
                )
    run_member_partitions(stores, finalize_member_sync(stores, **ids), **ids)
    record_sync_status(stores, **ids, status=SyncStatus.COMPLETE)
    return latest_sync_status("A1", store=stores)


# ----- 4. honest statuses ----------------------------------------------------------------------------------
def test_a_clinic_with_rejected_rows_says_so_and_the_log_accounts_for_every_row() -> None:
    stores = memory_stores()
    write_config(stores, member_clinics=[{"tin": NORTH}])
    rows = [GOOD.format(n=n) for n in range(10)]
    rows[3] = rows[3].replace(",8.5", ",NaN")
    rows[5] = rows[5].replace(",Ann5,", ',"Ann5,')
    rows[7] = rows[7].replace("1950-02-03", "2052-01-01")
    stores.objects.put(f"members/A1/{NORTH}/templates/t.csv", template(rows))
    status = sync_clinics(stores)
    [clinic] = status["clinics"]
    assert clinic["status"] == "Sync Complete (3 rows rejected)"
    file_lines = [e["message"] for e in status["log"] if e["kind"] == "file"]
    assert file_lines == [f"TIN {NORTH}: templates/t.csv: 10 rows read: 7 accepted, 3 rejected"]
    errors = [e for e in status["log"] if e["kind"] == "ingest_error"]
    assert sorted(e["line"] for e in errors) == [5, 7, 9]
    assert all("Ann" not in e["message"] and "NaN" not in e["message"] for e in errors)


def test_a_clinic_whose_every_row_was_rejected_is_not_green_keeps_its_data_and_is_named() -> None:
    stores = memory_stores()
    write_config(stores, member_clinics=[{"tin": NORTH}, {"tin": SOUTH}])
    stores.objects.put(f"members/A1/{NORTH}/templates/t.csv", template([GOOD.format(n=n) for n in range(4)]))
    stores.objects.put(f"members/A1/{SOUTH}/templates/t.csv", template([GOOD.format(n=n) for n in range(3)]))
    first = sync_clinics(stores)
    assert {c["status"] for c in first["clinics"]} == {"Sync Complete"}
    stored = len(stores.state.aggregate_encounters("A1", SOUTH))
    assert stored == 3

    broken = template([GOOD.format(n=n).replace(",F,", ",?,") for n in range(3)])
    stores.objects.put(f"members/A1/{SOUTH}/templates/t.csv", broken)
    second = sync_clinics(stores)
    clinics = {c["tin"]: c for c in second["clinics"]}
    assert clinics[NORTH]["status"] == "Sync Complete"
    assert (
        clinics[SOUTH]["status"] == "Sync Failed"
        and "No usable data: 3 rows read" in clinics[SOUTH]["reason"]
    )
    assert len(stores.state.aggregate_encounters("A1", SOUTH)) == stored, "a damaged upload erased nothing"
    assert second["sync"]["status"] == "Sync Complete" and second["sync"]["incomplete_tins"] == [SOUTH]
    status_lines = [e["message"] for e in second["log"] if e["message"].startswith("Sync Complete")]
    assert status_lines == [
        f"Sync Complete (incomplete: 1 member TIN failed and is not in the results: {SOUTH})"
    ]


def test_aco_sync_run_exits_non_zero_when_a_clinic_failed(capsys: pytest.CaptureFixture[str]) -> None:
    def result(statuses: list[str]) -> LocalSyncResult:
        return LocalSyncResult(
            aco_id="A1",
            folder="f",
            started_at="",
            finished_at="",
            started=[],
            executions=[{"status": "SUCCEEDED", "history": []}],
            status={
                "sync": {"status": "Sync Complete"},
                "clinics": [{"tin": str(n), "status": s} for n, s in enumerate(statuses)],
            },
        )

    assert run_command.show(result(["Sync Complete", "Sync Complete (2 rows rejected)"]), as_json=True) == 0
    assert run_command.show(result(["Sync Complete", "Sync Failed"]), as_json=True) == 1
    capsys.readouterr()


# ----- 5. rosters never replaced by a damaged file ----------------------------------------------------------
def roster_csv(mbis: list[str], *, extra: str = "") -> bytes:
    rows = [f"{m},Ann{n},Lee,1950-02-03,F" for n, m in enumerate(mbis)]
    return ("mbi,first_name,last_name,birth_date,gender\n" + "\n".join(rows) + "\n" + extra).encode()


def upload(stores: Stores, name: str, data: bytes) -> dict[str, Any]:
    key = f"rosters/A1/2025/{name}"
    stores.objects.put(key, data)
    return ingest_roster(stores, key=key, start=False)


def test_a_roster_without_its_columns_is_never_activated() -> None:
    stores = memory_stores()
    write_config(stores)
    assert upload(stores, "a.csv", roster_csv(MBIS))["activated"]
    broken = upload(stores, "b.csv", b"mbi,first_name\n1EG4TE5MK73,Ann\n")
    assert not broken["activated"] and not broken["held"]
    assert (broken["rows_total"], broken["rows_accepted"], broken["rows_rejected"]) == (1, 0, 1)
    assert stores.state.get_active_roster("A1", 2025).file_name == "a.csv"  # type: ignore[union-attr]


def test_a_roster_dropping_a_large_share_is_held_until_confirmed() -> None:
    stores = memory_stores()
    write_config(stores)
    upload(stores, "a.csv", roster_csv(MBIS))
    small = upload(stores, "b.csv", roster_csv(MBIS[:2]))  # drops 28 of 30
    assert small["held"] and not small["activated"]
    assert "held: it would drop 28 of the 30 beneficiaries" in small["message"]
    assert stores.state.get_active_roster("A1", 2025).file_name == "a.csv"  # type: ignore[union-attr]
    assert held_roster(stores, "A1", 2025).file_name == "b.csv"  # type: ignore[union-attr]

    stores.objects.put("rosters/A1/2025/confirm/b.csv", b"")  # the S3 / console path
    confirmed = ingest_roster(stores, key="rosters/A1/2025/confirm/b.csv", start=False)
    assert confirmed["confirmed"] == "b.csv"
    active = stores.state.get_active_roster("A1", 2025)
    assert active is not None and active.file_name == "b.csv" and active.rows_accepted == 2
    assert held_roster(stores, "A1", 2025) is None


def test_a_small_drop_under_the_threshold_is_activated_and_the_threshold_is_a_setting() -> None:
    stores = memory_stores()
    write_config(stores)
    upload(stores, "a.csv", roster_csv(MBIS))
    assert upload(stores, "b.csv", roster_csv(MBIS[:28]))["activated"]  # 2 of 30 = 6.7% < 10%
    write_config(stores, roster_max_drop_percent=50)
    assert upload(stores, "c.csv", roster_csv(MBIS[:15]))["activated"]  # 13 of 28 = 46% < 50%


def test_the_cli_confirms_a_held_roster_in_a_local_folder(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    assert roster_confirm(file="b.csv", aco_id="A1", year=2025, folder=tmp_path, stack=None, region=None) == 0
    assert (tmp_path / "rosters/A1/2025/confirm/b.csv").is_file()


def test_confirming_when_nothing_is_held_is_a_clear_error() -> None:
    stores = memory_stores()
    write_config(stores)
    with pytest.raises(Exception, match=r"No roster b\.csv is held"):
        confirm_held_roster(stores, aco_id="A1", performance_year=2025, file_name="b.csv", start=False)


def test_the_daily_sync_ingests_rosters_that_were_uploaded_but_never_ingested() -> None:
    stores = memory_stores()
    write_config(stores)
    stores.objects.put("rosters/A1/2025/roster.csv", roster_csv(MBIS))  # the upload event was lost
    start_syncs(stores, StartSyncInput(all_configured=True, trigger="schedule"))
    active = stores.state.get_active_roster("A1", 2025)
    assert active is not None and active.file_name == "roster.csv" and active.rows_accepted == 30
    # ingested once: the next daily run does not ingest it again
    before = stores.state.get_active_roster("A1", 2025)
    start_syncs(stores, StartSyncInput(all_configured=True, trigger="schedule"))
    assert stores.state.get_active_roster("A1", 2025) == before


# ----- 6. no double counting of TINs ----------------------------------------------------------------------
def test_a_tin_listed_twice_in_member_clinics_is_synced_and_counted_once() -> None:
    stores = memory_stores()
    write_config(stores, member_clinics=[{"tin": NORTH}, {"tin": NORTH, "name": "again"}])
    stores.objects.put(f"members/A1/{NORTH}/templates/t.csv", template([GOOD.format(n=n) for n in range(3)]))
    status = sync_clinics(stores)
    assert [c["tin"] for c in status["clinics"]] == [NORTH]
    assert any("more than once" in e["message"] for e in status["log"] if e["kind"] == "validation")
    assert status["sync"]["counts"]["records"] == 3 and status["sync"]["counts"]["synced_tins"] == 1


# ----- 7. inputs validated at the door --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ACO\x0bName", "ACO\nName", "\x1b[2J", "ACO\u202eName", "A\x00"])
def test_a_config_name_with_a_control_character_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="control characters"):
        AcoSettings(aco_id="A1", performance_year=2025, name=name)
    with pytest.raises(ValidationError, match="control characters"):
        AcoSettings(aco_id="A1", performance_year=2025, member_clinics=[{"tin": NORTH, "name": name}])  # type: ignore[list-item]


@pytest.mark.parametrize("tin", ["١١١١١١١١١", "１１１１１１１１１", "11111111\u0661"])
def test_unicode_digits_are_not_a_tin(tin: str) -> None:
    with pytest.raises(ValidationError):
        AcoSettings(aco_id="A1", performance_year=2025, member_clinics=[{"tin": tin}])  # type: ignore[list-item]


def test_names_printed_to_a_terminal_have_their_control_characters_escaped() -> None:
    assert terminal_safe("North\x1b[2J\u202eClinic\nnext") == "North\\x1b[2J\\u202eClinic\nnext"
    result = LocalSyncResult(
        aco_id="A1",
        folder="f",
        started_at="",
        finished_at="",
        started=[],
        executions=[],
        status={
            "sync": None,
            "clinics": [{"tin": NORTH, "name": "Evil\x1b]0;title\x07", "status": "Sync Complete"}],
        },
    )
    assert "\x1b" not in render_summary(result) and "\x07" not in render_summary(result)


def test_aco_sync_validate_reports_nan_and_accounting_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "config/acos").mkdir(parents=True)
    (tmp_path / "config/acos/A1.json").write_text(json.dumps({"aco_id": "A1", "performance_year": 2025}))
    folder = tmp_path / f"members/A1/{NORTH}/templates"
    folder.mkdir(parents=True)
    rows = [GOOD.format(n=n) for n in range(4)]
    rows[1] = rows[1].replace(",8.5", ",sNaN")
    (folder / "t.csv").write_bytes(template(rows))
    report = validate_folder(tmp_path)
    [entry] = report.files
    assert (entry["read"], entry["accepted"], entry["rejected"]) == (4, 3, 1)
    assert any(i.line == 3 and "hba1c" in i.reason for i in report.issues)
    assert f"members/A1/{NORTH}/templates/t.csv: 4 rows read, 3 accepted, 1 rejected" in report.summary


# ----- 4/5. alarms, retries and the dead-letter queue in the template ---------------------------------------
def _template() -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(Path(__file__).parents[2] / "template.yaml"))  # type: ignore[no-any-return]


def test_roster_ingest_is_retried_lands_in_a_dead_letter_queue_and_is_alarmed() -> None:
    resources = _template()["Resources"]
    function = resources["IngestRosterFunction"]["Properties"]
    invoke = function["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["RosterIngestDeadLetterQueue", "Arn"]
    }
    assert function["Events"]["RosterUploaded"]["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] > 0
    alarm = resources["RosterIngestFailedAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["RosterIngestDeadLetterQueue", "QueueName"]}


def test_failed_clinics_are_alarmed_on_the_metric_finalize_emits() -> None:
    alarm = _template()["Resources"]["ClinicSyncFailedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AcoSync", "ClinicsFailed")
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0
    source = (Path(__file__).parents[2] / "functions/finalize_member_sync/app.py").read_text()
    assert 'name="ClinicsFailed"' in source


def test_the_report_shows_rejected_rows_as_a_warning_and_the_per_file_accounting() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "reports"))
    from report_samples import sample_inputs

    from aco_sync.domain.records import SyncLogEntry
    from aco_sync.reports import build_reports

    inputs = sample_inputs()
    inputs.clinic_statuses[0]["status"] = "Sync Complete (3 rows rejected)"
    inputs.log.append(
        SyncLogEntry(
            kind="file",
            level="warning",
            tin=str(inputs.clinic_statuses[0]["tin"]),
            file="templates/t.csv",
            message="TIN 1: templates/t.csv: 10 rows read: 7 accepted, 3 rejected",
        )
    )
    html = build_reports(inputs)["report.html"].decode()
    assert 'badge warn">Sync Complete (3 rows rejected)' in html
    assert "Rows read per file" in html and "10 rows read: 7 accepted, 3 rejected" in html
