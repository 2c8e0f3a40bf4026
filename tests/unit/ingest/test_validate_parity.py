"""``aco-sync validate`` reports what ``run`` would trip on: a missing roster, settings typos, a misspelt
header, a header-only file, a blank roster eligibility column, CP1252 files, ``.xls``, measure halts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aco_sync.adapters.memory import InMemoryObjectStore
from aco_sync.domain.errors import InvalidInputError
from aco_sync.service.common import load_aco_settings
from aco_sync_local.cli import main
from aco_sync_local.demo_data import TIN_CQM_A, write_demo_aco

CONFIG = "config/acos/demo-aco.json"


def _validate(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["validate", str(folder), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _codes(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((i["code"], i["severity"]) for i in report["issues"])


def _edit_config(folder: Path, **changes: Any) -> None:
    path = folder / CONFIG
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    write_demo_aco(tmp_path)
    for bad in tmp_path.rglob("incomplete_record.xml"):
        bad.unlink()
    roster = tmp_path / "rosters/demo-aco/2025/roster.csv"
    roster.write_text("\n".join(roster.read_text().splitlines()[:-2]) + "\n")  # drop the 2 bad rows
    template = next(tmp_path.rglob("quality_export.csv"))
    template.write_text("\n".join(template.read_text().splitlines()[:-3]) + "\n")  # and the 3 bad ones
    return tmp_path


def test_the_cleaned_demo_folder_is_valid(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _validate(demo, capsys)
    assert (code, report["issues"]) == (0, [])
    assert any(line.startswith("measure plan of demo-aco: M001 MCQM") for line in report["summary"])


def test_a_missing_required_roster_is_an_error(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (demo / "rosters/demo-aco/2025/roster.csv").unlink()
    code, report = _validate(demo, capsys)
    assert code == 1
    [issue] = [i for i in report["issues"] if i["code"] == "missing_roster"]
    assert issue["severity"] == "error" and "the sync would abort" in issue["reason"]
    assert issue["file"] == "rosters/demo-aco/2025/"


def test_without_a_required_roster_the_halts_are_reported(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo / "rosters/demo-aco/2025/roster.csv").unlink()
    _edit_config(demo, roster_required=False)
    code, report = _validate(demo, capsys)
    halts = [i for i in report["issues"] if i["code"] == "plan_halt"]
    assert code == 1 and halts and all(i["severity"] == "error" for i in halts)
    assert any("cannot proceed due to missing Medicare roster" in i["reason"] for i in halts)
    assert ("missing_roster", "warning") in _codes(report)


@pytest.mark.parametrize(
    ("key", "suggestion"), [("mcqm_optin", "mcqm_opt_in"), ("roster_requird", "roster_required")]
)
def test_a_misspelt_setting_is_an_error_with_did_you_mean(
    demo: Path, capsys: pytest.CaptureFixture[str], key: str, suggestion: str
) -> None:
    _edit_config(demo, **{key: True})
    code, report = _validate(demo, capsys)
    assert code == 1
    [issue] = [i for i in report["issues"] if i["code"] == "invalid_settings"]
    assert f"`{key}` is not a setting; did you mean `{suggestion}`?" in issue["reason"]
    # run refuses it with the same words (the start-sync step loads the settings the same way)
    store = InMemoryObjectStore()
    store.put(CONFIG, (demo / CONFIG).read_bytes())
    with pytest.raises(InvalidInputError, match=f"did you mean `{suggestion}`"):
        load_aco_settings(store, "demo-aco")


def test_settings_problems_are_in_plain_words(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_config(demo, performance_year="twenty", member_clinics=[{"tin": "12", "nmae": "x"}])
    code, report = _validate(demo, capsys)
    reasons = " ".join(i["reason"] for i in report["issues"])
    assert code == 1 and "Input should be" not in reasons
    assert "`performance_year` must be a whole number" in reasons
    assert "`member_clinics[0].tin` must be the clinic's 9-digit TIN" in reasons
    assert "`member_clinics[0].nmae` is not a setting; did you mean `name`?" in reasons


def test_a_misspelt_header_names_the_column_by_position_and_suggests_the_name(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = next((demo / f"members/demo-aco/{TIN_CQM_A}/templates").glob("*.csv"))
    lines = template.read_text().splitlines()
    header = lines[0].split(",")
    position = header.index("performance_date") + 1
    header[position - 1] = "perfomance_date"
    template.write_text("\n".join([",".join(header), *lines[1:]]) + "\n")
    code, report = _validate(demo, capsys)
    [issue] = [i for i in report["issues"] if i["code"] == "missing_column"]
    assert code == 1 and issue["line"] == 1
    assert (
        f"Did you mean `performance_date`? An unknown column (column {position}) looks like a misspelling"
        in issue["reason"]
    )
    assert "perfomance_date" not in issue["reason"]  # a header cell is never echoed (it may be PHI)


def test_an_unknown_optional_column_gets_a_warning_with_did_you_mean(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = next((demo / f"members/demo-aco/{TIN_CQM_A}/templates").glob("*.csv"))
    template.write_text(template.read_text().replace("encounter_id", "encountr_id", 1))
    code, report = _validate(demo, capsys)
    [issue] = [i for i in report["issues"] if i["code"] == "unknown_column"]
    assert code == 0 and issue["severity"] == "warning"
    assert (
        "was ignored; did you mean `encounter_id`?" in issue["reason"] and "encountr" not in issue["reason"]
    )


def test_header_only_file_and_blank_eligibility_column_are_warnings(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = demo / f"members/demo-aco/{TIN_CQM_A}/templates/empty.csv"
    extra.write_text("measure_id,first_name,last_name,birth_date,gender,performance,performance_date,npi\n")
    roster = demo / "rosters/demo-aco/2025/roster.csv"
    lines = roster.read_text().splitlines()
    roster.write_text("\n".join([lines[0] + ",M001", *(line + "," for line in lines[1:])]) + "\n")
    code, report = _validate(demo, capsys)
    assert code == 0
    codes = _codes(report)
    assert ("no_rows", "warning") in codes and ("blank_eligibility_column", "warning") in codes
    [blank] = [i for i in report["issues"] if i["code"] == "blank_eligibility_column"]
    assert "measure M001 is blank in every row" in blank["reason"]


def test_a_cp1252_template_is_decoded_not_dropped(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = next((demo / f"members/demo-aco/{TIN_CQM_A}/templates").glob("*.csv"))
    text = template.read_text()
    first_name = text.splitlines()[1].split(",")[2]
    template.write_bytes(text.replace(first_name, "Jos\u00e9").encode("cp1252"))
    code, report = _validate(demo, capsys)
    assert code == 0 and _codes(report) == [("decoded_cp1252", "warning")]


def test_an_xls_workbook_gets_a_specific_message(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xls = demo / f"members/demo-aco/{TIN_CQM_A}/templates/export.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    code, report = _validate(demo, capsys)
    [issue] = [i for i in report["issues"] if i["code"] == "unsupported_xls"]
    assert code == 1 and "save it as Excel Workbook (.xlsx) or CSV UTF-8" in issue["reason"]


def test_text_output_puts_the_verdict_first_and_the_errors_before_the_warnings(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo / "rosters/demo-aco/2025/roster.csv").unlink()
    (demo / "notes.txt").write_text("x")
    assert main(["validate", str(demo)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("1 error, 1 warning: fix the errors before syncing")
    assert lines.index("Errors (1)") < lines.index("Warnings (1)") < lines.index("Read")


def test_a_missing_folder_is_a_usage_error_for_validate_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == 2
    assert main(["run", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
