"""CDA R2 schema and CMS QRDA III schematron checks for the QRDA Category III files the tests produce.

``validate_qrda3(xml, year)`` returns the error messages (an empty list means valid): the CDA R2 schema
with the SDTC extensions (``../shared/fixtures/validators/cda-schema``) and the CMS QRDA III IG
schematron of the performance year (``qrda3-schematron/cms-<year>``, phase ``errors``). The schematrons
have no ``queryBinding`` (XSLT 1.0), so they are compiled with the ISO Schematron XSLT 1.0 skeleton
(``iso-schematron-xslt1``) by lxml's XSLT; the compiled stylesheet is parsed with the ``.sch`` file's
path as its base URL so that ``document('voc.xml')`` resolves. Compiled validators are cached.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from shared_fixtures import shared_path

SVRL = "http://purl.oclc.org/dsdl/svrl"


@cache
def _schema() -> etree.XMLSchema:
    xsd = shared_path("fixtures", "validators", "cda-schema", "infrastructure", "cda", "CDA_SDTC.xsd")
    return etree.XMLSchema(etree.parse(str(xsd)))


@cache
def _schematron(year: int) -> etree.XSLT:
    sch_path: Path = shared_path(
        "fixtures", "validators", "qrda3-schematron", f"cms-{year}", "EP_CAT_III.sch"
    )
    skeleton = shared_path("fixtures", "validators", "iso-schematron-xslt1")
    sch: Any = etree.parse(str(sch_path))
    for step in ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl"):
        sch = etree.XSLT(etree.parse(str(skeleton / step)))(sch)
    compile_svrl = etree.XSLT(etree.parse(str(skeleton / "iso_svrl_for_xslt1.xsl")))
    compiled = compile_svrl(sch, phase=etree.XSLT.strparam("errors"))
    stylesheet = etree.fromstring(etree.tostring(compiled), base_url=sch_path.as_uri())
    return etree.XSLT(stylesheet)


def schema_errors(xml: bytes) -> list[str]:
    document = etree.fromstring(xml)
    schema = _schema()
    if schema.validate(document):
        return []
    return [f"schema line {e.line}: {e.message}" for e in schema.error_log]


def schematron_errors(xml: bytes, year: int) -> list[str]:
    report = _schematron(year)(etree.fromstring(xml))
    errors = []
    for failed in report.getroot().iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(failed.itertext()).split())
        errors.append(f"schematron {failed.get('id')}: {text[:400]} (at {failed.get('location')})")
    return errors


def validate_qrda3(xml: bytes, year: int) -> list[str]:
    """Every schema and schematron (phase errors) message for the document; [] when valid."""
    return schema_errors(xml) + schematron_errors(xml, year)
