"""Property-based tests of the readers of untrusted uploads (roster, CQM/MCQM templates, provider lists,
QRDA-I): any bytes, and structured near-valid CSV/XLSX/XML, give either records or clear issues (a
``QrdaRejectedError`` for ``parse_qrda``) - never another exception and never a hang (hypothesis deadlines).
"""

from __future__ import annotations

import copy
import functools
import io
import random
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.errors import QrdaRejectedError
from aco_sync.domain.qrda_document import QrdaDocument
from aco_sync.domain.records import IngestIssue, PerformanceRecord, Provider, RosterEntry
from aco_sync.ecqm import calculate_qrda
from aco_sync.ingest.clinic import read_clinic_files
from aco_sync.ingest.providers import read_providers
from aco_sync.ingest.qrda import parse_qrda, read_qrda_upload
from aco_sync.ingest.roster import read_roster
from aco_sync.ingest.tabular import TableError, read_table
from aco_sync.ingest.templates import COUNT_COLUMNS, OPTIONAL_COLUMNS, TEMPLATE_COLUMNS, read_template
from shared_fixtures import shared_path

CATALOG = default_catalog()
TIN = "123456789"
READER_SETTINGS = settings(
    max_examples=120, deadline=5_000, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

ROSTER_HEADERS = ["mbi", "first_name", "last_name", "birth_date", "gender", "M001", "cms122", "bogus"]
# Every column the template reader knows (required, optional, denominator-only counts).
TEMPLATE_HEADERS = list(dict.fromkeys([*TEMPLATE_COLUMNS, *OPTIONAL_COLUMNS, *COUNT_COLUMNS]))
PROVIDER_HEADERS = ["npi", "name", "active"]
NEAR_VALID_CELLS = [
    "",
    " ",
    "1EG4TE5MK73",
    "1eg4-te5-mk73",
    "Ann",
    "O'Brien",
    "José",
    "1950-02-03",
    "02/30/1950",
    "19500203",
    "2025-13-01",
    "9999-12-31",
    "0001-01-01",
    "F",
    "female",
    "X",
    "M001",
    "M236",
    "CMS122v13",
    "001",
    "CQM",
    "MCQM",
    "eCQM",
    "MET",
    "NOT_MET",
    "DENOMINATOR_EXCLUSION",
    "1234567893",
    "123456789",
    "Y",
    "N",
    "maybe",
    "7.5",
    "-1",
    "1e309",
    "NaN",
    "inf",
    "99999999999999999999999",
    '"',
    '""',
    "a,b",
    'x"y',
    "\x00",
    "=cmd|' /C calc'!A0",
    "\u202e",
    "\ufeff",
    "🙂",
    "a\nb",
    "\r",
]


def cell() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NEAR_VALID_CELLS), st.text(max_size=20))


