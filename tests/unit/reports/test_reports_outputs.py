"""build_reports: the files, CSV exports, QPP submission JSON, QRDA III and quality-score.json."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest
from lxml import etree
from report_samples import SETTINGS, TINS, sample_inputs

from aco_sync.domain.records import CollectionType
from aco_sync.reports import build_reports, score_sync
from aco_sync.scoring.benchmarks import load_benchmarks
from shared_fixtures import shared_path

NS = {"h": "urn:hl7-org:v3"}
ALL_FILES = {
    "report.html",
    "measures.csv",
    "patients.csv",
    "quality-score.json",
    "qpp-submission.json",
    "qrda3-ecqm.xml",
    "gaps-111111111.csv",
    "gaps-222222222.csv",
    "gaps-333333333.csv",
}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return build_reports(sample_inputs())


def test_all_outputs_are_built(files: dict[str, bytes]) -> None:
    assert set(files) == ALL_FILES
    assert all(isinstance(content, bytes) and content for content in files.values())


def test_only_present_collection_types_get_files() -> None:
    inputs = sample_inputs()
    inputs.stats = [s for s in inputs.stats if s.collection_type == CollectionType.CQM]
    files = build_reports(inputs)
    assert "qpp-submission.json" in files and "qrda3-ecqm.xml" not in files
    inputs.stats = [s for s in sample_inputs().stats if s.collection_type == CollectionType.ECQM]
    files = build_reports(inputs)
    assert "qrda3-ecqm.xml" in files and "qpp-submission.json" not in files


def test_measures_csv_has_counts_and_scores(files: dict[str, bytes]) -> None:
    rows = list(csv.DictReader(io.StringIO(files["measures.csv"].decode())))
    assert len(rows) == 7
    m236 = next(r for r in rows if r["measure_id"] == "M236" and r["collection_type"] == "eCQM")
    assert (m236["eligible_population"], m236["performance_met"], m236["performance_not_met"]) == (
        "490",
        "345",
        "115",
    )
    assert m236["performance_rate"] == "75.00" and m236["decile"] == "7" and m236["status"] == "scored"
    assert m236["counted"] == "N" and m236["reason"].startswith("Not counted: M236 MCQM scores higher")
    m113 = next(r for r in rows if r["measure_id"] == "M113" and r["collection_type"] == "MCQM")
    assert m113["qpp_measure_id"] == "113SSP" and m113["status"] == "no_benchmark" and m113["points"] == ""
    assert m113["roster_coverage"] == "41.50"


def test_patients_csv_is_the_patient_level_aggregate(files: dict[str, bytes]) -> None:
    inputs = sample_inputs()
    rows = list(csv.DictReader(io.StringIO(files["patients.csv"].decode())))
    assert list(rows[0]) == ["master_pat_id", "measure_id", "collection_type", "outcome", "performance_date",
                             "source_tins", "deciding_tin", "source_file", "source_row", "encounter_id",
                             "records"]  # fmt: skip
    assert len(rows) == len(inputs.outcomes)
    shared = [r for r in rows if ";" in r["source_tins"]]
    assert shared and all(r["source_tins"] == f"{TINS[0]};{TINS[1]}" for r in shared)
    assert rows == sorted(rows, key=lambda r: (r["master_pat_id"], r["measure_id"], r["collection_type"]))


def _shape(value: object) -> object:
    """Keys (recursively) of a JSON document; lists by their first element."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_qpp_submission_matches_the_example_shape(files: dict[str, bytes]) -> None:
    example = json.loads(
        shared_path("fixtures", "qpp", "qpp-submissions-docs__submission-example-quality.json").read_text()
    )
    example_set = example["measurementSets"][0]
    example_value = next(m["value"] for m in example_set["measurements"] if m["measureId"] == "102")
    document = json.loads(files["qpp-submission.json"])
    assert document["entityType"] == "apm"
    assert document["entityId"] == SETTINGS.apm_entity_id and document["performanceYear"] == 2025
    assert set(example) - {"taxpayerIdentificationNumber", "nationalProviderIdentifier"} <= set(document)
    # CQM and Medicare CQM in ONE registry set; the eCQMs go in the QRDA III (ecqm_submission_file)
    (measurement_set,) = document["measurementSets"]
    assert set(measurement_set) == set(example_set) | {"programName"}
    assert measurement_set["category"] == "quality" and measurement_set["submissionMethod"] == "registry"
    assert measurement_set["programName"] == "appPlus"
    assert (measurement_set["performanceStart"], measurement_set["performanceEnd"]) == (
        "2025-01-01",
        "2025-12-31",
    )
    # 113 and 113SSP are not in the 2025 APP Plus set: computed, not submitted
    assert [m["measureId"] for m in measurement_set["measurements"]] == ["134", "236SSP"]
    for measurement in measurement_set["measurements"]:
        assert set(measurement) == {"measureId", "value"}
        assert set(measurement["value"]) == set(example_value)
        assert measurement["value"]["isEndToEndReported"] is False
    # registry: the 5 exclusions are subtracted from the eligible population (200 -> 195)
    assert measurement_set["measurements"][1]["value"] == {
        "isEndToEndReported": False,
        "eligiblePopulation": 195,
        "performanceMet": 150,
        "performanceNotMet": 40,
        "eligiblePopulationExclusion": 0,
        "eligiblePopulationException": 0,
    }


