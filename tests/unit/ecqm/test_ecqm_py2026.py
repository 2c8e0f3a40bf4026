"""The PY2026 specifications through both adapters: what changed from PY2025 (CMS125 from age 42 by
``Patient.sex``, mammography as an imaging result, verified diagnoses, the CMS122 encounters), the
same populations from a QI-Core 6 patient and from a CMS IG 2026 QRDA-I document, and the period and
logic chosen by the performance year."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from aco_sync.domain.records import Performance
from aco_sync.ecqm import calculate_fhir, calculate_qrda, measurement_period, supported_measures
from aco_sync.ecqm.registry import specification
from aco_sync.ingest.qrda import parse_qrda
from qrda_samples import (
    DIAGNOSIS_ENTRY,
    GENDER_2026_FEMALE,
    LOINC_OID,
    code_xml,
    effective_time,
    encounter_entry,
    qrda_document,
    section_entry,
    statement,
)

PERIOD_2026 = measurement_period(2026)
US_CORE_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex"

OFFICE_VISIT_2026 = encounter_entry(
    extension="enc-1", code="99213", low="20260310090000", high="20260310093000"
)
MAMMOGRAM_2025 = section_entry(
    statement(
        "Diagnostic Study, Performed",
        "mammo-1",
        code_xml("24606-6", LOINC_OID),
        effective_time("20251101100000", "20251101101000"),
    )
)


def _patient(birth: str, sex: str | None = "248152002") -> dict[str, Any]:
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": "female"}
    patient["name"] = [{"given": ["Ada"], "family": "Example"}]
    if sex is not None:
        patient["extension"] = [{"url": US_CORE_SEX, "valueCode": sex}]
    return patient


def _office_visit(day: str = "2026-03-10", status: str = "finished") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": status,
        "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
        "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T09:30:00Z"},
    }


def _mammogram(category: str | None = "imaging") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "mammo-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24606-6"}]},
        "effectivePeriod": {"start": "2025-11-01T10:00:00Z", "end": "2025-11-01T10:10:00Z"},
    }
    if category:
        resource["category"] = [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}
                ]
            }
        ]
    return resource


def test_cms125_2026_counts_women_from_42_by_the_us_core_sex_extension() -> None:
    resources = [_patient("1981-05-01"), _office_visit(), _mammogram()]
    assert calculate_fhir(resources, period=PERIOD_2026)["M112"].counts()["numerator"] == 1
    # without the us-core-sex extension Patient.sex is null: not in the initial population
    no_sex = [_patient("1981-05-01", sex=None), _office_visit(), _mammogram()]
    assert not calculate_fhir(no_sex, period=PERIOD_2026)["M112"].initial_population
    # the PY2025 logic starts at 52 (and reads administrative gender)
    assert not calculate_fhir(resources, period=PERIOD_2026, performance_year=2025)["M112"].initial_population


def test_cms125_2026_mammography_must_be_an_imaging_result() -> None:
    resources = [_patient("1960-05-01"), _office_visit(), _mammogram(category=None)]
    result = calculate_fhir(resources, period=PERIOD_2026)["M112"]
    assert result.denominator and not result.numerator
    assert calculate_fhir(resources, period=PERIOD_2026, performance_year=2025)["M112"].numerator


def test_2026_encounters_must_be_finished() -> None:
    resources = [_patient("1960-05-01"), _office_visit(status="arrived"), _mammogram()]
    assert not calculate_fhir(resources, period=PERIOD_2026)["M112"].initial_population
    assert calculate_fhir(resources, period=PERIOD_2026, performance_year=2025)["M112"].initial_population


@pytest.mark.parametrize(("verification", "counted"), [(None, True), ("confirmed", True), ("refuted", False)])
def test_2026_diagnoses_must_be_verified(verification: str | None, counted: bool) -> None:
    diabetes: dict[str, Any] = {
        "resourceType": "Condition",
        "id": "dm",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
        "onsetDateTime": "2020-01-15",
    }
    if verification:
        diabetes["verificationStatus"] = {"coding": [{"code": verification}]}
    resources = [_patient("1960-05-01"), _office_visit(), diabetes]
    assert calculate_fhir(resources, period=PERIOD_2026)["M001"].initial_population is counted
    assert calculate_fhir(resources, period=PERIOD_2026, performance_year=2025)["M001"].initial_population


def test_qrda_2026_document_gives_the_same_populations_as_fhir() -> None:
    xml = qrda_document(
        birth_time="19810501",
        gender=GENDER_2026_FEMALE,
        period=("20260101", "20261231"),
        entries=OFFICE_VISIT_2026 + MAMMOGRAM_2025 + DIAGNOSIS_ENTRY,
        measure_set_id="00000000-0000-0000-0000-000000000000",  # unknown: recognised by its title
        measure_title="Breast Cancer Screening",
    )
    doc = parse_qrda(xml.encode(), file_name="p.xml")
    records, issues = calculate_qrda(doc, tin="123456789", source_file="p.xml", performance_year=2026)
    by_measure = {r.measure_id: r for r in records}
    assert (by_measure["M112"].performance, by_measure["M112"].performance_date) == (
        Performance.MET,
        date(2025, 11, 1),
    )
    assert not [i for i in issues if i.code == "ecqm_period_mismatch"]
    fhir = calculate_fhir([_patient("1981-05-01"), _office_visit(), _mammogram()], period=PERIOD_2026)
    assert by_measure["M112"].performance == fhir["M112"].performance


def test_the_period_and_the_logic_come_from_the_performance_year() -> None:
    assert measurement_period(2026) == (date(2026, 1, 1), date(2026, 12, 31))
    assert supported_measures(2026) == supported_measures(2025) == ("M001", "M112", "M113", "M134", "M236")
    assert specification("M001", 2026).cql_library.startswith("CMS122FHIR")
    assert specification("M001", 2025).cql_library.startswith("DiabetesGlycemicStatusAssessment")
    with pytest.raises(KeyError, match="performance year 2019"):
        calculate_fhir([_patient("1960-05-01")], period=measurement_period(2019))


def test_a_year_without_specifications_is_one_clear_issue_per_file() -> None:
    doc = parse_qrda(qrda_document(period=("20240101", "20241231")).encode(), file_name="p.xml")
    records, issues = calculate_qrda(doc, tin="123456789", source_file="p.xml", performance_year=2024)
    assert records == []
    [issue] = issues
    assert (issue.code, issue.severity) == ("ecqm_year_not_supported", "error")
    assert "2025, 2026, not 2024" in issue.reason
