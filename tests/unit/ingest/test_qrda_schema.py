"""QRDA-I documents are checked against the bundled CDA R2 schema (with SDTC): each schema problem is a
warning with its line, in words built from element/attribute names and the schema rule (never a value
from the document); the document is still read; ``aco-sync validate`` shows them and exits 0; the
warnings of one document are capped; the cost is bounded."""

from __future__ import annotations

import filecmp
import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

from aco_sync.ingest import qrda_schema
from aco_sync.ingest.qrda import parse_qrda
from aco_sync.ingest.qrda_schema import MAX_SCHEMA_WARNINGS, describe, schema_problems
from aco_sync_local.cli import main
from qrda_samples import qrda_document
from shared_fixtures import REPO_ROOT, shared_path

BUNDLED = REPO_ROOT / "layers/common/aco_sync/data/schemas/cda"
# Real files the schema legitimately rejects (what the published samples of older tools contain):
# the HL7 STU4 sample puts its templateId before realmCode/typeId; the cqm-reports fixtures have a
# custodian organization without an id and (31_) empty race/ethnicity codes. 29_ ("bad schema" in
# Cypress) breaks the CMS IG schematron (realmCode USA, no informationRecipient), not the CDA schema.
SCHEMA_INVALID = {
    "13_HL7_QRDA_I_STU4_NQF0056.xml": [
        (22, "CDA R2 schema: <templateId> is not allowed here (expected one of <realmCode>, <typeId>).")
    ],
    "30_cqm-reports_single_encounter_CMS2.xml": [
        (
            59,
            "CDA R2 schema: <addr> is not allowed here (expected one of <realmCode>, <typeId>, "
            "<templateId>, <id>).",
        )
    ],
    "31_cqm-reports_two_data_types_with_same_id.xml": [
        (43, "CDA R2 schema: <raceCode> attribute code: the value breaks the schema's pattern rule."),
        (44, "CDA R2 schema: <ethnicGroupCode> attribute code: the value breaks the schema's pattern rule."),
        (
            59,
            "CDA R2 schema: <addr> is not allowed here (expected one of <realmCode>, <typeId>, "
            "<templateId>, <id>).",
        ),
    ],
}
NOT_WELL_FORMED = {"33_cvu_invalid_cat1_malformed.xml"}


def _schema_warnings(data: bytes, name: str = "p.xml") -> list[tuple[int | None, str]]:
    doc = parse_qrda(data, file_name=name)
    return [(w.line, w.message) for w in doc.warnings if w.code == "cda_schema"]


def test_the_bundled_schema_is_the_shared_fixture() -> None:
    fixture = shared_path("fixtures", "validators", "cda-schema")
    bundled = sorted(p.relative_to(BUNDLED) for p in BUNDLED.rglob("*.xsd"))
    assert bundled and (BUNDLED.parent / "README.md").is_file()
    for relative in bundled:
        assert filecmp.cmp(BUNDLED / relative, fixture / relative, shallow=False), relative


def test_real_files_warn_exactly_where_the_schema_rejects_them() -> None:
    folder = shared_path("fixtures", "qrda")
    schema = etree.XMLSchema(etree.parse(str(BUNDLED / "infrastructure/cda/CDA_SDTC.xsd")))
    for path in sorted(folder.glob("*.xml")):
        if path.name in NOT_WELL_FORMED:
            continue
        warnings = _schema_warnings(path.read_bytes(), path.name)
        assert warnings == SCHEMA_INVALID.get(path.name, []), path.name
        # the same verdict as validating with the schema directly
        assert schema.validate(etree.parse(str(path))) == (path.name not in SCHEMA_INVALID), path.name
    assert "29_cypress_sample_patient_bad_schema.xml" in {p.name for p in folder.glob("*.xml")}


def test_a_schema_invalid_document_is_still_read() -> None:
    path = shared_path("fixtures", "qrda", "31_cqm-reports_two_data_types_with_same_id.xml")
    doc = parse_qrda(path.read_bytes(), file_name=path.name)
    assert doc.entries and doc.birth_date is not None


def test_the_test_builders_document_is_schema_valid() -> None:
    assert _schema_warnings(qrda_document().encode()) == []


PHI = ("Quixote", "19561231", "555-0199", "Elm Street 12")


