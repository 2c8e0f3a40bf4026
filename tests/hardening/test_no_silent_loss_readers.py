"""Issue 11, readers: every input row is accounted for (read = accepted + rejected, per file), no cell
value can crash a reader, damaged CSV resynchronises at the next physical line, work is bounded, XML
checks see through every encoding, and identical uploads are counted once."""

from __future__ import annotations

import csv
import dataclasses
import io
import random
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.errors import QrdaRejectedError
from aco_sync.domain.records import FileAccount
from aco_sync.ecqm import calculate_qrda
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.model import ClinicalEntry, EntryKind
from aco_sync.ecqm.qrda import _during, link_observations_to_encounters
from aco_sync.ingest.clinic import read_clinic_files
from aco_sync.ingest.providers import PROVIDERS, read_providers
from aco_sync.ingest.qrda import parse_qrda, read_qrda_upload
from aco_sync.ingest.roster import ROSTER, read_roster
from aco_sync.ingest.tabular import MAX_COLUMNS, MAX_ISSUES_PER_FILE, read_table
from aco_sync.ingest.templates import TEMPLATE, read_template
from qrda_samples import qrda_document

pytestmark = pytest.mark.timeout(120)
CATALOG = default_catalog()
TIN = "123456789"

# every column each reader reads, from the reader's own table (a column it gains must get a value below)
TEMPLATE_COLUMNS = TEMPLATE.names
ROSTER_COLUMNS = [*ROSTER.names, "M001"]  # and an eligibility column
PROVIDER_COLUMNS = PROVIDERS.names
COLUMN = TEMPLATE_COLUMNS.index  # a template column's position in template_row
MBIS = ["1EG4TE5MK73", "2EG4TE5MK74", "3EG4TE5MK75", "4EG4TE5MK76", "5EG4TE5MK77", "6EG4TE5MK78"]
NPIS = ["1234567893", "1245319599", "1003000126"]


def template_row(n: int) -> list[str]:
    values = {
        "measure_id": "M001",
        "collection_type": "CQM",
        "first_name": f"Ann{n}",
        "last_name": "Lee",
        "birth_date": "1950-02-03",
        "gender": "F",
        "performance_date": "2025-03-01",
        "performance": "MET",
        "npi": "1234567893",
        "encounter_id": f"E{n}",
        "patient_id": f"P{n}",
        "mbi": "",
        "hba1c": "8.5",
        "systolic": "120",
        "diastolic": "80",
        "tin": TIN,
    }
    return [values[column] for column in TEMPLATE_COLUMNS]


def roster_row(n: int) -> list[str]:
    values = {
        "mbi": MBIS[n % len(MBIS)],
        "first_name": f"Ann{n}",
        "last_name": "Lee",
        "birth_date": "1950-02-03",
        "gender": "F",
        "M001": "Y",
    }
    return [values[column] for column in ROSTER_COLUMNS]


def provider_row(n: int) -> list[str]:
    values = {"npi": NPIS[n % len(NPIS)], "name": f"Dr {n}", "active": "Y"}
    return [values[column] for column in PROVIDER_COLUMNS]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def assert_balanced(read: int, accepted: int, rejected: int, expected_read: int) -> None:
    assert read == expected_read, f"{read} rows read, the file had {expected_read}"
    assert read == accepted + rejected, f"{read} read != {accepted} accepted + {rejected} rejected"


# ----- 1. one stray quote: only its row is lost -----------------------------------------------------------
def test_a_stray_quote_in_a_template_rejects_only_its_row_and_the_rest_is_read() -> None:
    rows = [",".join(template_row(n)) for n in range(100)]
    rows[4] = rows[4].replace(",Ann4,", ',"Ann4,')  # a quote opened and never closed
    data = (",".join(TEMPLATE_COLUMNS) + "\n" + "\n".join(rows) + "\n").encode()
    result = read_template("templates/t.csv", data, tin=TIN, performance_year=2025, catalog=CATALOG)
    assert_balanced(result.rows_total, result.rows_accepted, result.rows_rejected, 100)
    assert (result.rows_accepted, result.rows_rejected) == (99, 1)
    [issue] = [i for i in result.issues if i.severity == "error"]
    assert issue.line == 6 and "quote" in issue.reason and "Ann4" not in issue.reason
    assert {r.source_line for r in result.records} == set(range(2, 102)) - {6}


