"""Every QRDA III the tests produce passes the CDA R2 schema and the year's CMS QRDA III IG schematron
(phase errors) with 0 errors: the report sample and the edge cases (no exclusions, zero denominator,
unknown sex, one measure only), for PY2025 and PY2026.

PY2026: CMS's qpp-measures-data (v11.1.0, bundled) has no 2026 eMeasureUuid yet, so ACO Sync refuses the
2026 QRDA III (test_reports_submission.py). Here the 2026 template versions are validated with
test-only measure UUIDs standing in for the unpublished ones (uuid5 of the measure id: obviously not
CMS's), injected through ``qrda3_document(..., measures=...)``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pytest
from lxml import etree
from report_samples import SETTINGS, sample_inputs

from aco_sync.domain.outcome_codes import DENOMINATOR_ONLY, EXCEPTION, EXCLUSION, MET, NOT_MET
from aco_sync.domain.qpp_measures import QppMeasureSet, qpp_measures
from aco_sync.domain.records import CollectionType, Gender, MeasureStats, PatientOutcome, Performance
from aco_sync.domain.stats import build_measure_stats
from aco_sync.reports import ReportInputs, build_reports, score_sync
from aco_sync.reports.qrda3 import PROGRAM_CODES, TEMPLATE_VERSIONS, qrda3_document
from aco_sync.reports.submission import plan_submission
from qrda3_validation import schematron_errors, validate_qrda3

NS = {"h": "urn:hl7-org:v3"}


def measures_for(year: int) -> QppMeasureSet:
    """The year's bundled measure data; for 2026, with test-only UUIDs (see the module docstring)."""
    measures = qpp_measures(year)
    if year != 2026:
        return measures
    reference = qpp_measures(2025)  # which populations each eCQM has (the same in 2026)
    filled = {}
    for measure_id, measure in measures.measures.items():
        populations = reference.get(measure_id).population_uuids if reference.get(measure_id) else {}
        filled[measure_id] = replace(
            measure,
            e_measure_uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-only:{measure_id}:2026")),
            population_uuids={
                key: str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-only:{measure_id}:{key}")).upper()
                for key in populations
            },
        )
    return QppMeasureSet(performance_year=2026, measures=filled, source="test-only 2026 UUIDs")


def _stats(
    measure_id: str, *, met: int, not_met: int, excl: int = 0, excep: int = 0, only: int = 0
) -> MeasureStats:
    counts = {MET: met, NOT_MET: not_met, EXCLUSION: excl, EXCEPTION: excep, DENOMINATOR_ONLY: only}
    inverse = measure_id == "M001"
    return build_measure_stats(
        measure_id, CollectionType.ECQM, outcome_counts=counts, patients_by_tin={}, inverse=inverse
    )


def _outcomes(
    measure_id: str, year: int, counts: dict[Performance, int], gender: Gender
) -> list[PatientOutcome]:
    outcomes = []
    for performance, count in counts.items():
        for i in range(count):
            outcomes.append(
                PatientOutcome(
                    master_pat_id=f"MP{measure_id}{performance.value}{i}",
                    measure_id=measure_id,
                    collection_type=CollectionType.ECQM,
                    outcome=performance,
                    performance_date=date(year, 3, 1),
                    source_tins=("111111111",),
                    gender=gender,
                )
            )
    return outcomes


def edge_cases(year: int) -> dict[str, ReportInputs]:
    settings = SETTINGS.model_copy(update={"performance_year": year})
    base = sample_inputs(settings=settings)
    cases = {"sample": base}
    cases["no exclusions"] = replace(
        base,
        stats=[_stats("M236", met=30, not_met=10), _stats("M134", met=20, not_met=5, excep=0)],
        outcomes=[],
    )
    cases["zero denominator"] = replace(base, stats=[_stats("M001", met=0, not_met=0)], outcomes=[])
    unknown = _outcomes(
        "M236",
        year,
        {Performance.MET: 3, Performance.NOT_MET: 2, Performance.DENOMINATOR_EXCLUSION: 1},
        Gender.UNKNOWN,
    )
    cases["unknown sex"] = replace(base, stats=[_stats("M236", met=3, not_met=2, excl=1)], outcomes=unknown)
    cases["one measure only"] = replace(base, stats=[_stats("M134", met=25, not_met=5, excep=2)], outcomes=[])
    return cases


