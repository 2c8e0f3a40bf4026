"""Value sets from the TSV format, code-system normalisation, timing helpers and the FHIR adapter."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.records import Gender
from aco_sync.ecqm.codes import Code, normalise_system
from aco_sync.ecqm.fhir import parse_datetime, patient_from_fhir
from aco_sync.ecqm.libraries.qicore_common import medication_request_period, prevalence
from aco_sync.ecqm.model import EntryKind
from aco_sync.ecqm.timing import Interval, add_years, age_in_years_at
from aco_sync.ecqm.valuesets import default_value_sets, load_value_sets

PERIOD_2025 = (date(2025, 1, 1), date(2025, 12, 31))

HEADER = "oid\tvalueset_name\tvs_version\tused_by_libraries\tcode_system\tcode\tdisplay\tsource_path\n"


def test_bundled_value_sets_cover_the_measures_and_address_by_name_or_oid() -> None:
    library = default_value_sets(2025)
    office = library.codes("Office Visit")
    assert Code("CPT", "99213") in office
    assert library.codes("2.16.840.1.113883.3.464.1003.101.12.1001") == office
    assert Code("LOINC", "4548-4") in library.codes("HbA1c Laboratory Test")
    with pytest.raises(KeyError, match="not loaded"):
        library.codes("No Such Set")


def test_own_expansion_file_in_the_same_format(tmp_path: Path) -> None:
    path = tmp_path / "vsac.tsv"
    path.write_text(
        HEADER
        + "1.2.3\tDiabetes\t1\tX\thttp://snomed.info/sct\t73211009\tDiabetes mellitus\t\n"
        + "1.2.3\tDiabetes\t1\tX\turn:oid:2.16.840.1.113883.6.90\tE11.9\t\t\n",
        encoding="utf-8",
    )
    library = load_value_sets(path)
    assert library.codes("Diabetes") == {Code("SNOMEDCT", "73211009"), Code("ICD10CM", "E11.9")}
    assert library.codes("1.2.3") == library.codes("Diabetes")


def test_value_set_file_without_required_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("name\tcode\nDiabetes\t1\n", encoding="utf-8")
    with pytest.raises(
        InvalidInputError, match=r"bad.tsv: missing column\(s\) oid, valueset_name, code_system"
    ):
        load_value_sets(path)


@pytest.mark.parametrize(
    ("system", "short"),
    [
        ("http://loinc.org", "LOINC"),
        ("2.16.840.1.113883.6.1", "LOINC"),
        ("urn:oid:2.16.840.1.113883.6.96", "SNOMEDCT"),
        ("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "HCPCS"),
        ("2.16.840.1.113883.6.285", "HCPCS"),
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "RXNORM"),
        ("9.9.9", "9.9.9"),
        (None, ""),
    ],
)
def test_code_systems_from_fhir_qrda_and_tsv_normalise_to_one_name(system: str | None, short: str) -> None:
    assert normalise_system(system) == short


def test_age_in_years_is_whole_years() -> None:
    assert age_in_years_at(date(1950, 12, 31), date(2025, 12, 31)) == 75
    assert age_in_years_at(date(1950, 12, 31), date(2025, 12, 30)) == 74
    assert age_in_years_at(date(2008, 2, 29), date(2025, 2, 28)) == 16
    assert age_in_years_at(date(2008, 2, 29), date(2025, 3, 1)) == 17
    assert add_years(date(2024, 2, 29), -1) == date(2023, 2, 28)


def test_day_precision_interval_comparisons() -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    first, last = date(2025, 1, 1), date(2025, 12, 31)
    assert Interval(at("2025-12-31T23:59"), at("2025-12-31T23:59")).during_days(first, last)
    assert not Interval(at("2025-12-31T10:00"), at("2026-01-01T00:00")).during_days(first, last)
    assert Interval(at("2024-12-31T10:00"), at("2025-01-01T00:00")).overlaps_days(first, last)
    assert Interval(at("2020-01-01T00:00"), None).overlaps_days(first, last)  # open end: unbounded
    assert not Interval(at("2020-01-01T00:00"), None, high_unknown=True).overlaps_days(first, last)


def _patient(*resources: dict) -> list[dict]:  # type: ignore[type-arg]
    return [
        {
            "resourceType": "Patient",
            "id": "p1",
            "gender": "female",
            "birthDate": "1960-04-04",
            "name": [{"given": ["Ann", "B"], "family": "Lee"}],
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-mbi", "value": "1EG4TE5MK73"}],
        },
        *resources,
    ]


def test_fhir_patient_and_resources_become_the_model() -> None:
    model = patient_from_fhir(
        _patient(
            {
                "resourceType": "Condition",
                "id": "c1",
                "clinicalStatus": {"coding": [{"code": "inactive"}]},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
                "onsetDateTime": "2020-01-01T00:00:00-05:00",
            },
            {"resourceType": "Practitioner", "id": "x"},
        )
    )
    assert (model.birth_date, model.gender, model.first_name, model.last_name, model.mbi) == (
        date(1960, 4, 4),
        Gender.FEMALE,
        "Ann B",
        "Lee",
        "1EG4TE5MK73",
    )
    [condition] = model.entries
    assert condition.kind is EntryKind.CONDITION and condition.start == datetime(2020, 1, 1, 5, tzinfo=UTC)
    # inactive without abatement: the prevalence period's end is unknown, not open
    assert prevalence(condition).high_unknown


def test_fhir_bundle_is_accepted_and_needs_exactly_one_patient() -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in _patient()]}
    assert patient_from_fhir([bundle]).patient_id == "p1"
    with pytest.raises(InvalidInputError, match="exactly one Patient"):
        patient_from_fhir([])
    with pytest.raises(InvalidInputError, match="invalid FHIR date"):
        parse_datetime("2025-13-45")


def test_medication_request_period_from_days_supply_and_refills() -> None:
    model = patient_from_fhir(
        _patient(
            {
                "resourceType": "MedicationRequest",
                "id": "m1",
                "status": "active",
                "intent": "order",
                "authoredOn": "2024-12-01",
                "medicationCodeableConcept": {"coding": []},
                "dispenseRequest": {
                    "numberOfRepeatsAllowed": 1,
                    "expectedSupplyDuration": {"value": 30, "code": "d"},
                },
            },
        )
    )
    period = medication_request_period(model.entries[0])
    assert period is not None and period.low is not None and period.high is not None
    assert (period.low.date(), period.high.date()) == (date(2024, 12, 1), date(2025, 1, 29))  # 60 days


def test_medication_reference_resolves_to_the_medication_code() -> None:
    rivastigmine = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "312836"}]}
    model = patient_from_fhir(
        _patient(
            {"resourceType": "Medication", "id": "med1", "code": rivastigmine},
            {
                "resourceType": "MedicationRequest",
                "id": "m1",
                "status": "active",
                "intent": "order",
                "medicationReference": {"reference": "Medication/med1"},
            },
            {
                "resourceType": "MedicationRequest",
                "id": "m2",
                "status": "active",
                "intent": "order",
                "contained": [{"resourceType": "Medication", "id": "c", "code": rivastigmine}],
                "medicationReference": {"reference": "#c"},
            },
        )
    )
    assert [e.codes for e in model.entries] == [frozenset({Code("RXNORM", "312836")})] * 2


def test_deployment_value_sets_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from aco_sync.ecqm import evaluate
    from aco_sync.ecqm.valuesets import VALUE_SETS_ENV, bundled_value_sets

    bundled_dir = Path(__import__("aco_sync").__file__).parent / "data" / "valuesets"
    complete = [
        bundled_dir / "target_measures_valueset_codes_qicore2024.tsv",
        bundled_dir / "adult_outpatient_encounters_valueset_codes_qicore2024.tsv",
    ]
    partial = tmp_path / "partial.tsv"
    partial.write_text(
        HEADER + "1.2.3\tDiabetes\t1\tX\thttp://snomed.info/sct\t73211009\t\t\n", encoding="utf-8"
    )
    patient = patient_from_fhir(_patient())
    try:
        monkeypatch.setenv(VALUE_SETS_ENV, __import__("os").pathsep.join(map(str, complete)))
        default_value_sets.cache_clear()
        library = default_value_sets(2025)
        assert library is not bundled_value_sets(2025) and library.names == bundled_value_sets(2025).names
        assert evaluate(patient, "M001", PERIOD_2025).performance is None
        monkeypatch.setenv(VALUE_SETS_ENV, str(partial))
        default_value_sets.cache_clear()
        with pytest.raises(InvalidInputError, match=r"value sets missing .*Office Visit"):
            evaluate(patient, "M001", PERIOD_2025)
    finally:
        monkeypatch.delenv(VALUE_SETS_ENV)
        default_value_sets.cache_clear()
    assert default_value_sets(2025) is bundled_value_sets(2025)