def test_a_stray_quote_closed_by_a_later_one_does_not_swallow_the_rows_between() -> None:
    rows = [",".join(template_row(n)) for n in range(10)]
    rows[2] = rows[2].replace(",Ann2,", ',"Ann2,')
    rows[7] = rows[7].replace(",Lee,", ',Lee",')  # a second stray quote would close the first one
    data = (",".join(TEMPLATE_COLUMNS) + "\n" + "\n".join(rows) + "\n").encode()
    result = read_template("templates/t.csv", data, tin=TIN, performance_year=2025, catalog=CATALOG)
    assert_balanced(result.rows_total, result.rows_accepted, result.rows_rejected, 10)
    assert result.rows_accepted >= 8  # rows 3..6 are never swallowed into one value


def test_a_quoted_value_with_a_line_break_is_still_one_row() -> None:
    rows = [template_row(n) for n in range(3)]
    rows[1][COLUMN("first_name")] = "Ann\nMarie"
    data = csv_text(TEMPLATE_COLUMNS, rows).encode()
    result = read_template("templates/t.csv", data, tin=TIN, performance_year=2025, catalog=CATALOG)
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (3, 3, 0)


def test_a_roster_with_one_stray_quote_keeps_27_of_28_beneficiaries() -> None:
    mbis = [f"{d}EG4TE5MK{n:02d}" for d in range(1, 5) for n in range(10, 17)]
    rows = [f"{mbi},Ann{n},Lee,1950-02-03,F" for n, mbi in enumerate(mbis)]
    rows[1] = rows[1].replace(",Ann1,", ',"Ann1,')
    data = ("mbi,first_name,last_name,birth_date,gender\n" + "\n".join(rows) + "\n").encode()
    result = read_roster("roster.csv", data, catalog=CATALOG)
    assert_balanced(result.rows_total, result.rows_accepted, result.rows_rejected, 28)
    assert (result.rows_accepted, result.rows_rejected) == (27, 1) and not result.damaged


# ----- 2. no cell value can crash a reader: every hostile value in every column -------------------------
HOSTILE_VALUES = [
    "NaN",
    "sNaN",
    "-NaN",
    "Infinity",
    "-inf",
    "1e999999999",
    "9" * 400,
    "\x00",
    "a\x00b",
    "\x1b[31mred",
    "\u202eevil",
    "\ufeff",
    "\ufeffM001",
    '"',
    'a"b',
    "''",
    "١٢٣٤٥٦٧٨٩",  # Arabic-Indic digits
    "１２３４５６７８９",  # full-width digits
    "2052-01-01",
    "1800-01-01",
    "9999-12-31",
    "0001-01-01",
    "x" * 100_000,
    "\t",
    "%",
    "-",
    "0x1F",
    "1_000",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: repr(v)[:20])
def test_every_hostile_value_in_every_column_is_accepted_or_rejected_never_raised(value: str) -> None:
    cases = [
        ("template", TEMPLATE_COLUMNS, template_row),
        ("roster", ROSTER_COLUMNS, roster_row),
        ("providers", PROVIDER_COLUMNS, provider_row),
    ]
    for kind, columns, make_row in cases:
        for column in range(len(columns)):
            rows = [make_row(0), make_row(1), make_row(2)]
            rows[1][column] = value
            for data in (csv_text(columns, rows).encode(), _raw_csv(columns, rows)):
                read, accepted, rejected = _read(kind, data)
                where = f"{kind} column {columns[column]}"
                assert read == 3 and read == accepted + rejected, where
                assert accepted >= 2 or (kind == "roster" and column == 0), where  # the valid rows are read


