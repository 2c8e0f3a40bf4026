"""Roster, template and provider readers, and the per-clinic reader."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.records import CollectionType, Gender, IngestIssue, Performance
from aco_sync.ecqm import calculate_qrda
from aco_sync.ingest.clinic import classify, read_clinic_files
from aco_sync.ingest.providers import read_providers
from aco_sync.ingest.roster import read_roster
from aco_sync.ingest.tabular import parse_date, parse_mbi, parse_npi
from aco_sync.ingest.templates import read_template
from qrda_samples import qrda_document

CATALOG = default_catalog()
TIN = "123456789"
PHI = ("Ada", "Lovelace", "1EG4TE5MK73", "1956-04-12", "04/12/1956")


def _no_phi(issues: list[IngestIssue]) -> None:
    for issue in issues:
        for value in PHI:
            assert value not in issue.reason, issue.reason


# -- roster ----------------------------------------------------------------------------------

ROSTER = """MBI,First Name,Last Name,Date of Birth,Gender,M001,CMS165
1EG4-TE5-MK73,Ada,Lovelace,1956-04-12,F,Y,N
2EG4TE5MK73,Bob ,  Stone,04/12/1950,male,1,0
"""


def test_roster_reads_valid_rows_with_header_variants_and_flags() -> None:
    result = read_roster("roster.csv", ROSTER.encode(), catalog=CATALOG)
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (2, 2, 0)
    assert result.issues == []
    ada, bob = result.entries
    assert ada.mbi == "1EG4TE5MK73" and ada.birth_date == date(1956, 4, 12) and ada.gender is Gender.FEMALE
    assert ada.eligible_measures == frozenset({"M001"})
    assert bob.first_name == "Bob" and bob.last_name == "Stone" and bob.gender is Gender.MALE
    assert bob.eligible_measures == frozenset({"M001"}) and bob.source_line == 3
    assert result.eligibility_columns == {"m001": "M001", "cms165": "M236"}


def test_roster_without_flag_columns_has_no_eligibility() -> None:
    result = read_roster(
        "r.csv",
        b"mbi,first_name,last_name,birth_date,gender\n1EG4TE5MK73,Ada,L,19560412,F\n",
        catalog=CATALOG,
    )
    assert result.entries[0].eligible_measures is None


def test_roster_rejects_bad_rows_with_row_numbers_and_keeps_the_rest() -> None:
    text = (
        "mbi,first_name,last_name,birth_date,gender\n"
        "1EG4TE5MK73,Ada,Lovelace,1956-04-12,F\n"  # 2 ok
        "1EG4TE5MK73,Ada,Lovelace,1956-04-12,F\n"  # 3 duplicate MBI
        "BADMBI,Ada,Lovelace,1956-04-12,F\n"  # 4 bad MBI
        "3EG4TE5MK73,,Lovelace,1956-04-12,F\n"  # 5 missing first name
        "4EG4TE5MK73,Ada,Lovelace,1956-02-30,F\n"  # 6 impossible date
        "5EG4TE5MK73,Ada,Lovelace,2190-01-01,F\n"  # 7 future
        "6EG4TE5MK73,Ada,Lovelace,1956-04-12,X\n"  # 8 bad gender
        "7EG4TE5MK73,Ada,Lovelace,1956-04-12,F,extra\n"  # 9 too many cells
        "\n"
        "8EG4TE5MK73,Ada,Lovelace,1956-04-12,F\n"  # 11 ok
    )
    result = read_roster("roster.csv", text.encode(), catalog=CATALOG)
    assert [e.source_line for e in result.entries] == [2, 11]
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (9, 2, 7)
    by_line = {i.line: i for i in result.issues}
    assert by_line[3].code == "duplicate_mbi" and "row 2" in by_line[3].reason
    assert "Medicare Beneficiary Identifier" in by_line[4].reason
    assert "first name is missing" in by_line[5].reason
    assert by_line[6].code == "invalid_date"
    assert "future" in by_line[7].reason
    assert "gender" in by_line[8].reason
    assert by_line[9].code == "malformed_row"
    _no_phi(result.issues)


def test_roster_with_no_valid_rows_and_missing_columns() -> None:
    result = read_roster("r.csv", b"mbi,first_name,last_name,birth_date,gender\nX,,,,\n", catalog=CATALOG)
    assert result.rows_accepted == 0 and any(i.code == "no_valid_rows" for i in result.issues)
    result = read_roster("r.csv", b"mbi,name\n1EG4TE5MK73,Ada\n", catalog=CATALOG)
    assert result.entries == [] and result.issues[0].code == "missing_column"
    assert "first name" in result.issues[0].reason and result.rows_rejected == 1


def test_roster_bom_semicolons_and_unknown_column_warning() -> None:
    data = "\ufeffMBI;First_Name;Last_Name;DOB;Sex;Notes\n1EG4TE5MK73;Ada;Lovelace;19560412;2;x\n".encode()
    result = read_roster("r.csv", data, catalog=CATALOG)
    assert result.entries[0].gender is Gender.FEMALE
    assert [i.code for i in result.issues] == ["unknown_column"] and result.issues[0].severity == "warning"


def test_roster_in_cp1252_is_decoded_with_a_warning() -> None:
    data = (
        b"mbi,first_name,last_name,birth_date,gender\n"
        b"1EG4TE5MK73,Ada,Lovelace,1956-04-12,F\n"
        b"2EG4TE5MK73,Jos\xe9,Mu\xf1oz,1950-01-01,M\n"
        b"3EG4TE5MK73,Fran\xe7oise,D\xfcrr,1949-02-03,F\n"
    )
    result = read_roster("r.csv", data, catalog=CATALOG)
    assert result.rows_accepted == 3 and result.rows_rejected == 0
    names = [(e.first_name, e.last_name) for e in result.entries]
    assert names[1:] == [("José", "Muñoz"), ("Françoise", "Dürr")]
    [issue] = result.issues
    assert issue.code == "decoded_cp1252" and issue.severity == "warning" and "Windows-1252" in issue.reason


def test_roster_non_utf8_line_in_a_utf8_file_is_reported_and_other_rows_kept() -> None:
    data = (
        "mbi,first_name,last_name,birth_date,gender\n1EG4TE5MK73,Zoë,Lovelace,1956-04-12,F\n".encode()
        + b"2EG4TE5MK73,Jos\xe9,Mu\xf1oz,1950-01-01,M\n"
    )
    result = read_roster("r.csv", data, catalog=CATALOG)
    assert result.rows_accepted == 1 and result.rows_rejected == 1  # mixed: not unambiguously CP1252
    [issue] = result.issues
    assert issue.code == "bad_encoding" and issue.line == 3 and "UTF-8" in issue.reason


def test_utf16_and_empty_files_are_file_level_errors() -> None:
    result = read_roster("r.csv", "mbi,first_name\n".encode("utf-16"), catalog=CATALOG)
    assert result.issues[0].code == "bad_encoding" and "UTF-8" in result.issues[0].reason
    assert read_roster("r.csv", b"", catalog=CATALOG).issues[0].code == "empty_file"


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_roster_xlsx_with_real_date_cells() -> None:
    data = _xlsx(
        [
            ["MBI", "First Name", "Last Name", "Birth Date", "Gender"],
            ["1EG4TE5MK73", "Ada", "Lovelace", date(1956, 4, 12), "F"],
        ]
    )
    result = read_roster("roster.xlsx", data, catalog=CATALOG)
    assert result.rows_accepted == 1 and result.entries[0].birth_date == date(1956, 4, 12)


def test_hostile_xlsx_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
        )
    result = read_roster("roster.xlsx", buffer.getvalue(), catalog=CATALOG)
    assert result.entries == [] and result.issues[0].code == "xml_doctype"
    result = read_roster("roster.xlsx", b"PK\x03\x04garbage", catalog=CATALOG)
    assert result.issues[0].code == "unreadable_file"


# -- templates -------------------------------------------------------------------------------

TEMPLATE_HEADER = (
    "measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,npi,"
    "encounter_id,hba1c,systolic,diastolic,mbi,tin\n"
)


def _template(rows: str, *, name: str = "templates/cqm.csv", year: int = 2025):  # type: ignore[no-untyped-def]
    return read_template(
        name, (TEMPLATE_HEADER + rows).encode(), tin=TIN, performance_year=year, catalog=CATALOG
    )


def test_template_rows_become_records() -> None:
    result = _template(
        "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,NOT_MET,1234567893,E1,9.5,,,1EG4TE5MK73,123456789\n"
        "CMS165v13,MCQM,Ada,Lovelace,04/12/1956,F,20250601,Performance Met,1234567893,E1,,128,82,,\n"
        "M113,cqm,Bob,Stone,1950-01-01,M,,,1234567893,,,,,,\n"
    )
    assert result.issues == []
    first, second, third = result.records
    assert (first.measure_id, first.collection_type, first.performance) == (
        "M001",
        CollectionType.CQM,
        Performance.NOT_MET,
    )
    assert first.hba1c == 9.5 and first.mbi == "1EG4TE5MK73" and first.npi == "1234567893"
    assert first.source_key == f"{TIN}:template:E1:M001:CQM" and first.source_line == 2
    assert first.source_file == "templates/cqm.csv" and first.content_hash
    assert (second.measure_id, second.collection_type, second.performance) == (
        "M236",
        CollectionType.MCQM,
        Performance.MET,
    )
    assert (second.systolic, second.diastolic, second.performance_date) == (128, 82, date(2025, 6, 1))
    assert third.performance is Performance.DENOMINATOR_ONLY and third.performance_date is None
    assert third.source_key.startswith(f"{TIN}:template:") and third.source_key != first.source_key


def test_template_keys_are_stable_and_hashes_track_content() -> None:
    row = "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,NOT_MET,1234567893,,9.5,,,,\n"
    once, again = _template(row).records[0], _template(row).records[0]
    assert once.source_key == again.source_key and once.content_hash == again.content_hash
    changed = _template(row.replace("NOT_MET", "MET")).records[0]
    assert changed.content_hash != once.content_hash
    keyed = [
        _template(r.replace(",,9.5", ",E9,9.5")).records[0] for r in (row, row.replace("NOT_MET", "MET"))
    ]
    assert keyed[0].source_key == keyed[1].source_key and keyed[0].content_hash != keyed[1].content_hash


def test_template_bad_rows_are_rejected_with_reasons() -> None:
    result = _template(
        "999,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,,,,,,\n"  # 2 unknown measure
        "001,eCQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,,,,,,\n"  # 3 eCQM
        "001,CQM,,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,,,,,,\n"  # 4 missing name
        "001,CQM,Ada,Lovelace,1956-13-12,F,2025-03-10,MET,1234567893,,,,,,\n"  # 5 impossible date
        "001,CQM,Ada,Lovelace,1956-04-12,F,2024-03-10,MET,1234567893,,,,,,\n"  # 6 wrong year
        "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MAYBE,1234567893,,,,,,\n"  # 7 bad performance
        "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567890,,,,,,\n"  # 8 bad NPI check digit
        "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,,abc,,,,\n"  # 9 bad hba1c
        "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,,,,,,987654321\n"  # 10 other TIN
        "001,CQM,Ada,Lovelace,1956-04-12,F,,MET,1234567893,,,,,,\n"  # 11 MET without date
        "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,X1,,,,,\n"  # 12 ok
        "001,CQM,Ada,Lovelace,1956-04-12,F,2025-04-10,MET,1234567893,X1,,,,,\n"  # 13 duplicate encounter
    )
    assert [r.source_line for r in result.records] == [12]
    by_line = {i.line: i for i in result.issues}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13]
    # bare digits are never echoed (they could be an age, a date, an identifier); M999 would be
    assert by_line[2].code == "unknown_measure" and "999" not in by_line[2].reason
    assert "QRDA-I" in by_line[3].reason
    assert "first name is missing" in by_line[4].reason
    assert by_line[5].code == "invalid_date"
    assert "performance year 2025" in by_line[6].reason
    assert "performance is not MET" in by_line[7].reason
    assert "check digit" in by_line[8].reason
    assert "hba1c" in by_line[9].reason
    assert "987654321" not in by_line[10].reason and "TIN is not 123456789" in by_line[10].reason
    assert "performance date is missing" in by_line[11].reason
    assert by_line[13].code == "duplicate_row" and "row 12" in by_line[13].reason
    assert result.rows_rejected == 11 and result.rows_total == 12
    assert all(i.tin == TIN for i in result.issues)
    _no_phi(result.issues)


def test_values_in_the_wrong_column_are_not_echoed() -> None:
    """A name typed into the measure or NPI column must not end up in the sync log."""
    result = _template("Lovelace,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,Ada,,,,,,\n")
    [issue] = result.issues
    assert "unknown measure (known:" in issue.reason and "the NPI is not an NPI" in issue.reason
    _no_phi(result.issues)


def test_denominator_only_counts_file() -> None:
    data = (
        b"measure_id,collection_type,denominator_only_count\n"
        b"001,MCQM,12\n236SSP,MCQM,3\nM999,MCQM,1\n113,MCQM,-1\n"
    )
    result = read_template("templates/counts.csv", data, tin=TIN, performance_year=2025, catalog=CATALOG)
    assert [(c.measure_id, c.collection_type, c.count, c.source_line) for c in result.denominator_counts] == [
        ("M001", CollectionType.MCQM, 12, 2),
        ("M236", CollectionType.MCQM, 3, 3),
    ]
    assert [i.line for i in result.issues] == [4, 5]


def test_template_missing_columns() -> None:
    result = read_template(
        "templates/x.csv",
        b"measure_id,first_name\n001,Ada\n",
        tin=TIN,
        performance_year=2025,
        catalog=CATALOG,
    )
    assert result.records == [] and result.issues[0].code == "missing_column"
    assert "performance date" in result.issues[0].reason


# -- providers -------------------------------------------------------------------------------


def test_providers() -> None:
    data = (
        b"NPI,Name,Active\n1234567893,Dr. A,Y\n1234567893,Dr. A again,Y\n123,Dr. B,Y\n"
        b"1245319599,Dr. C,no\n1003000126,,Y\n"
    )
    result = read_providers("providers.csv", data, tin=TIN)
    assert [(p.npi, p.name, p.active) for p in result.providers] == [
        ("1234567893", "Dr. A", True),
        ("1245319599", "Dr. C", False),
    ]
    assert [(i.line, i.code) for i in result.issues] == [
        (3, "duplicate_row"),
        (4, "invalid_value"),
        (6, "invalid_value"),
    ]


def test_providers_active_column_is_optional() -> None:
    result = read_providers("providers.csv", b"npi,name\n1234567893,Dr. A\n", tin=TIN)
    assert result.providers[0].active is True and result.issues == []


# -- clinic ----------------------------------------------------------------------------------


def test_classify_paths() -> None:
    assert classify("providers.csv") == "providers"
    assert classify("templates/a.csv") == "template" and classify("templates/a.XLSX") == "template"
    assert classify("qrda/a.xml") == "qrda" and classify("qrda/batch.zip") == "qrda"
    assert classify("notes.txt") is None and classify("qrda/a.pdf") is None


def test_clinic_reads_every_kind_and_warns_about_unknown_files(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_calculate(doc, *, tin, source_file, performance_year):  # type: ignore[no-untyped-def]
        calls.append((doc.file_name, tin, source_file, performance_year))
        return [], [IngestIssue(file=source_file, reason="calculated", severity="warning")]

    files = [
        ("providers.csv", b"npi,name,active\n1234567893,Dr. A,Y\n"),
        (
            "templates/cqm.csv",
            (
                TEMPLATE_HEADER + "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,,,,,,\n"
            ).encode(),
        ),
        ("qrda/p1.xml", qrda_document(tin="987654321").encode()),
        ("qrda/bad.xml", b"<nope"),
        ("readme.txt", b"hi"),
        ("qrda/", b""),
    ]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=fake_calculate
    )
    assert data.files_read == 4 and len(data.providers) == 1 and len(data.records) == 1
    assert calls == [("qrda/p1.xml", TIN, "qrda/p1.xml", 2025)]
    codes = {(i.file, i.code) for i in data.issues}
    assert ("readme.txt", "unknown_file") in codes
    assert ("qrda/bad.xml", "not_xml") in codes
    assert ("qrda/p1.xml", "tin_mismatch") in codes
    assert all(i.tin == TIN for i in data.issues)


# -- field parsers ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2025-03-04", "03/04/2025", "3/4/2025", "20250304", "2025-03-04T10:00:00"])
def test_date_formats(text: str) -> None:
    assert parse_date(text) == date(2025, 3, 4)


@pytest.mark.parametrize("text", ["2025-02-29", "13/01/2025", "yesterday", "2025/13/01"])
def test_impossible_dates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_mbi_and_npi_validation() -> None:
    assert parse_mbi(" 1eg4-te5-mk73 ") == "1EG4TE5MK73"
    for bad in ("0EG4TE5MK73", "1SG4TE5MK73", "1EG4TE5MK7", "1EG4TE5MK73X"):
        with pytest.raises(ValueError):
            parse_mbi(bad)
    assert parse_npi("1234567893") == "1234567893"
    with pytest.raises(ValueError):
        parse_npi("1234567890")


# -- the published templates (docs/templates/) read cleanly --------------------------------------


def test_published_templates_read_without_issues() -> None:
    from shared_fixtures import REPO_ROOT

    folder = REPO_ROOT / "docs" / "templates"
    roster = read_roster("roster.csv", (folder / "roster.csv").read_bytes(), catalog=CATALOG)
    assert roster.issues == [] and roster.rows_accepted == 2
    assert roster.entries[0].eligible_measures == frozenset({"M001", "M112", "M113", "M134"})
    for name, expected in (("cqm_template.csv", 5), ("mcqm_template.csv", 3)):
        result = read_template(
            name, (folder / name).read_bytes(), tin=TIN, performance_year=2025, catalog=CATALOG
        )
        assert result.issues == [] and len(result.records) == expected, name
    counts = read_template(
        "denominator_counts.csv",
        (folder / "denominator_counts.csv").read_bytes(),
        tin=TIN,
        performance_year=2025,
        catalog=CATALOG,
    )
    assert counts.issues == [] and len(counts.denominator_counts) == 2
    providers = read_providers("providers.csv", (folder / "providers.csv").read_bytes(), tin=TIN)
    assert providers.issues == [] and [p.active for p in providers.providers] == [True, False]


def test_excel_sep_hint_line_is_honoured_and_rows_keep_their_numbers() -> None:
    data = (
        b"sep=;\nmbi;first_name;last_name;birth_date;gender\n1EG4TE5MK73;Ada;Lovelace;1956-04-12;F\nbad;;;;\n"
    )
    result = read_roster("r.csv", data, catalog=CATALOG)
    assert result.entries[0].source_line == 3
    assert [i.line for i in result.issues] == [4]


def test_template_xlsx_in_a_clinic_folder() -> None:
    header = TEMPLATE_HEADER.strip().split(",")
    row = ["001", "CQM", "Ada", "Lovelace", date(1956, 4, 12), "F", date(2025, 3, 10), "MET", 1234567893]
    data = _xlsx([header, row + [""] * (len(header) - len(row))])
    files = [("templates/q.xlsx", data)]
    clinic = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert clinic.issues == []
    [record] = clinic.records
    assert record.birth_date == date(1956, 4, 12) and record.npi == "1234567893" and record.source_line == 2


def test_a_failing_ecqm_calculation_is_an_issue_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(doc, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyError(f"patient {doc.family_name}")

    files = [("qrda/a.xml", qrda_document().encode()), ("providers.csv", b"npi,name\n1234567893,Dr A\n")]
    data = read_clinic_files(TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=broken)
    assert [(i.file, i.code, i.severity) for i in data.issues] == [("qrda/a.xml", "ecqm_failed", "error")]
    assert "KeyError" in data.issues[0].reason and len(data.providers) == 1
    [failure] = [r for r in caplog.records if r.getMessage() == "eCQM calculation failed"]
    assert failure.__dict__["error"] == "KeyError" and failure.exc_info is None
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "Example" not in logged  # the exception text quoted the patient's name


def test_collection_type_is_inferred_when_absent() -> None:
    header = "measure_id,first_name,last_name,birth_date,gender,performance_date,performance,npi\n"
    rows = (
        "001,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893\n"
        "236SSP,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893\n"
    )
    result = read_template("t.csv", (header + rows).encode(), tin=TIN, performance_year=2025, catalog=CATALOG)
    assert [r.collection_type for r in result.records] == [CollectionType.CQM, CollectionType.MCQM]
    assert [(i.code, i.severity) for i in result.issues] == [("missing_column", "warning")]
    blank = _template("113,,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,,,,,,\n")
    assert blank.records[0].collection_type is CollectionType.CQM and blank.issues == []
    counts = read_template(
        "c.csv",
        b"measure_id,denominator_only_count\n001,5\n",
        tin=TIN,
        performance_year=2025,
        catalog=CATALOG,
    )
    assert counts.denominator_counts[0].collection_type is CollectionType.MCQM


def test_roster_cms_rank_columns_name_measures() -> None:
    header = "MBI,FIRST_NAME,LAST_NAME,BIRTH_DATE,SEX,DM_RANK,HTN-2 RANK,PREV_6_RANK,CARE_2_RANK\n"
    data = (header + "1EG4TE5MK73,Ada,Lovelace,19560412,2,12,0,,3\n").encode()
    result = read_roster("r.csv", data, catalog=CATALOG)
    assert result.eligibility_columns == {"dm_rank": "M001", "htn_2_rank": "M236", "prev_6_rank": "M113"}
    assert result.entries[0].eligible_measures == frozenset({"M001"})
    # CARE_2 is not in the catalog; PREV_6 is blank in every row (nobody eligible for M113)
    assert [i.code for i in result.issues] == ["unknown_column", "blank_eligibility_column"]


def test_an_encounter_repeated_in_two_template_files_is_kept_once() -> None:
    row = "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,E7,,,,,\n"
    files = [
        ("templates/b.csv", (TEMPLATE_HEADER + row + "\n").encode()),  # not byte-identical to a.csv
        ("templates/a.csv", (TEMPLATE_HEADER + row).encode()),
    ]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert [r.source_file for r in data.records] == ["templates/a.csv"]
    [issue] = data.issues
    assert (issue.file, issue.line, issue.code) == ("templates/b.csv", 2, "duplicate_row")
    assert "templates/a.csv row 2" in issue.reason


def test_the_same_row_content_under_another_encounter_id_in_another_file_is_kept_once() -> None:
    first = "001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-10,MET,1234567893,E7,,,,,\n"
    other = "001,CQM,Bob,Stone,1950-04-12,M,2025-03-11,MET,1234567893,E8,,,,,\n"
    again = first.replace(",E7,", ",E9,")  # another encounter id, the same content
    files = [
        ("templates/a.csv", (TEMPLATE_HEADER + first + other).encode()),
        ("templates/b.csv", (TEMPLATE_HEADER + again).encode()),
    ]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert [(r.source_file, r.source_line) for r in data.records] == [
        ("templates/a.csv", 2),
        ("templates/a.csv", 3),
    ]
    [issue] = data.issues
    assert (issue.file, issue.line, issue.code) == ("templates/b.csv", 2, "duplicate_row")


def test_records_without_a_repeated_identity_are_all_kept_as_read() -> None:
    rows = "".join(
        f"001,CQM,Ada,Lovelace,1956-04-12,F,2025-03-{day:02d},MET,1234567893,E{day},,,,,\n"
        for day in range(1, 9)
    )
    files = [("templates/a.csv", (TEMPLATE_HEADER + rows).encode())]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert [r.source_line for r in data.records] == list(range(2, 10)) and data.issues == []
