"""The QRDA-I reader against every real fixture file and against hostile / broken inputs."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest

from aco_sync.domain.errors import InvalidInputError, QrdaRejectedError
from aco_sync.domain.qrda_document import Code, EntryKind, QrdaDocument, Quantity
from aco_sync.domain.records import Gender, IngestIssue
from aco_sync.ingest import qrda_safety
from aco_sync.ingest.hl7_time import parse_hl7_timestamp
from aco_sync.ingest.qrda import parse_qrda, read_qrda_upload
from qrda_samples import (
    DIAGNOSIS_ENTRY,
    GENDER_2026_FEMALE,
    GENDER_2026_MALE,
    HBA1C_ENTRY,
    NEGATED_ENTRY,
    UNK_CODE_BP_ENTRY,
    qrda_document,
)
from shared_fixtures import shared_path

# --------------------------------------------------------------------------------------------
# Every real fixture file, against MANIFEST.tsv


def _manifest_rows() -> list[dict[str, str]]:
    manifest = shared_path("fixtures", "qrda", "MANIFEST.tsv")
    with manifest.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _fixture_names() -> list[str]:
    from shared_fixtures import SHARED_DIR

    path = SHARED_DIR / "fixtures" / "qrda" / "MANIFEST.tsv"
    if not path.exists():
        return ["(shared fixtures missing)"]
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["file"] for row in csv.DictReader(handle, delimiter="\t")]


@pytest.mark.parametrize("file_name", _fixture_names())
def test_fixture_file_matches_manifest(file_name: str) -> None:
    row = next((r for r in _manifest_rows() if r["file"] == file_name), None)
    assert row is not None
    data = shared_path("fixtures", "qrda", file_name).read_bytes()
    if row["parse_error"]:
        with pytest.raises(QrdaRejectedError) as caught:
            parse_qrda(data, file_name=file_name)
        assert caught.value.code == "not_xml"
        assert caught.value.line == int(row["parse_error"].split("line ")[1].split(",")[0])
        return

    doc = parse_qrda(data, file_name=file_name)

    assert f"{' '.join(doc.given_names)} {doc.family_name}" == row["patient_name"]
    assert doc.birth_time == parse_hl7_timestamp(row["dob"])
    assert doc.gender == Gender(row["gender"])
    assert (doc.race.code if doc.race else "") == row["race"]
    assert (doc.ethnicity.code if doc.ethnicity else "") == row["ethnicity"]
    assert {str(i) for i in doc.patient_ids} == set(row["patient_ids"].split(";"))
    start, end = row["reporting_period"].split("-")
    assert doc.reporting_period_start == parse_hl7_timestamp(start)
    assert doc.reporting_period_end == parse_hl7_timestamp(end)
    assert len(doc.measures) == int(row["n_measures_referenced"])
    expected_targets = {t for t in row["target_measures_referenced"].split(",") if t}
    assert {m.ecqm_id for m in doc.measures if m.catalog_measure_id} == expected_targets
    recognised = {m.ecqm_id for m in doc.measures if m.ecqm_id}
    for cms in row["all_cms_recognized"].split(","):
        if cms and "(" not in cms:  # "CMS26(CAC)" is a note, not an id in the file
            assert cms in recognised
    # entry templates: every top-level template count in the manifest is reflected in parsed entries
    parsed_roots = {t.root for e in doc.entries for c in e.iter_all() for t in c.template_ids}
    for item in row["entry_templates"].split(","):
        name = item.split("×")[0]
        if name[0].isdigit():
            assert f"2.16.840.1.113883.10.20.{name}" in parsed_roots, name
    assert doc.entries, "every real fixture has patient data entries"


def test_catalog_ids_of_bonnie_exports() -> None:
    folder = shared_path("fixtures", "qrda")
    expected = {"01_": "M001", "04_": "M236", "05_": "M113", "07_": "M134"}
    for prefix, measure_id in expected.items():
        path = next(folder.glob(f"{prefix}*.xml"))
        assert parse_qrda(path.read_bytes(), file_name=path.name).catalog_measure_ids == (measure_id,)


def test_bonnie_cms122_lab_result_value_and_times() -> None:
    path = next(shared_path("fixtures", "qrda").glob("01_*.xml"))
    doc = parse_qrda(path.read_bytes(), file_name=path.name)
    [lab] = doc.entries_of(EntryKind.LAB_RESULT)
    assert lab.qdm_datatype == "Laboratory Test, Performed"
    assert lab.values == (Quantity(Decimal("10"), "%"),)
    assert lab.relevant_low == datetime(2014, 4, 1, 14, 0)
    assert doc.entry_counts() == {"encounter": 1, "lab_result": 1}
    assert doc.tins == ("1234567",)
    assert any(w.code == "invalid_tin" for w in doc.warnings)  # the sample's TIN has 7 digits


def test_unk_code_with_translation_quirk_in_real_file() -> None:
    path = next(shared_path("fixtures", "qrda").glob("04_*.xml"))
    doc = parse_qrda(path.read_bytes(), file_name=path.name)
    exams = doc.entries_of(EntryKind.PHYSICAL_EXAM)
    assert len(exams) == 4
    systolic = [e for e in exams if e.codes[0].matches("8480-6", "2.16.840.1.113883.6.1")]
    assert len(systolic) == 2
    assert systolic[0].codes[0].null_flavor == "UNK"
    assert {e.values[0] for e in systolic} == {
        Quantity(Decimal("150"), "mm[Hg]"),
        Quantity(Decimal("130"), "mm[Hg]"),
    }


def test_epoch_second_reporting_period() -> None:
    path = next(shared_path("fixtures", "qrda").glob("25_*.xml"))
    doc = parse_qrda(path.read_bytes(), file_name=path.name)
    assert doc.reporting_period_start == datetime(2012, 1, 1)
    assert doc.reporting_period_end == datetime(2012, 12, 31, 23, 59, 59)


def test_duplicate_entry_ids_are_kept_and_warned() -> None:
    path = next(shared_path("fixtures", "qrda").glob("31_*.xml"))
    doc = parse_qrda(path.read_bytes(), file_name=path.name)
    assert len(doc.entries) == 2
    assert doc.entries[0].entry_id == doc.entries[1].entry_id
    assert any(w.code == "duplicate_entry_id" for w in doc.warnings)


def test_hl7_sample_negation_reason_and_wrapped_entries() -> None:
    path = next(shared_path("fixtures", "qrda").glob("09_*.xml"))
    doc = parse_qrda(path.read_bytes(), file_name=path.name)
    negated = [e for e in doc.entries if e.negated]
    assert negated and all(e.negation_reason is not None and e.negation_reason.code for e in negated)
    assert all(
        e.negation_reason.code != "77301-0" for e in negated if e.negation_reason
    )  # the value, not "Reason"
    [diagnosis] = doc.entries_of(EntryKind.DIAGNOSIS)
    assert diagnosis.qdm_datatype == "Diagnosis"
    assert diagnosis.codes[0].code != "282291009"  # the concept from <value>, not the "Diagnosis" code
    assert doc.entries_of(EntryKind.PAYER)[0].codes[0].system == "2.16.840.1.113883.3.221.5"
    assert doc.mbi == "Medicare_Beneficiary_Identifier_goes_here"
    assert doc.hicn == "HIC_number_goes_here"
    # the CMS2 reference has its id and setId swapped and truncated: still recognised
    assert "M134" in doc.catalog_measure_ids


# --------------------------------------------------------------------------------------------
# Hand-written documents


def _parse(text: str, name: str = "patient.xml") -> QrdaDocument:
    return parse_qrda(text.encode("utf-8"), file_name=name)


def test_cms_2025_style_document_is_read_completely() -> None:
    doc = _parse(qrda_document(entries=HBA1C_ENTRY + UNK_CODE_BP_ENTRY + NEGATED_ENTRY + DIAGNOSIS_ENTRY))
    assert doc.given_names == ("Ada",) and doc.family_name == "Example"
    assert doc.birth_date == date(1956, 4, 12)
    assert doc.gender is Gender.FEMALE
    assert doc.mbi == "1EG4TE5MK73"
    assert [str(i) for i in doc.other_ids] == ["1.2.3.4.5:MRN-77"]
    assert doc.tins == ("123456789",) and doc.npis == ("1234567893",)
    assert doc.reporting_period_start == datetime(2025, 1, 1)
    assert doc.reporting_period_end == datetime(2025, 12, 31)
    assert doc.catalog_measure_ids == ("M001",)
    assert doc.measures[0].version_number == "13"
    assert doc.entry_counts() == {"diagnosis": 1, "intervention": 1, "lab_result": 1, "physical_exam": 1}
    # the reader accepts the ISO 8601 times and the author without <assignedAuthor>; the CDA schema
    # does not, which the schema check reports as warnings (the data is still read)
    assert sorted(w.message for w in doc.warnings) == [
        "CDA R2 schema: <author> is missing a required child element (expected <assignedAuthor>).",
        "CDA R2 schema: <high> attribute value: the value breaks the schema's pattern rule.",
        "CDA R2 schema: <low> attribute value: the value breaks the schema's pattern rule.",
    ]
    assert {w.code for w in doc.warnings} == {"cda_schema"} and all(w.line for w in doc.warnings)
    lab = doc.entries_of(EntryKind.LAB_RESULT)[0]
    assert lab.relevant_low == datetime(2025, 3, 10, 8, 30)  # offset -0500 dropped: wall-clock time
    bp = doc.entries_of(EntryKind.PHYSICAL_EXAM)[0]
    assert bp.relevant_low == datetime(2025, 6, 1, 9, 0)  # ISO 8601 accepted
    assert [c.code for c in bp.codes[0].all_codes()] == ["8480-6"]
    intervention = doc.entries_of(EntryKind.INTERVENTION)[0]
    assert intervention.negated and intervention.negation_reason == Code(
        "183932001", "2.16.840.1.113883.6.96"
    )
    assert intervention.codes[0].value_set == "2.16.840.1.113883.3.600.1.1525"
    assert intervention.author_time == datetime(2025, 4, 1)
    diagnosis = doc.entries_of(EntryKind.DIAGNOSIS)[0]
    assert diagnosis.codes[0].code == "44054006"
    assert diagnosis.entry_id == "1.3.6.1.4.1.115:dx-1"
    assert any(t.root.endswith("24.3.137") for t in diagnosis.template_ids)  # wrapper kept in template ids


@pytest.mark.parametrize(
    ("gender_xml", "expected"), [(GENDER_2026_MALE, Gender.MALE), (GENDER_2026_FEMALE, Gender.FEMALE)]
)
def test_2026_ig_gender_null_flavor_oth_with_snomed_translation(gender_xml: str, expected: Gender) -> None:
    doc = _parse(qrda_document(gender=gender_xml))
    assert doc.gender is expected
    assert doc.gender_code is not None and doc.gender_code.null_flavor == "OTH"


def test_unknown_gender_is_a_warning_not_a_rejection() -> None:
    doc = _parse(
        qrda_document(gender='<administrativeGenderCode code="UN" codeSystem="2.16.840.1.113883.5.1"/>')
    )
    assert doc.gender is Gender.UNKNOWN
    assert doc.warnings


def test_phi_is_not_in_repr() -> None:
    text = repr(_parse(qrda_document(given="Zebulon", family="Quixote", mbi="9ZZ9ZZ9ZZ99")))
    assert (
        "Zebulon" not in text and "Quixote" not in text and "9ZZ9ZZ9ZZ99" not in text and "1956" not in text
    )


def test_measure_recognised_by_title_only() -> None:
    doc = _parse(
        qrda_document(
            measure_set_id="00000000-0000-0000-0000-000000000000", measure_title="Colorectal Cancer Screening"
        )
    )
    assert doc.catalog_measure_ids == ("M113",)


def test_unknown_measure_is_a_warning() -> None:
    doc = _parse(
        qrda_document(measure_set_id="11111111-0000-0000-0000-000000000000", measure_title="Something Else")
    )
    assert doc.catalog_measure_ids == ()
    assert [w.code for w in doc.warnings] == ["unknown_measure"]


def test_utf8_bom_is_accepted() -> None:
    doc = parse_qrda(b"\xef\xbb\xbf" + qrda_document().encode("utf-8"), file_name="bom.xml")
    assert doc.family_name == "Example"


def test_latin1_declared_encoding_is_honoured() -> None:
    text = qrda_document(family="Muñoz", prolog='<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    assert parse_qrda(text.encode("latin-1"), file_name="latin1.xml").family_name == "Muñoz"


# -- rejections ------------------------------------------------------------------------------


def _rejection(data: bytes) -> QrdaRejectedError:
    with pytest.raises(QrdaRejectedError) as caught:
        parse_qrda(data, file_name="bad.xml")
    assert isinstance(caught.value, InvalidInputError)
    return caught.value


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ClinicalDocument xmlns="urn:hl7-org:v3">&lol3;</ClinicalDocument>"""
CDA_WITH_TEMPLATE = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><templateId root='%s'/></ClinicalDocument>"
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument SYSTEM "http://example.invalid/cda.dtd">
<ClinicalDocument xmlns="urn:hl7-org:v3"/>"""


@pytest.mark.parametrize(
    "data", [XXE, BILLION_LAUGHS, EXTERNAL_DTD], ids=["xxe", "billion-laughs", "external-dtd"]
)
def test_doctype_and_entities_are_refused_before_parsing(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the XML parser must not run on a hostile file")

    monkeypatch.setattr(qrda_safety.etree, "fromstring", no_parsing)
    error = _rejection(data)
    assert error.code == "xml_doctype"
    assert error.line == 2
    assert "DOCTYPE" in error.reason


def test_oversized_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qrda_safety, "MAX_QRDA_BYTES", 1000)
    assert _rejection(qrda_document().encode()).code == "file_too_large"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"MBI,first_name\n1EG4TE5MK73,Ada\n", "not_xml"),
        (b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>unclosed</ClinicalDocument>", "not_xml"),
        (b"<html><body>hello</body></html>", "not_qrda_cat1"),
        (CDA_WITH_TEMPLATE % b"2.16.840.1.113883.10.20.22.1.2", "not_qrda_cat1"),
        (CDA_WITH_TEMPLATE % b"2.16.840.1.113883.10.20.27.1.1", "not_qrda_cat1"),
    ],
    ids=["empty", "csv", "malformed", "html", "ccd", "qrda3"],
)
def test_unusable_files_are_rejected_with_a_reason(data: bytes, code: str) -> None:
    error = _rejection(data)
    assert error.code == code
    assert error.reason.endswith(".")


def test_qrda_category_iii_gets_a_specific_reason() -> None:
    data = CDA_WITH_TEMPLATE % b"2.16.840.1.113883.10.20.27.1.1"
    assert "Category III" in _rejection(data).reason


def test_malformed_xml_reports_the_line() -> None:
    text = qrda_document().replace("</recordTarget>", "</recordTargetX>")
    error = _rejection(text.encode())
    assert error.code == "not_xml" and error.line is not None and error.line > 10


def test_non_utf8_bytes_without_declaration_are_rejected() -> None:
    data = qrda_document(family="Muñoz").encode("latin-1")
    error = _rejection(data)
    assert error.code == "bad_encoding"
    assert "UTF-8" in error.reason
    assert "Muñoz" not in error.reason and "Mu" not in error.reason and "0x" not in error.reason


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"name_xml": "<name><given>Ada</given></name>"}, "missing_name"),
        ({"name_xml": "<name><family>Example</family></name>"}, "missing_name"),
        ({"name_xml": ""}, "missing_name"),
        ({"birth_time": ""}, "missing_birth_date"),
        ({"birth_time": "19560231"}, "invalid_date"),
        ({"birth_time": "yesterday"}, "invalid_date"),
    ],
    ids=["no-family", "no-given", "no-name", "no-birth", "feb-31", "not-a-date"],
)
def test_patient_without_usable_demographics_is_rejected(kwargs: dict[str, str], code: str) -> None:
    error = _rejection(qrda_document(**kwargs).encode())
    assert error.code == code
    assert error.line is not None
    assert "Ada" not in error.reason and "Example" not in error.reason


def test_impossible_entry_time_is_a_warning_with_line() -> None:
    doc = _parse(qrda_document(entries=HBA1C_ENTRY.replace("20250310083000-0500", "20251340")))
    warnings = [w for w in doc.warnings if w.code == "invalid_time"]
    assert len(warnings) == 2  # low and high
    assert all(w.line is not None and "20251340" not in w.message for w in warnings)  # dates are PHI
    assert doc.entries_of(EntryKind.LAB_RESULT)[0].relevant_low is None


# -- uploads: .xml and .zip ---------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_of_many_documents_reads_each_and_reports_bad_ones() -> None:
    data = _zip(
        {
            "a.xml": qrda_document(given="Ann").encode(),
            "nested/b.xml": qrda_document(given="Bob", gender=GENDER_2026_MALE).encode(),
            "bad.xml": b"<not xml",
            "notes.txt": b"hello",
            "__MACOSX/._a.xml": b"junk",
        }
    )
    results = read_qrda_upload("batch.zip", data)
    documents = [r for r in results if isinstance(r, QrdaDocument)]
    issues = [r for r in results if isinstance(r, IngestIssue)]
    assert sorted(d.file_name for d in documents) == ["batch.zip!a.xml", "batch.zip!nested/b.xml"]
    assert {i.file: i.code for i in issues} == {
        "batch.zip!bad.xml": "not_xml",
        "batch.zip!notes.txt": "unknown_file_type",
    }


def test_zip_bomb_member_is_refused_without_expanding() -> None:
    data = _zip({"bomb.xml": b"<a>" + b" " * 5_000_000 + b"</a>", "ok.xml": qrda_document().encode()})
    results = read_qrda_upload("bomb.zip", data)
    assert [type(r).__name__ for r in results] == ["IngestIssue", "QrdaDocument"]
    assert isinstance(results[0], IngestIssue) and results[0].code == "zip_bomb"


def test_zip_total_expansion_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qrda_safety, "MAX_ZIP_TOTAL_BYTES", 10_000)
    document = qrda_document().encode()
    results = read_qrda_upload("many.zip", _zip({f"{n}.xml": document for n in range(5)}))
    assert isinstance(results[-1], IngestIssue) and results[-1].code == "zip_bomb"
    assert len(results) < 5


def test_not_a_zip_and_unknown_extension() -> None:
    [issue] = read_qrda_upload("x.zip", b"PK\x03\x04 broken")
    assert isinstance(issue, IngestIssue) and issue.code == "bad_zip"
    [issue] = read_qrda_upload("x.pdf", b"%PDF")
    assert isinstance(issue, IngestIssue) and issue.code == "unknown_file_type"


def test_single_xml_upload() -> None:
    [doc] = read_qrda_upload("one.xml", qrda_document().encode())
    assert isinstance(doc, QrdaDocument)
    [issue] = read_qrda_upload("one.xml", XXE)
    assert isinstance(issue, IngestIssue) and issue.file == "one.xml" and issue.line == 2


# -- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025", datetime(2025, 1, 1)),
        ("202503", datetime(2025, 3, 1)),
        ("20250304", datetime(2025, 3, 4)),
        ("202503040830", datetime(2025, 3, 4, 8, 30)),
        ("20250304083015", datetime(2025, 3, 4, 8, 30, 15)),
        ("20250304083015.123-0500", datetime(2025, 3, 4, 8, 30, 15, 123000)),
        ("20250304083015+0100", datetime(2025, 3, 4, 8, 30, 15)),
        ("2025-03-04T08:30:15Z", datetime(2025, 3, 4, 8, 30, 15)),
        ("2025-03-04", datetime(2025, 3, 4)),
        ("1325376000", datetime(2012, 1, 1)),
        ("20250304T083015", datetime(2025, 3, 4, 8, 30, 15)),
        ("2025-03-04T08:30:15.250-05:00", datetime(2025, 3, 4, 8, 30, 15, 250000)),
        (" 20250304 ", datetime(2025, 3, 4)),
    ],
)
def test_timestamp_forms(text: str, expected: datetime) -> None:
    assert parse_hl7_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "2025-13-01", "20250230", "abc", "0000"])
def test_invalid_timestamps(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hl7_timestamp(text)


def test_fixture_paths_come_from_shared_path() -> None:
    from shared_fixtures import SHARED_DIR

    folder = shared_path("fixtures", "qrda")
    assert folder == SHARED_DIR / "fixtures" / "qrda" and (folder / "MANIFEST.tsv").is_file()
    with pytest.raises(pytest.skip.Exception, match="shared fixtures not available"):
        shared_path("fixtures", "no-such-folder")


def test_utf16_document_is_rejected_as_not_utf8() -> None:
    error = _rejection(qrda_document(prolog='<?xml version="1.0" encoding="UTF-16"?>\n').encode("utf-16"))
    assert error.code == "bad_encoding" and "UTF-8" in error.reason


def test_comments_and_cdata_are_not_mistaken_for_declarations() -> None:
    text = qrda_document().replace("<realmCode", "<!-- a comment --><realmCode")
    text = text.replace("<title>", "<title>").replace("</recordTarget>", "</recordTarget><!--x-->")
    assert _parse(text).family_name == "Example"


def test_corrupt_member_in_zip_is_an_issue_and_others_are_read() -> None:
    data = bytearray(
        _zip({"a.xml": qrda_document().encode() * 1, "b.xml": qrda_document(given="Bo").encode()})
    )
    start = data.find(b"a.xml") + len(b"a.xml")
    data[start + 40 : start + 80] = b"\x00" * 40  # damage a.xml's deflate stream
    results = read_qrda_upload("z.zip", bytes(data))
    assert isinstance(results[0], IngestIssue) and results[0].code in ("bad_zip", "not_xml")
    assert isinstance(results[1], QrdaDocument)


def test_legal_name_and_nickname_handling() -> None:
    names = (
        '<name use="P"><given>Bunny</given><family>Other</family></name>'
        '<name use="L"><given qualifier="CL">Addie</given><given>Ada</given><given>May</given>'
        "<family>Example</family></name>"
    )
    doc = _parse(qrda_document(name_xml=names))
    assert doc.given_names == ("Ada", "May") and doc.first_name == "Ada" and doc.family_name == "Example"
