"""Hostile uploads are refused with a clear reason and without reading past the limits: XXE, billion
laughs, external DTDs (QRDA-I XML and the XML inside XLSX), zip bombs (ratio, total, lying directory
sizes), oversized files and absurdly deep XML. "Without reading past the limits" is checked by spying
on the parser / decompressor: refused content is never handed to lxml or openpyxl, and nothing is
decompressed beyond the per-file limit."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import aco_sync.ingest.qrda_safety as qrda_safety
from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.errors import QrdaRejectedError
from aco_sync.domain.records import IngestIssue
from aco_sync.ingest.qrda import parse_qrda, read_qrda_upload
from aco_sync.ingest.qrda_safety import MAX_QRDA_BYTES, MAX_ZIP_RATIO
from aco_sync.ingest.roster import read_roster
from aco_sync.ingest.tabular import MAX_TABLE_BYTES, MAX_XLSX_RATIO

pytestmark = pytest.mark.timeout(60)
CATALOG = default_catalog()
QRDA_ROOT = b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>'


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


@pytest.fixture
def xml_parser_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of every document handed to lxml by the QRDA reader."""
    calls: list[int] = []
    real = etree.fromstring

    def spy(data: bytes, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(qrda_safety.etree, "fromstring", spy)
    return calls


def _hostile_documents(secret: Path) -> dict[str, bytes]:
    laughs = "".join(f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "lol") * 10}">' for i in range(1, 10))
    return {
        "xxe": f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
        + QRDA_ROOT,
        "billion_laughs": f"<?xml version='1.0'?><!DOCTYPE d [{laughs}<!ENTITY x '&lol9;'>]>".encode()
        + QRDA_ROOT,
        "external_dtd": b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument SYSTEM "http://127.0.0.1:9/x.dtd">'
        + QRDA_ROOT.replace(b"&x;", b""),
        "parameter_entity": f'<!DOCTYPE d [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>'.encode()
        + QRDA_ROOT.replace(b"&x;", b""),
        "lowercase_spaced": b"<!  doctype d [<!entity x 'y'>]>" + QRDA_ROOT,
        "after_comment": b"<?xml version='1.0'?>\n<!-- a -->\n<!DOCTYPE d [<!ENTITY x 'y'>]>" + QRDA_ROOT,
    }


@pytest.mark.parametrize(
    "kind",
    ["xxe", "billion_laughs", "external_dtd", "parameter_entity", "lowercase_spaced", "after_comment"],
)
def test_qrda_with_a_doctype_or_entity_is_refused_before_parsing(
    kind: str, secret_file: Path, xml_parser_calls: list[int]
) -> None:
    data = _hostile_documents(secret_file)[kind]
    with pytest.raises(QrdaRejectedError) as raised:
        parse_qrda(data, file_name="evil.xml", catalog=CATALOG)
    assert raised.value.code == "xml_doctype"
    assert "DOCTYPE or ENTITY" in raised.value.reason and raised.value.line is not None
    assert xml_parser_calls == []  # never reached lxml
    [issue] = read_qrda_upload("evil.xml", data, catalog=CATALOG)
    assert isinstance(issue, IngestIssue) and issue.code == "xml_doctype" and issue.file == "evil.xml"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_xxe_hidden_in_another_encoding_is_refused(secret_file: Path, encoding: str) -> None:
    text = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        + QRDA_ROOT.decode()
    )
    with pytest.raises(QrdaRejectedError) as raised:
        parse_qrda(text.encode(encoding), file_name="evil.xml", catalog=CATALOG)
    assert "TOP-SECRET" not in str(raised.value)


def test_xxe_in_utf7_never_resolves_the_entity(secret_file: Path) -> None:
    text = f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret_file}">]>'
    encoded = b'<?xml version="1.0" encoding="UTF-7"?>' + text.encode("utf-7") + QRDA_ROOT
    try:
        document = parse_qrda(encoded, file_name="evil.xml", catalog=CATALOG)
    except QrdaRejectedError as exc:
        assert "TOP-SECRET" not in str(exc)
    else:
        assert "TOP-SECRET" not in repr(document)