CASES = [(year, name) for year in (2025, 2026) for name in edge_cases(year)]


@pytest.mark.parametrize(("year", "case"), CASES, ids=[f"{y}-{c}" for y, c in CASES])
def test_qrda3_has_zero_schema_and_schematron_errors(year: int, case: str) -> None:
    scored = score_sync(edge_cases(year)[case])
    document = qrda3_document(scored, plan_submission(scored), measures=measures_for(year))
    assert document is not None
    assert validate_qrda3(document, year) == []
    root = etree.fromstring(document)
    cms_report = root.find("h:templateId[@root='2.16.840.1.113883.10.20.27.1.2']", NS)
    assert cms_report is not None and cms_report.get("extension") == TEMPLATE_VERSIONS[year].cms_report


def test_the_reports_qrda3_output_is_valid() -> None:
    files = build_reports(sample_inputs())
    assert validate_qrda3(files["qrda3-ecqm.xml"], 2025) == []


def test_denexcep_only_where_the_measure_defines_exceptions() -> None:
    scored = score_sync(edge_cases(2025)["no exclusions"])
    root = etree.fromstring(qrda3_document(scored) or b"")
    by_measure = {}
    for organizer in root.findall(".//h:section/h:entry/h:organizer", NS):
        title = organizer.findtext("h:reference/h:externalDocument/h:text", namespaces=NS)
        by_measure[title] = set(organizer.xpath("h:component/h:observation/h:value/@code", namespaces=NS))
    assert by_measure["Controlling High Blood Pressure"] == {"IPOP", "DENOM", "DENEX", "NUMER"}  # CMS165
    assert "DENEXCEP" in next(
        codes for title, codes in by_measure.items() if "Depression" in str(title)
    )  # CMS2


def test_the_2026_file_uses_the_2026_templates_and_never_the_2025_ids() -> None:
    scored = score_sync(edge_cases(2026)["sample"])
    document = qrda3_document(scored, measures=measures_for(2026)) or b""
    text = document.decode()
    for uuid_2025 in (m.e_measure_uuid for m in qpp_measures(2025).measures.values() if m.e_measure_uuid):
        assert uuid_2025 not in text
    assert 'extension="2024-12-01"' not in text and text.count('root="2.16.840.1.113883.10.20.27.3.21"') > 0


def test_the_validator_finds_what_the_old_file_got_wrong() -> None:
    """A file with the old 2024-12-01 template fixed for 2026 fails the 2026 schematron."""
    scored = score_sync(edge_cases(2025)["one measure only"])
    document = qrda3_document(scored) or b""
    assert schematron_errors(document, 2026)  # the 2025 file is not a 2026 file
    without_cehrt = score_sync(
        replace(edge_cases(2025)["one measure only"], settings=SETTINGS.model_copy(update={"cehrt_id": None}))
    )
    errors = validate_qrda3(qrda3_document(without_cehrt) or b"", 2025)
    assert errors and all("CMS_140" in e for e in errors)  # a draft lacks only the CEHRT ID


@pytest.mark.parametrize("program", ["app1", "mips"])
def test_other_apm_entity_programs_are_valid_too(program: str) -> None:
    settings = SETTINGS.model_copy(update={"program_name": program})
    scored = score_sync(sample_inputs(settings=settings))
    document = qrda3_document(scored) or b""
    assert validate_qrda3(document, 2025) == []
    assert PROGRAM_CODES[program].encode() in document