def test_ecqms_in_the_json_instead_of_the_qrda3() -> None:
    settings = SETTINGS.model_copy(update={"ecqm_submission_file": "qpp_json"})
    files = build_reports(sample_inputs(settings=settings))
    assert "qrda3-ecqm.xml" not in files
    document = json.loads(files["qpp-submission.json"])
    registry, ehr = document["measurementSets"]
    assert (registry["submissionMethod"], ehr["submissionMethod"]) == ("registry", "electronicHealthRecord")
    assert ehr["cehrtId"] == SETTINGS.cehrt_id and "cehrtId" not in registry
    assert [m["measureId"] for m in ehr["measurements"]] == ["001", "112", "236"]
    # eCQM: the populations as the QRDA III defines them (DENOM includes the exclusions)
    assert ehr["measurements"][2]["value"] == {
        "isEndToEndReported": True,
        "eligiblePopulation": 490,
        "performanceMet": 345,
        "performanceNotMet": 115,
        "eligiblePopulationExclusion": 20,
        "eligiblePopulationException": 0,
    }


def _template_ids(element: etree._Element) -> set[str]:
    return {t.get("root", "") for t in element.findall("h:templateId", NS)}


def _population_counts(organizer: etree._Element) -> dict[str, int]:
    counts = {}
    for observation in organizer.findall("h:component/h:observation", NS):
        value = observation.find("h:value", NS)
        if value is not None and value.get("code"):
            count = observation.find("h:entryRelationship/h:observation/h:value", NS)
            assert count is not None
            counts[value.get("code", "")] = int(count.get("value", "-1"))
    return counts


def test_qrda3_is_well_formed_with_the_aggregate_counts(files: dict[str, bytes]) -> None:
    document = etree.fromstring(files["qrda3-ecqm.xml"])
    assert document.tag == "{urn:hl7-org:v3}ClinicalDocument"
    organizers = document.findall(".//h:section/h:entry/h:organizer", NS)
    assert len(organizers) == 3  # M001, M112, M236 eCQM
    by_text = {o.findtext("h:reference/h:externalDocument/h:text", namespaces=NS): o for o in organizers}
    m236 = by_text["Controlling High Blood Pressure"]
    # CMS165 defines no denominator exceptions: no DENEXCEP population
    assert _population_counts(m236) == {"IPOP": 490, "DENOM": 490, "DENEX": 20, "NUMER": 345}
    version = m236.find("h:reference/h:externalDocument/h:id", NS)
    assert version is not None and version.get("root") == "2.16.840.1.113883.4.738"
    assert version.get("extension") == "2c928083-8907-ce68-0189-2bbd31d6064e"  # CMS165v13
    (rate,) = m236.xpath("h:component/h:observation[h:code/@code='72510-1']/h:value", namespaces=NS)
    assert float(rate.get("value", "0")) == pytest.approx(0.75)
    apm = document.find(
        "h:documentationOf/h:serviceEvent/h:performer/h:assignedEntity/h:representedOrganization/h:id", NS
    )
    assert apm is not None and (apm.get("root"), apm.get("extension")) == (
        "2.16.840.1.113883.3.249.5.4",
        "A1234",
    )
    (low, high) = document.xpath(
        ".//h:act[h:templateId/@root='2.16.840.1.113883.10.20.17.3.8']/h:effectiveTime/*/@value",
        namespaces=NS,
    )
    assert (low, high) == ("20250101", "20251231")