def _raw_csv(columns: list[str], rows: list[list[str]]) -> bytes:
    """The rows joined without quoting (what a hand-edited file looks like); line breaks kept out."""
    lines = [",".join(columns)] + [",".join(c.replace(",", ";").replace("\n", " ") for c in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _read(kind: str, data: bytes) -> tuple[int, int, int]:
    if kind == "template":
        t = read_template("t.csv", data, tin=TIN, performance_year=2025, catalog=CATALOG)
        return t.rows_total, t.rows_accepted, t.rows_rejected
    if kind == "roster":
        r = read_roster("r.csv", data, catalog=CATALOG)
        return r.rows_total, r.rows_accepted, r.rows_rejected
    p = read_providers("p.csv", data, tin=TIN)
    return p.rows_total, len(p.providers), p.rows_rejected


@pytest.mark.parametrize("value", ["NaN", "sNaN", "-NaN", "Infinity", "1e999999999", "١٢"])
def test_nan_in_a_numeric_column_rejects_the_row_with_file_row_and_column(value: str) -> None:
    rows = [template_row(n) for n in range(3)]
    rows[1][COLUMN("hba1c")] = value
    result = read_template(
        "templates/t.csv",
        csv_text(TEMPLATE_COLUMNS, rows).encode(),
        tin=TIN,
        performance_year=2025,
        catalog=CATALOG,
    )
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (3, 2, 1)
    [issue] = [i for i in result.issues if i.severity == "error"]
    assert (issue.file, issue.line) == ("templates/t.csv", 3) and "hba1c" in issue.reason
    assert value not in issue.reason


def test_an_exception_inside_a_row_becomes_that_rows_rejection(monkeypatch: pytest.MonkeyPatch) -> None:
    import aco_sync.ingest.templates as templates

    real = templates.parse_npi
    monkeypatch.setattr(
        templates,
        "parse_npi",
        lambda text: (_ for _ in ()).throw(KeyError("x")) if text == NPIS[1] else real(text),
    )
    rows = [template_row(n) for n in range(3)]
    rows[1][COLUMN("npi")] = NPIS[1]
    result = read_template(
        "t.csv", csv_text(TEMPLATE_COLUMNS, rows).encode(), tin=TIN, performance_year=2025, catalog=CATALOG
    )
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (3, 2, 1)
    assert any(i.code == "unreadable_row" and i.line == 3 for i in result.issues)


def test_unicode_digits_are_not_identifiers() -> None:
    rows = [provider_row(0), ["١٢٣٤٥٦٧٨٩٣", "Dr X", "Y"]]
    result = read_providers("p.csv", csv_text(PROVIDER_COLUMNS, rows).encode(), tin=TIN)
    assert (result.rows_total, len(result.providers), result.rows_rejected) == (2, 1, 1)


# ----- 3. bounded work ----------------------------------------------------------------------------------
def _xlsx(rows: list[list[object]], *, dimension: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    if dimension is None:
        return out.getvalue()
    return _rewrite_sheet(
        out.getvalue(),
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(), xml),
    )


def _rewrite_sheet(data: bytes, change, *, rename: str | None = None, encoding: str | None = None) -> bytes:  # type: ignore[no-untyped-def]
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            name = item.filename
            if name == "xl/worksheets/sheet1.xml":
                content = change(content)
                if encoding:
                    content = (
                        content.decode("utf-8")
                        .replace('encoding="UTF-8"', f'encoding="{encoding}"')
                        .encode(encoding)
                    )
            target.writestr(name, content)
    return out.getvalue()


def test_an_xlsx_declaring_a_sheet_of_a_million_rows_by_16384_columns_is_read_by_its_cells() -> None:
    data = _xlsx([["npi", "name"], ["1234567893", "Dr A"]], dimension="A1:XFD1048576")
    result = read_providers("p.xlsx", data, tin=TIN)  # the declared dimension is ignored (was: no end)
    assert (result.rows_total, len(result.providers), result.rows_rejected) == (1, 1, 0)


def test_an_xlsx_row_with_a_cell_in_column_xfd_is_rejected_not_padded() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["npi", "name"])
    sheet.append(["1234567893", "Dr A"])
    sheet.cell(row=3, column=1, value="1245319599")
    sheet.cell(row=3, column=2, value="Dr B")
    sheet.cell(row=3, column=16384, value="x")
    out = io.BytesIO()
    workbook.save(out)
    result = read_providers("p.xlsx", out.getvalue(), tin=TIN)
    assert (result.rows_total, len(result.providers), result.rows_rejected) == (2, 1, 1)
    [issue] = [i for i in result.issues if i.severity == "error"]
    assert issue.line == 3 and str(MAX_COLUMNS) in issue.reason


def test_a_csv_of_tiny_rows_keeps_a_bounded_number_of_issues_and_counts_every_row() -> None:
    data = ("mbi,first_name,last_name,birth_date,gender\n" + "x\n" * 200_000).encode()
    result = read_roster("roster.csv", data, catalog=CATALOG)
    assert_balanced(result.rows_total, result.rows_accepted, result.rows_rejected, 200_000)
    assert result.rows_rejected == 200_000
    assert len(result.issues) <= MAX_ISSUES_PER_FILE + 2  # listed + "N more" + "no valid rows"
    assert any(
        i.code == "more_issues" and f"{200_000 - MAX_ISSUES_PER_FILE} more" in i.reason for i in result.issues
    )


def test_a_table_is_read_lazily_row_by_row() -> None:
    table = read_table("t.csv", b"npi,name\n" + b"1234567893,Dr A\n" * 10)
    assert not isinstance(table.rows, list)
    assert sum(1 for _ in table.rows) == 10 and table.rows_read == 10


def test_a_zip_of_20000_junk_members_gives_a_bounded_number_of_issues() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(20_000):
            archive.writestr(f"junk{n}.xml", f"not xml {n}".encode())
    data = read_clinic_files(
        TIN,
        [("qrda/junk.zip", out.getvalue())],
        performance_year=2025,
        catalog=CATALOG,
        calculate_qrda=calculate_qrda,
    )
    [account] = data.files
    assert (account.read, account.accepted, account.rejected) == (20_000, 0, 20_000) and account.balanced
    assert len(data.issues) <= MAX_ISSUES_PER_FILE + 1


def _reference_link(entries: list[ClinicalEntry], classes: frozenset[str]) -> list[ClinicalEntry]:
    """The former O(n*m) linking, kept as the reference the fast one must equal."""
    encounters = [e for e in entries if e.kind == EntryKind.ENCOUNTER and e.start is not None]
    if not encounters:
        return entries
    ordered = sorted(encounters, key=lambda e: e.encounter_class not in classes)
    out = []
    for entry in entries:
        moment = entry.latest
        if entry.kind == EntryKind.OBSERVATION and not entry.encounter_id and moment is not None:
            found = next((e for e in ordered if _during(moment, e)), None)
            if found is not None:
                entry = dataclasses.replace(entry, encounter_id=found.id)
        out.append(entry)
    return out


@pytest.mark.parametrize("seed", range(40))
def test_linear_observation_linking_equals_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    code = frozenset({Code("1", "x")})
    entries: list[ClinicalEntry] = []
    for n in range(rng.randint(0, 40)):
        start = base + timedelta(hours=rng.randint(0, 200))
        if rng.random() < 0.5:
            end = None if rng.random() < 0.3 else start + timedelta(hours=rng.randint(0, 30))
            entries.append(
                ClinicalEntry(
                    kind=EntryKind.ENCOUNTER,
                    codes=code,
                    id=f"e{n}",
                    status=rng.choice(["finished", "in-progress"]),
                    start=start,
                    end=end,
                    encounter_class=rng.choice(["AMB", "EMER", "IMP"]),
                )
            )
        else:
            entries.append(
                ClinicalEntry(kind=EntryKind.OBSERVATION, codes=code, id=f"o{n}", start=start, end=start)
            )
    classes = frozenset({"EMER", "IMP"})
    assert link_observations_to_encounters(entries, classes) == _reference_link(entries, classes)


# ----- 5. QRDA-I birth dates far in the future or the past ---------------------------------------------
@pytest.mark.parametrize("birth", ["20520101", "18000101"])
def test_a_qrda_birth_date_in_2052_or_1800_rejects_the_document_with_a_reason(birth: str) -> None:
    with pytest.raises(QrdaRejectedError) as raised:
        parse_qrda(qrda_document(birth_time=birth).encode(), file_name="p.xml")
    assert raised.value.code == "invalid_date" and birth not in raised.value.reason
    data = read_clinic_files(
        TIN,
        [("qrda/p.xml", qrda_document(birth_time=birth).encode())],
        performance_year=2025,
        catalog=CATALOG,
        calculate_qrda=calculate_qrda,
    )
    assert data.files == [
        FileAccount(file="qrda/p.xml", kind="qrda", read=1, accepted=0, rejected=1, tin=TIN)
    ]
    assert [i.code for i in data.issues if i.severity == "error"] == ["invalid_date"]


# ----- 6. double counting -------------------------------------------------------------------------------
COUNTS = "measure_id,collection_type,denominator_only_count\n001SSP,MCQM,5\n"


def test_the_same_counts_under_two_names_are_counted_once() -> None:
    files = [("templates/counts.csv", COUNTS.encode()), ("templates/counts_copy.csv", COUNTS.encode())]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert [c.count for c in data.denominator_counts] == [5]
    first, second = data.files
    assert (first.read, first.accepted) == (1, 1) and second.duplicate_of == "templates/counts.csv"
    assert any(i.code == "duplicate_file" for i in data.issues)


def test_the_same_count_in_two_different_files_is_counted_once_and_reported() -> None:
    other = COUNTS.replace("\n001SSP", "\n001SSP").replace(",5\n", ",5\n\n")  # not byte-identical
    files = [("templates/a.csv", COUNTS.encode()), ("templates/b.csv", other.encode())]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert [c.count for c in data.denominator_counts] == [5]
    a, b = data.files
    assert (a.read, a.accepted, a.rejected) == (1, 1, 0) and (b.read, b.accepted, b.rejected) == (1, 0, 1)
    assert all(f.balanced for f in data.files)


def test_an_identical_file_inside_and_outside_a_zip_is_counted_once() -> None:
    document = qrda_document(tin=TIN).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("p.xml", document)
    files = [("qrda/a.zip", out.getvalue()), ("qrda/p.xml", document)]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    zipped, loose = data.files
    assert (zipped.read, zipped.accepted) == (1, 1) and loose.duplicate_of == "qrda/a.zip!p.xml"
    assert (loose.read, loose.accepted, loose.rejected) == (0, 0, 0)
    assert all(r.source_file != "qrda/p.xml" for r in data.records)


def test_the_same_row_in_two_template_files_is_counted_once() -> None:
    rows = [template_row(0)]
    rows[0][COLUMN("encounter_id")] = ""  # no encounter id: identity by content
    a = csv_text(TEMPLATE_COLUMNS, rows)
    files = [("templates/a.csv", a.encode()), ("templates/b.csv", (a + "\n").encode())]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert len(data.records) == 1
    assert [(f.read, f.accepted, f.rejected) for f in data.files] == [(1, 1, 0), (1, 0, 1)]


# ----- 7. XML / XLSX checks in every encoding and every part ---------------------------------------------
def _utf32be_doctype() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-32BE"?><!DOCTYPE x [<!ENTITY a "b">]><ClinicalDocument/>'
    ).encode("utf-32-be")


