"""Issue 11 item 3, per clinic: a member clinic's input per sync is bounded by a byte budget derived from
the clinic sync function's memory (or ``clinic_input_limit_mb``). A file that would take the clinic past
it is refused with a file-level error naming the file and the limit, accounted as a refused file; the
clinic's other files still sync and its status says it is incomplete. Never an out-of-memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_no_silent_loss_sync import GOOD, NORTH, SOUTH, sync_clinics, template, write_config

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.settings import AcoSettings
from aco_sync.ecqm import calculate_qrda
from aco_sync.ingest.clinic import MEMORY_PER_INPUT_BYTE, InputBudget, read_clinic_files
from aco_sync.service.clinic_sync import DEFAULT_CLINIC_FUNCTION_MEMORY_MB, clinic_input_budget
from aco_sync_local.commands.validate import validate_folder
from support.stores import memory_stores

LIMIT_MB = 0.01  # 10,485 bytes of template CSV


def rows(start: int, count: int) -> list[str]:
    return [GOOD.format(n=n) for n in range(start, start + count)]


def test_files_beyond_the_clinic_budget_are_refused_and_the_rest_syncs() -> None:
    stores = memory_stores()
    write_config(stores, member_clinics=[{"tin": NORTH}, {"tin": SOUTH}], clinic_input_limit_mb=LIMIT_MB)
    files = {
        "templates/a.csv": template(rows(0, 60)),  # ~3.6 KB: fits
        "templates/b.csv": template(rows(100, 150)),  # ~9 KB: with a.csv over the limit
        "templates/c.csv": template(rows(300, 40)),  # ~2.4 KB: still fits after b.csv was refused
    }
    for name, body in files.items():
        stores.objects.put(f"members/A1/{NORTH}/{name}", body)
    stores.objects.put(f"members/A1/{SOUTH}/templates/t.csv", template(rows(0, 5)))
    assert len(files["templates/a.csv"]) + len(files["templates/b.csv"]) > LIMIT_MB * 1_048_576

    status = sync_clinics(stores)
    clinics = {c["tin"]: c for c in status["clinics"]}
    assert clinics[NORTH]["status"] == "Sync Complete (1 file refused)"
    assert clinics[SOUTH]["status"] == "Sync Complete"
    assert status["sync"]["status"] == "Sync Complete"
    # exact accounting: every file shown; rows read = accepted + rejected; the refused file read nothing
    file_lines = sorted(e["message"] for e in status["log"] if e["kind"] == "file" and e["tin"] == NORTH)
    assert file_lines == [
        f"TIN {NORTH}: templates/a.csv: 60 rows read: 60 accepted, 0 rejected",
        f"TIN {NORTH}: templates/b.csv: refused as a whole (see its error); none of its rows were used",
        f"TIN {NORTH}: templates/c.csv: 40 rows read: 40 accepted, 0 rejected",
    ]
    [error] = [e for e in status["log"] if e["kind"] == "ingest_error" and e["tin"] == NORTH]
    assert error["file"] == "templates/b.csv" and error["level"] == "error"
    assert "templates/b.csv" in error["message"] and f"input limit of {LIMIT_MB:g} MB" in error["message"]
    assert "clinic_input_limit_mb" in error["message"]
    assert len(stores.state.aggregate_encounters("A1", NORTH)) == 100
    [summary] = [e["message"] for e in status["log"] if e["kind"] == "clinic" and e["tin"] == NORTH]
    assert summary.startswith(f"TIN {NORTH}: 100 records from 3 files; 100 added or changed")
    assert summary.endswith("0 rows rejected, 1 file refused")
    north = stores.state.get_clinic_status("A1", NORTH)
    assert north is not None
    assert (north.rows_read, north.rows_accepted, north.rows_rejected, north.files_refused) == (
        100,
        100,
        0,
        1,
    )

    # raising the limit is a change of what reading gives: the clinic is read again and b.csv is used
    write_config(stores, member_clinics=[{"tin": NORTH}, {"tin": SOUTH}], clinic_input_limit_mb=1)
    again = {c["tin"]: c for c in sync_clinics(stores)["clinics"]}
    assert again[NORTH]["status"] == "Sync Complete"
    assert len(stores.state.aggregate_encounters("A1", NORTH)) == 250


def test_a_huge_file_is_refused_before_it_is_read() -> None:
    """A 40 MB template (under the 50 MB per-file cap) over a 1 MB clinic budget: refused unread."""
    huge = template(rows(0, 1)) + b"x\n" * 20_000_000
    data = read_clinic_files(
        NORTH,
        [("templates/huge.csv", huge), ("templates/small.csv", template(rows(10, 3)))],
        performance_year=2025,
        catalog=default_catalog(),
        calculate_qrda=calculate_qrda,
        input_budget=InputBudget.of_mb(1),
    )
    accounts = {f.file: f for f in data.files}
    assert accounts["templates/huge.csv"].refused and accounts["templates/huge.csv"].read == 0
    assert (accounts["templates/small.csv"].read, accounts["templates/small.csv"].accepted) == (3, 3)
    assert [i.code for i in data.issues] == ["clinic_input_limit"]
    assert len(data.records) == 3


def test_the_default_budget_follows_the_function_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = AcoSettings(aco_id="A1", performance_year=2025)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", raising=False)
    default = clinic_input_budget(settings)
    assert default == InputBudget.for_memory(DEFAULT_CLINIC_FUNCTION_MEMORY_MB)
    # what the clinic's CSV may cost in memory fits the function with the baseline and headroom
    assert default.limit_bytes * MEMORY_PER_INPUT_BYTE["csv"] < DEFAULT_CLINIC_FUNCTION_MEMORY_MB * 1_048_576
    assert 50 <= default.limit_mb <= 150
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")  # what the Lambda runtime sets
    small = clinic_input_budget(settings)
    assert small == InputBudget.for_memory(1024) and small.limit_bytes < default.limit_bytes / 3
    configured = AcoSettings(aco_id="A1", performance_year=2025, clinic_input_limit_mb=5)
    assert clinic_input_budget(configured) == InputBudget(5 * 1_048_576)
    # XLSX costs more memory per byte than CSV, a QRDA-I document less
    assert default.cost("templates/t.xlsx", 1000) > default.cost("templates/t.csv", 1000)
    assert default.cost("qrda/p.xml", 1000) < default.cost("templates/t.csv", 1000)


def test_validate_applies_the_same_limit(tmp_path: Path) -> None:
    config = {
        "aco_id": "A1",
        "performance_year": 2025,
        "roster_required": False,
        "clinic_input_limit_mb": LIMIT_MB,
    }
    (tmp_path / "config" / "acos").mkdir(parents=True)
    (tmp_path / "config" / "acos" / "A1.json").write_text(json.dumps(config))
    folder = tmp_path / "members" / "A1" / NORTH / "templates"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(template(rows(0, 60)))
    (folder / "b.csv").write_bytes(template(rows(100, 150)))
    report = validate_folder(tmp_path)
    files = {f["file"]: f for f in report.files}
    refused = files[f"members/A1/{NORTH}/templates/b.csv"]
    assert refused["refused"] and refused["read"] == 0
    assert files[f"members/A1/{NORTH}/templates/a.csv"]["accepted"] == 60
    assert any(i.code == "clinic_input_limit" for i in report.issues)