def csv_text(headers: list[str]) -> st.SearchStrategy[bytes]:
    """CSV-like bytes: a (shuffled, partial, oddly cased) header and rows of near-valid or random cells,
    with a random delimiter, quoting and line ending."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        chosen = draw(st.lists(st.sampled_from(headers), min_size=0, max_size=len(headers) + 2))
        chosen = [draw(st.sampled_from([h, h.upper(), h.replace("_", " "), f" {h} "])) for h in chosen]
        delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
        ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        quote = draw(st.booleans())
        width = len(chosen)
        rows = draw(
            st.lists(
                st.lists(cell(), min_size=max(0, width - 2), max_size=width + 2),
                max_size=8,
            )
        )

        def line(cells: list[str]) -> str:
            return delimiter.join(f'"{c}"' if quote else c for c in cells)

        text = ending.join([line(chosen), *(line(r) for r in rows)])
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
        return text.encode(encoding, errors="replace")

    return build()


def any_upload(headers: list[str]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=2_000), csv_text(headers))


def _check_read_or_rejected(data: bytes) -> None:
    """``parse_qrda`` gives a document or a QrdaRejectedError with a code and a reason: nothing else."""
    try:
        document = parse_qrda(data, file_name="p.xml", catalog=CATALOG)
    except QrdaRejectedError as exc:
        assert exc.reason.strip() and exc.code
    else:
        assert isinstance(document, QrdaDocument)


def _check_issues(issues: list[IngestIssue], file_name: str) -> None:
    for issue in issues:
        assert isinstance(issue, IngestIssue)
        assert issue.reason and issue.reason.strip(), issue
        assert issue.file.startswith(file_name.split("!")[0]), issue
        assert issue.severity in ("error", "warning")
        assert issue.line is None or issue.line >= 1


# ---------------------------------------------------------------------------------------------- tables


@READER_SETTINGS
@given(data=any_upload(ROSTER_HEADERS), name=st.sampled_from(["roster.csv", "roster.xlsx", "r.tsv", "r"]))
def test_roster_reader_gives_entries_or_issues_for_any_bytes(data: bytes, name: str) -> None:
    result = read_roster(name, data, catalog=CATALOG)
    assert all(isinstance(e, RosterEntry) for e in result.entries)
    _check_issues(result.issues, name)
    assert result.rows_accepted == len(result.entries)
    assert result.rows_accepted + result.rows_rejected <= result.rows_total or not result.rows_total
    if not result.entries:
        # nothing accepted: the user is told why (unless the file had no data rows at all)
        assert result.issues or result.rows_total == 0


@READER_SETTINGS
@given(
    data=any_upload(TEMPLATE_HEADERS),
    name=st.sampled_from(["cqm.csv", "cqm.xlsx", "t.txt", "t.pdf"]),
)
def test_template_reader_gives_records_or_issues_for_any_bytes(data: bytes, name: str) -> None:
    result = read_template(name, data, tin=TIN, performance_year=2025, catalog=CATALOG)
    assert all(isinstance(r, PerformanceRecord) for r in result.records)
    _check_issues(result.issues, name)
    assert all(i.tin == TIN for i in result.issues)
    assert 0 <= result.rows_rejected <= result.rows_total or result.rows_total == 0
    for record in result.records:
        assert record.tin == TIN and record.source_file == name


@READER_SETTINGS
@given(data=any_upload(TEMPLATE_HEADERS), name=st.sampled_from(["cqm.csv", "cqm.xlsx", "t.tsv"]))
def test_a_tables_cells_are_its_rows_without_the_dicts(data: bytes, name: str) -> None:
    """``Table.cells`` (what the bulk readers go through) hands out the rows ``Table.rows`` does: the
    same lines, each column's cell at ``column_index`` (stripped: the row's value; absent past a short
    row's end), with the same counts and issues."""

    def through_rows() -> object:
        table = read_table(name, data, tin=TIN)
        rows = [(row.line, row.values) for row in table.rows]
        return rows, table.rows_read, table.rows_rejected, table.issues.finish()

    def through_cells() -> object:
        table = read_table(name, data, tin=TIN)
        index = table.column_index
        rows = [
            (line, {column: cells[at].strip() for column, at in index.items() if at < len(cells)})
            for line, cells in table.cells
        ]
        return rows, table.rows_read, table.rows_rejected, table.issues.finish()

    def outcome(read: Callable[[], object]) -> object:
        try:
            return read()
        except TableError as exc:
            return exc.reason, exc.line, exc.code

    assert outcome(through_cells) == outcome(through_rows)


@READER_SETTINGS
@given(data=any_upload(PROVIDER_HEADERS))
def test_provider_reader_gives_providers_or_issues_for_any_bytes(data: bytes) -> None:
    result = read_providers("providers.csv", data, tin=TIN)
    assert all(isinstance(p, Provider) for p in result.providers)
    _check_issues(result.issues, "providers.csv")


