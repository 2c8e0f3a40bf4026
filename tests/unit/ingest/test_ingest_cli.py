"""``aco-sync qrda`` and ``aco-sync validate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aco_sync_local.cli import main
from aco_sync_local.demo_data import TIN_CQM_A, write_demo_aco
from qrda_samples import GENDER_2026_MALE, qrda_document


def test_qrda_prints_what_was_extracted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.xml"
    good.write_text(qrda_document(gender=GENDER_2026_MALE))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e "e">]>\n<x/>')
    assert main(["qrda", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert (
        "good.xml: OK" in out and "Ada Example, born 1956-04-12, gender M (nullFlavor=OTH, 248153007@" in out
    )
    assert "MBI:       1EG4TE5MK73" in out and "TIN:       123456789    NPI: 1234567893" in out
    assert "CMS122 v13 -> M001" in out and "lab_result 1" in out
    assert "bad.xml: REJECTED (line 2)" in out and "DOCTYPE" in out


def test_qrda_json_and_exit_code_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.xml"
    good.write_text(qrda_document())
    assert main(["qrda", "--json", str(good)]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["status"] == "ok" and result["identifiers"]["mbi"] == "1EG4TE5MK73"
    assert result["measures"][0]["catalog_measure_id"] == "M001"
    assert result["entry_counts"] == {"lab_result": 1}
    assert result["reporting_period"] == {"start": "2025-01-01T00:00:00", "end": "2025-12-31T00:00:00"}


def test_qrda_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["qrda", str(tmp_path / "nope.xml")]) == 1
    assert "REJECTED" in capsys.readouterr().out


def test_validate_demo_folder_reports_the_deliberate_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_demo_aco(tmp_path)
    assert main(["validate", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 6 and report["warnings"] == 0
    template_rows = len(next(tmp_path.rglob("quality_export.csv")).read_text().splitlines())
    roster_rows = len(next(tmp_path.rglob("roster.csv")).read_text().splitlines())
    assert sorted((i["file"].split("/")[-1], i["line"], i["code"]) for i in report["issues"]) == [
        ("incomplete_record.xml", 22, "missing_birth_date"),
        ("quality_export.csv", template_rows - 2, "unknown_measure"),
        ("quality_export.csv", template_rows - 1, "invalid_date"),
        ("quality_export.csv", template_rows, "missing_value"),
        ("roster.csv", roster_rows - 1, "invalid_value"),
        ("roster.csv", roster_rows, "invalid_date"),
    ]


def test_validate_clean_folder_and_misplaced_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_demo_aco(tmp_path)
    for bad in tmp_path.rglob("incomplete_record.xml"):
        bad.unlink()
    (tmp_path / "rosters/demo-aco/2025/roster.csv").write_text(
        "mbi,first_name,last_name,birth_date,gender\n1EG4TE5MK73,Ada,Example,1956-04-12,F\n"
    )
    template = next((tmp_path / f"members/demo-aco/{TIN_CQM_A}/templates").glob("*.csv"))
    quality = next(tmp_path.rglob("quality_export.csv"))
    quality.write_text(template.read_text())
    assert main(["validate", str(tmp_path)]) == 0
    assert "0 errors, 0 warnings: all files are valid" in capsys.readouterr().out
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["validate", str(tmp_path)]) == 0
    assert main(["validate", str(tmp_path), "--strict"]) == 1
    out = capsys.readouterr().out
    assert "Warnings (1)\n  notes.txt: Not in a place ACO Sync reads" in out


def test_validate_bad_settings_and_unknown_aco(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config/acos").mkdir(parents=True)
    (tmp_path / "config/acos/x.json").write_text('{"aco_id": "x", "performance_year": 1900}')
    (tmp_path / "members/other/123456789").mkdir(parents=True)
    (tmp_path / "members/other/123456789/providers.csv").write_text("npi,name\n1234567893,Dr A\n")
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "Invalid ACO settings: `performance_year` must be a year between 2017 and 2100" in out
    assert "No config/acos/other.json" in out


def test_qrda_accepts_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.xml").write_text(qrda_document())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.xml").write_text(qrda_document(given="Bo"))
    (tmp_path / "notes.txt").write_text("x")
    assert main(["qrda", "--json", str(tmp_path)]) == 0
    assert [r["file"] for r in json.loads(capsys.readouterr().out)] == ["a.xml", "b.xml"]


def test_validate_warns_about_a_roster_for_another_year(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_demo_aco(tmp_path)
    old = tmp_path / "rosters/demo-aco/2024"
    old.mkdir()
    (old / "roster.csv").write_text(
        "mbi,first_name,last_name,birth_date,gender\n1EG4TE5MK73,Ada,Example,1956-04-12,F\n"
    )
    main(["validate", str(tmp_path), "--json"])
    issues = json.loads(capsys.readouterr().out)["issues"]
    assert [i["file"] for i in issues if i["code"] == "roster_year"] == ["rosters/demo-aco/2024/roster.csv"]