def test_qrda3_is_structurally_like_the_apm_entity_sample(files: dict[str, bytes]) -> None:
    sample_path = shared_path("fixtures", "qpp", "qpp-conversion-tool__App-Plus-ApmEntity-Qrda-III_2025.xml")
    sample = etree.parse(str(sample_path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    ours = etree.fromstring(files["qrda3-ecqm.xml"])
    assert _template_ids(ours) == _template_ids(sample)
    header = [
        "realmCode", "typeId", "templateId", "id", "code", "title", "effectiveTime", "confidentialityCode",
        "languageCode", "setId", "versionNumber", "recordTarget", "author", "custodian",
        "informationRecipient", "legalAuthenticator", "participant", "documentationOf", "component",
    ]  # fmt: skip
    our_children = [etree.QName(child).localname for child in ours if isinstance(child.tag, str)]
    assert [name for name in dict.fromkeys(our_children)] == header
    sample_section = sample.find(".//h:structuredBody/h:component/h:section", NS)
    our_section = ours.find(".//h:structuredBody/h:component/h:section", NS)
    assert sample_section is not None and our_section is not None
    assert _template_ids(our_section) == _template_ids(sample_section)
    sample_organizer = sample_section.find("h:entry/h:organizer", NS)
    our_organizer = our_section.find("h:entry/h:organizer", NS)
    assert sample_organizer is not None and our_organizer is not None
    assert _template_ids(our_organizer) == _template_ids(sample_organizer)
    recipient = ours.find("h:informationRecipient/h:intendedRecipient/h:id", NS)
    sample_recipient = sample.find("h:informationRecipient/h:intendedRecipient/h:id", NS)
    assert recipient is not None and sample_recipient is not None
    assert recipient.attrib == sample_recipient.attrib
    sample_codes = set(_population_counts(sample_organizer))
    # DENEXCEP only where the measure defines exceptions (our first eCQM, CMS122, does not)
    assert set(_population_counts(our_organizer)) >= sample_codes - {"DENEXCEP"}


def test_quality_score_json(files: dict[str, bytes]) -> None:
    document = json.loads(files["quality-score.json"])
    scored = score_sync(sample_inputs())
    assert document["quality_score"] == scored.quality.score
    assert document["measures_scored"] == 4 and document["max_points"] == 40
    # M236 counts once, in its higher-scoring MCQM instance
    assert document["counted"] == ["M001 eCQM", "M112 eCQM", "M134 CQM", "M236 MCQM"]
    assert [n["instance"] for n in document["not_counted"]] == ["M236 eCQM", "M113 CQM", "M113 MCQM"]
    points = {f"{m['measure_id']} {m['collection_type']}": m["points"] for m in document["measures"]}
    counted = {f"{m['measure_id']} {m['collection_type']}" for m in document["measures"] if m["counted"]}
    assert counted == set(document["counted"])
    assert points["M134 CQM"] == 0.0 and points["M113 MCQM"] is None and points["M113 CQM"] is None
    assert points["M236 MCQM"] > points["M236 eCQM"]
    # rates from the submitted counts (M236 MCQM 150/190 = 78.947...%, not a rounded 78.95%)
    assert document["quality_score"] == round(100 * sum(points[i] for i in counted) / 40, 4) == 66.1585
    assert "to reach decile 9 on M236 (MCQM) you need 80.00%, i.e. 2 more patients met" in document["targets"]
    assert document["benchmark_year"] == 2025 and document["note"] is None


def test_missing_benchmark_year_falls_back_with_a_note() -> None:
    inputs = sample_inputs(settings=SETTINGS.model_copy(update={"performance_year": 2031}))
    files = build_reports(inputs)
    document = json.loads(files["quality-score.json"])
    assert document["benchmark_year"] == 2026
    note = "No benchmarks are bundled for performance year 2031; scored with the 2026 benchmarks instead."
    assert document["note"] == note
    assert note in files["report.html"].decode()


def test_given_benchmarks_are_used() -> None:
    benchmarks = load_benchmarks(2024)
    document = json.loads(build_reports(sample_inputs(benchmarks=benchmarks))["quality-score.json"])
    assert document["benchmark_year"] == 2024


def test_no_patient_data_leaves_the_outputs_empty_but_valid() -> None:
    inputs = sample_inputs(
        stats=[], outcomes=[], log=[], clinic_statuses=[], clinic_stats=None, roster_size=None
    )
    files = build_reports(inputs)
    assert set(files) == {"report.html", "measures.csv", "patients.csv", "quality-score.json"}
    assert json.loads(files["quality-score.json"])["quality_score"] is None
    assert files["patients.csv"].decode().count("\n") == 1


def test_stats_without_rate_do_not_break_outputs() -> None:
    inputs = sample_inputs()
    inputs.stats = [
        replace(s, performance_rate=None, performance_met=0, performance_not_met=0) for s in inputs.stats
    ]
    files = build_reports(inputs)
    etree.fromstring(files["qrda3-ecqm.xml"])
    document = json.loads(files["quality-score.json"])
    # no patient met or not met: the submitted counts' data completeness (exclusions and exceptions
    # only) is below 75%, so every measure with a benchmark and the case minimum counts with 0 points
    assert document["quality_score"] == 0.0 and document["measures_scored"] == 4
    statuses = {m["measure_id"] + " " + m["collection_type"]: m["status"] for m in document["measures"]}
    assert (
        statuses["M001 eCQM"] == statuses["M236 MCQM"] == statuses["M134 CQM"] == "data_completeness_not_met"
    )
