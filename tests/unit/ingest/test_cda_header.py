"""QRDA-I documents whose CDA header breaks the CDA R2 schema are warned about with the line (a
schema-invalid document is not reported OK); the check never flags what the real schema accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from aco_sync.ingest.cda_header import header_problems
from aco_sync.ingest.qrda import parse_qrda
from aco_sync_local.cli import main
from qrda_samples import qrda_document
from shared_fixtures import shared_path


def _schema_warnings(text: str) -> list[tuple[str, int | None]]:
    doc = parse_qrda(text.encode(), file_name="p.xml")
    return [(w.message, w.line) for w in doc.warnings if w.code == "cda_schema"]


def test_a_valid_header_has_no_warning() -> None:
    assert _schema_warnings(qrda_document()) == []


def test_a_missing_custodian_and_a_misplaced_title_are_warnings_with_lines() -> None:
    text = qrda_document()
    start, end = text.index("<custodian>"), text.index("</custodian>") + len("</custodian>")
    text = text[:start] + text[end:]
    text = text.replace("<title>QRDA Incidence Report</title>", "").replace(
        "</patientRole></recordTarget>", "</patientRole></recordTarget>\n  <title>late</title>"
    )
    warnings = _schema_warnings(text)
    messages = [m for m, _ in warnings]
    assert "CDA R2 schema: <ClinicalDocument> has no <custodian> (required)." in messages
    assert "CDA R2 schema: <title> must come before <recordTarget>." in messages
    title_line = next(n for n, line in enumerate(text.splitlines(), start=1) if "<title>late" in line)
    assert (("CDA R2 schema: <title> must come before <recordTarget>."), title_line) in warnings


def test_validate_reports_a_schema_problem_as_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config/acos").mkdir(parents=True)
    (tmp_path / "config/acos/a1.json").write_text(
        '{"aco_id": "a1", "performance_year": 2025, "roster_required": false}'
    )
    qrda = tmp_path / "members/a1/123456789/qrda"
    qrda.mkdir(parents=True)
    (qrda / "p.xml").write_text(
        qrda_document().replace('<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>', "")
    )
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        "p.xml:" in out
        and "CDA R2 schema: <ClinicalDocument> has no <confidentialityCode> (required)." in out
    )


def test_the_check_agrees_with_the_cda_schema_on_the_shared_samples() -> None:
    schema_file = shared_path("fixtures", "validators", "cda-schema", "infrastructure", "cda", "CDA_SDTC.xsd")
    schema = etree.XMLSchema(etree.parse(str(schema_file)))
    flagged = []
    for path in sorted(shared_path("fixtures", "qrda").glob("*.xml")):
        try:
            root = etree.parse(str(path)).getroot()
        except etree.XMLSyntaxError:
            continue  # not well-formed: rejected before any schema check
        if header_problems(root):
            flagged.append(path.name)
            assert not schema.validate(root.getroottree()), f"{path.name} is schema-valid but was flagged"
    assert "13_HL7_QRDA_I_STU4_NQF0056.xml" in flagged  # its templateId comes before realmCode/typeId