def _phi_document() -> bytes:
    """Values that break the schema (a value, an attribute's value, text content, an xsi:type)."""
    text = qrda_document()
    text = text.replace('<realmCode code="US"/>', '<realmCode code="US" nickname="Zebulon"/>')
    text = text.replace('<code code="55182-0"', '<code code="55182-0" nullFlavor="Quixote"')
    text = text.replace(
        '<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>',
        '<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040">555-0199</typeId>',
    )
    text = re.sub(r'<author><time value="[^"]*"/>', '<author><time value="Quixote19561231"/>', text, count=1)
    text = text.replace('<raceCode code="2106-3"', '<raceCode xsi:type="ElmStreet12" code="2106-3"')
    text = text.replace(
        '<ethnicGroupCode code="2186-5"', '<ethnicGroupCode code="" displayName="Elm Street 12"'
    )
    return text.encode()


def test_no_value_from_the_document_reaches_a_warning() -> None:
    data = _phi_document()
    assert all(v.encode() in data for v in (*PHI, "ElmStreet12", "Zebulon"))  # the document has them
    root = etree.fromstring(data)
    schema = qrda_schema.cda_schema()
    assert not schema.validate(root)
    raw = " ".join(e.message for e in schema.error_log)  # type: ignore[attr-defined]
    assert "Quixote" in raw and "19561231" in raw  # lxml's own messages do quote values
    warnings = _schema_warnings(data)
    assert len(warnings) >= 5 and all(line for line, _ in warnings)
    shown = " ".join(message for _, message in warnings)
    for value in (*PHI, "ElmStreet12"):
        assert value not in shown, value
    # an attribute the schema does not define is not named (the document spells its name)
    assert "<realmCode>: an attribute not in the schema is not allowed." in shown
    assert "nickname" not in shown and "Zebulon" not in shown


@pytest.mark.parametrize("name", ["JohnSmith19800101", "Remark"])
def test_an_element_not_in_the_schema_is_not_named(name: str) -> None:
    text = re.sub(r"(<title>[^<]*</title>)", rf"\1<{name}/>", qrda_document(), count=1)
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if f"<{name}/>" in row)
    [(found_line, message)] = _schema_warnings(text.encode())
    assert found_line == line
    assert message.startswith("CDA R2 schema: An element not in the schema is not allowed here (expected")
    assert name not in message and "<effectiveTime>" in message  # what the schema expects is named


def test_an_element_of_the_schema_is_named() -> None:
    text = re.sub(r"(<title>[^<]*</title>)", r"\1<observation/>", qrda_document(), count=1)
    [(_, message)] = _schema_warnings(text.encode())
    assert message.startswith("CDA R2 schema: <observation> is not allowed here (expected")


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        (
            "SCHEMAV_CVC_DATATYPE_VALID_1_2_3",
            "Element '{urn:hl7-org:v3}low', attribute 'nullFlavor': 'Smith' is not a valid value of the "
            "union type '{urn:hl7-org:v3}NullFlavor'.",
            "CDA R2 schema: <low> attribute nullFlavor: the value is not a valid NullFlavor.",
        ),
        (
            "SCHEMAV_CVC_ENUMERATION_VALID",
            "Element '{urn:hl7-org:v3}act', attribute 'classCode': [facet 'enumeration'] The value 'Smith' "
            "is not an element of the set {'ACT'}.",
            "CDA R2 schema: <act> attribute classCode: the value breaks the schema's enumeration rule.",
        ),
        (
            "SCHEMAV_CVC_COMPLEX_TYPE_4",
            "Element '{urn:hl7-org:v3}templateId': The attribute 'root' is required but missing.",
            "CDA R2 schema: <templateId> lacks the required attribute root.",
        ),
        (
            "SCHEMAV_ELEMENT_CONTENT",
            "Element '{urn:hl7-org:v3}custodian': Missing child element(s). Expected is "
            "( {urn:hl7-org:v3}assignedCustodian ).",
            "CDA R2 schema: <custodian> is missing a required child element (expected <assignedCustodian>).",
        ),
        (
            "SCHEMAV_CVC_ELT_4_2",
            "Element '{urn:hl7-org:sdtc}raceCode', attribute '{http://www.w3.org/2001/XMLSchema-instance}type':"
            " The QName value 'Smith' of the xsi:type attribute does not resolve to a type definition.",
            "CDA R2 schema: <sdtc:raceCode> has an xsi:type the schema does not define or allow here.",
        ),
        (
            "SCHEMAV_MISC",
            "Element 'Jane Smith': something 'Jane Smith' happened",
            "CDA R2 schema: An element breaks SCHEMAV_MISC.",
        ),
        ("", "Jane Smith's value", "CDA R2 schema: An element breaks a schema rule."),
    ],
)
def test_each_kind_of_schema_error_is_described_without_its_value(
    kind: str, message: str, expected: str
) -> None:
    assert describe(kind, message) == expected
    assert "Smith" not in describe(kind, message)