def test_absurdly_deep_xml_is_refused_not_a_recursion_error() -> None:
    data = b'<ClinicalDocument xmlns="urn:hl7-org:v3">' + b"<a>" * 100_000 + b"</a>" * 100_000
    with pytest.raises(QrdaRejectedError) as raised:
        parse_qrda(data + b"</ClinicalDocument>", file_name="deep.xml", catalog=CATALOG)
    assert raised.value.code == "not_xml"


def test_an_oversized_qrda_file_is_refused_before_parsing(xml_parser_calls: list[int]) -> None:
    data = b"<ClinicalDocument>" + b" " * MAX_QRDA_BYTES + b"</ClinicalDocument>"
    with pytest.raises(QrdaRejectedError) as raised:
        parse_qrda(data, file_name="big.xml", catalog=CATALOG)
    assert raised.value.code == "file_too_large"
    assert xml_parser_calls == []


# ------------------------------------------------------------------------------------------------ zips


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def decompressed_bytes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Bytes returned by every read of a zip member (anywhere: QRDA zips and XLSX packages)."""
    sizes: list[int] = []
    real = zipfile.ZipExtFile.read

    def spy(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        data = real(self, n)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
    yield sizes


def test_a_zip_bomb_member_is_refused_without_decompressing_it(
    decompressed_bytes: list[int], xml_parser_calls: list[int]
) -> None:
    bomb = b"<" + b"\x00" * (10 * 1024 * 1024)  # 10 MB of zeros: a ratio of ~1000
    data = _zip({"bomb.xml": bomb})
    assert len(bomb) / len(data) > MAX_ZIP_RATIO
    [issue] = read_qrda_upload("upload.zip", data, catalog=CATALOG)
    assert isinstance(issue, IngestIssue)
    assert (issue.code, issue.file) == ("zip_bomb", "upload.zip!bomb.xml")
    assert sum(decompressed_bytes) == 0 and xml_parser_calls == []


def test_a_member_over_the_size_limit_is_refused_without_decompressing_it(
    decompressed_bytes: list[int],
) -> None:
    import os

    big = os.urandom(MAX_QRDA_BYTES + 1)  # incompressible, so the ratio check does not fire first
    [issue] = read_qrda_upload("upload.zip", _zip({"big.xml": big}), catalog=CATALOG)
    assert isinstance(issue, IngestIssue) and issue.code == "file_too_large"
    assert sum(decompressed_bytes) == 0


def _lie_about_sizes(data: bytes, claimed: int) -> bytes:
    """Rewrite the uncompressed size in every local header and central directory entry."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (found := patched.find(signature, start)) != -1:
            patched[found + offset : found + offset + 4] = struct.pack("<I", claimed)
            start = found + 4
    return bytes(patched)


def test_a_zip_whose_directory_understates_the_size_is_not_read_past_the_claim(
    decompressed_bytes: list[int], xml_parser_calls: list[int]
) -> None:
    content = b"<ClinicalDocument>" + b"A" * (5 * 1024 * 1024) + b"</ClinicalDocument>"
    honest = _zip({"sneaky.xml": content})
    assert len(content) / len(honest) > MAX_ZIP_RATIO  # the honest zip would be refused as a bomb
    data = _lie_about_sizes(honest, claimed=1_000)  # ... so it claims 1 kB
    [issue] = read_qrda_upload("upload.zip", data, catalog=CATALOG)
    assert isinstance(issue, IngestIssue) and issue.file == "upload.zip!sneaky.xml"
    assert issue.code in ("bad_zip", "zip_bomb")
    assert sum(decompressed_bytes) <= 1_000  # never more than the directory admitted to
    assert xml_parser_calls == []