def _valid_xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["mbi", "first_name", "last_name", "birth_date", "gender"])
    sheet.append(["1EG4TE5MK73", "Ann", "Lee", "1950-02-03", "F"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@functools.cache
def valid_xlsx() -> bytes:
    return _valid_xlsx()


@READER_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    flips=st.integers(1, 40),
    truncate=st.one_of(st.none(), st.integers(0, 6_000)),
)
def test_damaged_xlsx_gives_issues_not_exceptions(seed: int, flips: int, truncate: int | None) -> None:
    rng = random.Random(seed)
    data = bytearray(valid_xlsx())
    for _ in range(flips):
        data[rng.randrange(len(data))] = rng.randrange(256)
    damaged = bytes(data[:truncate] if truncate is not None else data)
    result = read_roster("roster.xlsx", damaged, catalog=CATALOG)
    _check_issues(result.issues, "roster.xlsx")
    assert all(isinstance(e, RosterEntry) for e in result.entries)
    template = read_template("cqm.xlsx", damaged, tin=TIN, performance_year=2025, catalog=CATALOG)
    _check_issues(template.issues, "cqm.xlsx")


# ------------------------------------------------------------------------------------------------ QRDA


def _check_qrda_results(results: list[QrdaDocument | IngestIssue], file_name: str) -> None:
    assert results, "a QRDA-I upload always yields at least one document or issue"
    for item in results:
        if isinstance(item, IngestIssue):
            _check_issues([item], file_name)
        else:
            assert isinstance(item, QrdaDocument)


@READER_SETTINGS
@given(data=st.binary(max_size=3_000), name=st.sampled_from(["p.xml", "p.zip", "p.XML", "p.txt"]))
def test_qrda_upload_of_any_bytes_gives_documents_or_issues(data: bytes, name: str) -> None:
    _check_qrda_results(read_qrda_upload(name, data, catalog=CATALOG), name)
    try:
        parse_qrda(data, file_name=name, catalog=CATALOG)
    except QrdaRejectedError as exc:
        assert exc.reason and exc.code


XML_FRAGMENTS = st.sampled_from(
    [
        b"<?xml version='1.0' encoding='UTF-8'?>",
        b"<?xml version='1.0' encoding='x-unknown'?>",
        b"<ClinicalDocument xmlns='urn:hl7-org:v3'>",
        b"</ClinicalDocument>",
        b"<templateId root='2.16.840.1.113883.10.20.24.1.1'/>",
        b"<recordTarget><patientRole><patient>",
        b"<birthTime value='19500203'/>",
        b"<birthTime value='not a date'/>",
        b"<effectiveTime><low value='2025'/><high value='20251301'/></effectiveTime>",
        b"<code code='' codeSystem=''/>",
        b"<value xsi:type='PQ' value='abc' unit='%'/>",
        b"<![CDATA[<x>]]>",
        b"&amp;",
        b"&unknown;",
        b"&#0;",
        b"\xff\xfe",
        b"<a" * 5,
    ]
)


@READER_SETTINGS
@given(parts=st.lists(st.one_of(XML_FRAGMENTS, st.binary(max_size=40)), max_size=25))
def test_xml_like_bytes_give_a_document_or_a_clear_rejection(parts: list[bytes]) -> None:
    data = b"".join(parts)
    _check_read_or_rejected(data)


@functools.cache
def _fixture_tree(name: str) -> bytes:
    return shared_path("fixtures", "qrda", name).read_bytes()


QRDA_FIXTURES = ["26_cypress_sample_patient_good.xml", "18_CMS_2022_QRDA_I_Sample_File.xml"]
HOSTILE_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "2025",
    "20250230",
    "99999999999999",
    "2025-01-01",
    "20250101120000+9999",
    "abc",
    "1.2.3",
    "\u202e",
    "x" * 500,
    "NaN",
    "1e999",
]


@settings(max_examples=80, deadline=5_000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(
    fixture=st.sampled_from(QRDA_FIXTURES),
    seed=st.integers(0, 2**32 - 1),
    edits=st.integers(1, 12),
)
def test_structurally_damaged_qrda_documents_are_read_or_rejected_and_calculated_without_crashing(
    fixture: str, seed: int, edits: int
) -> None:
    """Real QRDA-I documents with elements removed, duplicated or moved and attributes/text replaced
    by hostile values: the reader and the eCQM calculation (through the clinic reader) never crash."""
    rng = random.Random(seed)
    root = etree.fromstring(_fixture_tree(fixture))
    for _ in range(edits):
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        target = rng.choice(elements)
        action = rng.randrange(5)
        parent = target.getparent()
        if action == 0 and parent is not None:
            parent.remove(target)
        elif action == 1 and parent is not None:
            parent.insert(rng.randrange(len(parent) + 1), copy.deepcopy(target))
        elif action == 2 and target.attrib:
            attribute = rng.choice(list(target.attrib))
            target.set(attribute, rng.choice(HOSTILE_VALUES))
        elif action == 3:
            target.text = rng.choice(HOSTILE_VALUES)
        elif parent is not None:
            other = rng.choice(elements)
            if other is not target and target not in other.iterancestors() and other is not root:
                parent.remove(target)
                other.append(target)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    _check_read_or_rejected(data)
    clinic = read_clinic_files(
        TIN, [("qrda/p.xml", data)], performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert all(isinstance(r, PerformanceRecord) for r in clinic.records)
    _check_issues(clinic.issues, "qrda/p.xml")


@READER_SETTINGS
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(
                ["providers.csv", "templates/a.csv", "templates/b.xlsx", "qrda/p.xml", "qrda/z.zip", "x.pdf"]
            ),
            st.binary(max_size=1_000),
        ),
        max_size=5,
    )
)
def test_a_clinic_upload_of_any_files_gives_clinic_data(files: list[tuple[str, bytes]]) -> None:
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    assert all(isinstance(r, PerformanceRecord) for r in data.records)
    for issue in data.issues:
        assert issue.reason.strip() and issue.tin == TIN