def test_a_utf32be_qrda_without_bom_is_refused_before_parsing() -> None:
    with pytest.raises(QrdaRejectedError) as raised:
        parse_qrda(_utf32be_doctype(), file_name="p.xml")
    assert raised.value.code == "bad_encoding"
    [issue] = read_qrda_upload("p.xml", _utf32be_doctype())
    assert getattr(issue, "code", None) == "bad_encoding"


def test_a_qrda_declaring_a_doctype_in_another_ascii_compatible_encoding_is_refused() -> None:
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><!DOCTYPE x><ClinicalDocument/>'.encode("latin-1")
    with pytest.raises(QrdaRejectedError) as raised:
        parse_qrda(data, file_name="p.xml")
    assert raised.value.code == "xml_doctype"


def _with_doctype(xml: bytes) -> bytes:
    return xml.replace(b"?>", b'?><!DOCTYPE worksheet [<!ENTITY x "y">]>', 1)


def test_a_utf16_xlsx_worksheet_part_with_a_doctype_is_refused() -> None:
    def utf16_with_doctype(xml: bytes) -> bytes:
        declared = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE worksheet [<!ENTITY x "y">]>'
        return (declared + xml.decode("utf-8")).encode("utf-16")  # with a byte order mark

    data = _rewrite_sheet(_xlsx([["npi", "name"]]), utf16_with_doctype)
    result = read_providers("p.xlsx", data, tin=TIN)
    assert result.refused and [i.code for i in result.issues] == ["xml_doctype"]
    data = _rewrite_sheet(_xlsx([["npi", "name"]]), lambda xml: utf16_with_doctype(xml)[2:])  # no BOM
    result = read_providers("p.xlsx", data, tin=TIN)
    assert result.refused and [i.code for i in result.issues] == ["xml_doctype"]