def test_a_zip_expanding_past_the_total_limit_stops_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qrda_safety, "MAX_ZIP_TOTAL_BYTES", 2_500)  # the mechanism, at a testable scale
    member = b'<?xml version="1.0"?><x>' + b"y" * 900 + b"</x>"
    data = _zip({f"p{i}.xml": member.replace(b"y", bytes([65 + i]), 1) for i in range(5)})
    results = read_qrda_upload("upload.zip", data, catalog=CATALOG)
    codes = [r.code for r in results if isinstance(r, IngestIssue)]
    assert codes[-1] == "zip_bomb" and "remaining files were not read" in results[-1].reason  # type: ignore[union-attr]
    assert len(results) == 3  # two read (rejected as not QRDA-I), then the stop


def test_a_zip_with_too_many_members_is_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qrda_safety, "MAX_ZIP_MEMBERS", 10)
    data = _zip({f"p{i}.xml": b"<x/>" for i in range(11)})
    [issue] = read_qrda_upload("upload.zip", data, catalog=CATALOG)
    assert isinstance(issue, IngestIssue) and issue.code == "zip_bomb" and "11 files" in issue.reason


def test_path_traversal_names_in_a_zip_are_only_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = _zip({"../../etc/evil.xml": b"<x/>", "/abs/evil.xml": b"<x/>"})
    results = read_qrda_upload("upload.zip", data, catalog=CATALOG)
    assert all(isinstance(r, IngestIssue) for r in results)
    assert list(tmp_path.iterdir()) == []  # nothing is extracted to disk


# ------------------------------------------------------------------------------------------ tables/XLSX


def _xlsx_with_sheet(sheet_xml: bytes | None = None) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["mbi", "first_name", "last_name", "birth_date", "gender"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    if sheet_xml is None:
        return buffer.getvalue()
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = sheet_xml
            target.writestr(item, content)
    return out.getvalue()


@pytest.fixture
def openpyxl_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import openpyxl

    calls: list[int] = []
    real = openpyxl.load_workbook

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    return calls


def test_an_xlsx_with_an_entity_declaration_is_refused_before_openpyxl(
    secret_file: Path, openpyxl_loads: list[int]
) -> None:
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&x;</t></is></c></row></sheetData></worksheet>'
    ).encode()
    result = read_roster("roster.xlsx", _xlsx_with_sheet(sheet), catalog=CATALOG)
    assert result.entries == []
    [issue] = result.issues
    assert issue.code == "xml_doctype" and "TOP-SECRET" not in issue.reason
    assert openpyxl_loads == []


def test_an_xlsx_zip_bomb_is_refused_without_decompressing_it(
    decompressed_bytes: list[int], openpyxl_loads: list[int]
) -> None:
    bomb = b"<worksheet>" + b" " * (20 * 1024 * 1024) + b"</worksheet>"
    data = _xlsx_with_sheet(bomb)
    decompressed_bytes.clear()  # building the workbook read it; count only the reader's reads
    result = read_roster("roster.xlsx", data, catalog=CATALOG)
    assert [i.code for i in result.issues] == ["zip_bomb"]
    assert len(bomb) / len(data) > MAX_XLSX_RATIO
    assert sum(decompressed_bytes) == 0 and openpyxl_loads == []


def test_an_oversized_csv_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    import aco_sync.ingest.tabular as tabular

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an oversized file must not be decoded")

    monkeypatch.setattr(tabular, "_decode_lines", never)
    data = b"mbi,first_name,last_name,birth_date,gender\n" + b"x" * MAX_TABLE_BYTES
    result = read_roster("roster.csv", data, catalog=CATALOG)
    assert result.entries == [] and [i.code for i in result.issues] == ["file_too_large"]


def test_a_spreadsheet_formula_is_kept_as_text_never_evaluated() -> None:
    data = b"mbi,first_name,last_name,birth_date,gender\n1EG4TE5MK73,=cmd|' /C calc'!A0,Lee,1950-02-03,F\n"
    result = read_roster("roster.csv", data, catalog=CATALOG)
    assert all("calc" not in issue.reason for issue in result.issues)  # no echo of the cell either