def _with_bad_attributes(count: int) -> bytes:
    text = qrda_document()
    return text.replace(
        '<realmCode code="US"/>', '<realmCode code="US"/>' + '<realmCode code="US" x="1"/>' * count
    ).encode()


def test_the_warnings_of_a_document_are_capped() -> None:
    warnings = _schema_warnings(_with_bad_attributes(30))
    assert len(warnings) == MAX_SCHEMA_WARNINGS + 1
    line = next(n for n, row in enumerate(qrda_document().splitlines(), start=1) if "<realmCode" in row)
    assert all(found == line for found, _ in warnings[:MAX_SCHEMA_WARNINGS])
    assert warnings[-1] == (
        None,
        f"CDA R2 schema: 10 more schema problems are not listed (only the first {MAX_SCHEMA_WARNINGS} of a "
        "document are).",
    )


def test_too_many_problems_to_locate_are_counted_without_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qrda_schema, "MAX_LOCATE_WORK", 1_000)
    warnings = _schema_warnings(_with_bad_attributes(100))
    assert len(warnings) == MAX_SCHEMA_WARNINGS + 1 and all(line is None for line, _ in warnings)
    assert warnings[0][1].endswith("(the document has too many schema problems for their lines to be shown).")
    assert warnings[-1][1].startswith("CDA R2 schema: 80 more schema problems are not listed")


def test_a_document_over_the_size_bound_is_read_without_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qrda_schema, "MAX_SCHEMA_NODES", 50)
    doc = parse_qrda(_with_bad_attributes(5), file_name="p.xml")
    [warning] = [w for w in doc.warnings if w.code == "cda_schema"]
    assert warning.message.startswith("CDA R2 schema: not checked: the document has over 50 elements")
    assert doc.birth_date is not None


def test_the_schema_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading several documents (valid, schema-invalid, with too many problems to locate) through the
    reader and its warnings compiles the CDA schema once: lxml's schema constructor is called once."""
    real_schema = etree.XMLSchema
    compiled: list[object] = []

    def counting_schema(*args: object, **kwargs: object) -> etree.XMLSchema:
        compiled.append(args)
        return real_schema(*args, **kwargs)  # type: ignore[arg-type]

    qrda_schema.cda_schema.cache_clear()  # as in a new container: nothing compiled yet
    monkeypatch.setattr(etree, "XMLSchema", counting_schema)
    monkeypatch.setattr(qrda_schema, "MAX_LOCATE_WORK", 1_000)  # the streaming validation path too
    documents = [qrda_document().encode(), _with_bad_attributes(3), _with_bad_attributes(100)]
    warnings = [_schema_warnings(data, f"p{n}.xml") for n, data in enumerate(documents)]
    assert warnings[0] == [] and len(warnings[1]) == 3
    assert len(warnings[2]) == MAX_SCHEMA_WARNINGS + 1 and warnings[2][0][0] is None  # counted, no lines
    root = etree.fromstring(documents[1])
    assert len(schema_problems(root)) == 3  # the module's own entry point reuses it as well
    assert len(compiled) == 1
    assert qrda_schema.cda_schema.cache_info().currsize == 1
    assert qrda_schema.cda_schema() is qrda_schema.cda_schema()


def test_validate_reports_schema_warnings_with_lines_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config/acos").mkdir(parents=True)
    (tmp_path / "config/acos/a1.json").write_text(
        '{"aco_id": "a1", "performance_year": 2025, "roster_required": false}'
    )
    qrda = tmp_path / "members/a1/123456789/qrda"
    qrda.mkdir(parents=True)
    name = "31_cqm-reports_two_data_types_with_same_id.xml"
    shutil.copy(shared_path("fixtures", "qrda", name), qrda / name)
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "0 errors" in out
    where = f"members/a1/123456789/qrda/{name}"
    assert (
        f"{where}:43: CDA R2 schema: <raceCode> attribute code: the value breaks the schema's pattern rule."
        in out
    )
    assert f"{where}:59: CDA R2 schema: <addr> is not allowed here" in out
    assert f"{where}: 1 document read, 1 accepted, 0 rejected" in out