def test_an_xlsx_part_not_named_xml_is_checked_too() -> None:
    source = zipfile.ZipFile(io.BytesIO(_xlsx([["npi", "name"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item.filename, source.read(item))
        target.writestr("xl/worksheets/sheet9.dat", _with_doctype(b'<?xml version="1.0"?><worksheet/>'))
    result = read_providers("p.xlsx", out.getvalue(), tin=TIN)
    assert result.refused and [i.code for i in result.issues] == ["xml_doctype"]


def test_an_xlsx_part_in_an_undecodable_encoding_is_refused() -> None:
    data = _rewrite_sheet(
        _xlsx([["npi", "name"]]), lambda xml: b'<?xml version="1.0" encoding="x-nope"?>' + xml
    )
    result = read_providers("p.xlsx", data, tin=TIN)
    assert result.refused and [i.code for i in result.issues] == ["bad_encoding"]


# ----- 1. accounting per file, through the clinic reader -------------------------------------------------
def test_every_file_of_a_clinic_is_accounted_for() -> None:
    template = [template_row(n) for n in range(5)]
    template[2][COLUMN("birth_date")] = "not a date"
    providers = [provider_row(0), ["", "", "Y"]]
    files = [
        ("templates/t.csv", csv_text(TEMPLATE_COLUMNS, template).encode()),
        ("providers.csv", csv_text(PROVIDER_COLUMNS, providers).encode()),
        ("templates/broken.xlsx", b"PK\x03\x04 not a workbook"),
        ("qrda/p.xml", qrda_document(tin=TIN).encode()),
    ]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    accounts = {f.file: f for f in data.files}
    assert all(f.balanced for f in data.files)
    assert (accounts["templates/t.csv"].read, accounts["templates/t.csv"].rejected) == (5, 1)
    assert (accounts["providers.csv"].read, accounts["providers.csv"].rejected) == (2, 1)
    assert accounts["templates/broken.xlsx"].refused and accounts["templates/broken.xlsx"].read == 0
    assert (accounts["qrda/p.xml"].read, accounts["qrda/p.xml"].accepted) == (1, 1)
    assert data.rows_rejected == 2 and data.files_refused == 1
