"""Submission files: the QPP JSON against data.ts and the year's allowed measures, one file per data,
drafts without an APM Entity ID or CEHRT ID, and years without CMS measure data."""

from __future__ import annotations

import json
import re

import pytest
from report_samples import SETTINGS, sample_inputs

from aco_sync.domain.records import CollectionType
from aco_sync.domain.settings import AcoSettings
from aco_sync.reports import build_reports
from aco_sync.reports.submission import NO_APM_ENTITY_ID, NO_CEHRT_ID
from qpp_data_model import cehrt_id_pattern, documented_fields, submission_errors

VARIANTS = {
    "2025 QRDA III route": SETTINGS,
    "2025 JSON route": SETTINGS.model_copy(update={"ecqm_submission_file": "qpp_json"}),
    "2026 JSON route": SETTINGS.model_copy(
        update={"performance_year": 2026, "ecqm_submission_file": "qpp_json"}
    ),
    "2026 QRDA III route": SETTINGS.model_copy(update={"performance_year": 2026}),
    "app1 program": SETTINGS.model_copy(update={"program_name": "app1", "ecqm_submission_file": "qpp_json"}),
    "draft": SETTINGS.model_copy(update={"apm_entity_id": None, "cehrt_id": None}),
}


@pytest.fixture(scope="module")
def outputs() -> dict[str, dict[str, bytes]]:
    return {name: build_reports(sample_inputs(settings=settings)) for name, settings in VARIANTS.items()}


def _submission(files: dict[str, bytes]) -> dict:  # type: ignore[type-arg]
    (name,) = [n for n in files if n.endswith("qpp-submission.json")]
    return json.loads(files[name])


def test_the_data_model_is_read_from_data_ts() -> None:
    fields = documented_fields()
    assert fields["measurementSet"]["programName"][1].startswith("writable")
    assert "calculated by API" in fields["value"]["reportingRate"][1]
    assert "calculated by API" in fields["value"]["caseCount"][1]
    assert fields["value"]["eligiblePopulation"] == ("integer", "writable, required")
    assert cehrt_id_pattern().match("0015CABCDEFGHIJ") and cehrt_id_pattern().match("2025C0123456789")
    assert not cehrt_id_pattern().match("0015XABCDEFGHIJ") and not cehrt_id_pattern().match("2025C012345678")


def test_every_qpp_json_follows_the_data_model_and_the_years_allowed_measures(
    outputs: dict[str, dict[str, bytes]],
) -> None:
    for name, files in outputs.items():
        document = _submission(files)
        assert submission_errors(document) == [], name
        for measurement_set in document["measurementSets"]:
            assert measurement_set["programName"] == VARIANTS[name].program_name


def test_the_checker_catches_what_the_old_files_did_wrong(outputs: dict[str, dict[str, bytes]]) -> None:
    document = _submission(outputs["2025 JSON route"])
    registry, ehr = document["measurementSets"]
    broken = {
        **document,
        "entityId": document["entityId"],
        "measurementSets": [
            {
                **registry,
                "measurements": [
                    {
                        **registry["measurements"][0],
                        "value": {
                            **registry["measurements"][0]["value"],
                            "eligiblePopulationExclusion": 3,
                            "reportingRate": 80.0,
                        },
                    }
                ],
            },
            {k: v for k, v in registry.items() if k != "programName"},  # recorded as mips: a second set
            {k: v for k, v in ehr.items() if k != "cehrtId"},
        ],
    }
    errors = "\n".join(submission_errors(broken))
    assert "'reportingRate' is not writable" in errors
    assert "registry eligiblePopulationExclusion should be 0" in errors
    assert "required field 'cehrtId' is missing" in errors
    assert "measure 134 not allowed for mips/registry" not in errors  # 134 is a MIPS measure too
    assert "measure 236SSP not allowed for mips/registry" in errors


def test_each_ecqm_is_in_exactly_one_submitted_file(outputs: dict[str, dict[str, bytes]]) -> None:
    ecqm_ids = {"001", "112", "236"}
    for name in ("2025 QRDA III route", "2025 JSON route"):
        files = outputs[name]
        document = _submission(files)
        in_json = {
            m["measureId"]
            for s in document["measurementSets"]
            if s["submissionMethod"] == "electronicHealthRecord"
            for m in s["measurements"]
        }
        in_qrda3 = set()
        if "qrda3-ecqm.xml" in files:
            in_qrda3 = {
                "001" if "CMS122" in t else "112" if "CMS125" in t else "236"
                for t in re.findall(r"<td>(CMS\d+v\d+)</td>", files["qrda3-ecqm.xml"].decode())
            }
        assert in_json | in_qrda3 == ecqm_ids and not in_json & in_qrda3, name
        manifest = json.loads(files["quality-score.json"])["submission"]
        listed = [
            m for f in manifest["files"] for m in f["measures"] if m.endswith("(electronicHealthRecord)")
        ]
        assert sorted(listed) == [f"{i} (electronicHealthRecord)" for i in sorted(ecqm_ids)]


def test_measures_cms_does_not_allow_are_computed_but_not_submitted(
    outputs: dict[str, dict[str, bytes]],
) -> None:
    files = outputs["2025 QRDA III route"]
    manifest = json.loads(files["quality-score.json"])["submission"]
    assert {(n["instance"], n["qpp_measure_id"]) for n in manifest["not_submittable"]} == {
        ("M113 CQM", "113"),
        ("M113 MCQM", "113SSP"),
    }
    reasons = {n["instance"]: n["reason"] for n in manifest["not_submittable"]}
    assert (
        reasons["M113 CQM"] == "Not submittable: CMS does not allow measure 113 for program appPlus in 2025."
    )
    assert "Not submittable" in files["report.html"].decode()
    # PY2026 adds 113 and 113SSP to the APP Plus set
    manifest_2026 = json.loads(outputs["2026 JSON route"]["quality-score.json"])["submission"]
    assert manifest_2026["not_submittable"] == []
    registry = _submission(outputs["2026 JSON route"])["measurementSets"][0]
    assert [m["measureId"] for m in registry["measurements"]] == ["113", "113SSP", "134", "236SSP"]


def test_without_ids_the_files_are_drafts_with_the_reason(outputs: dict[str, dict[str, bytes]]) -> None:
    files = outputs["draft"]
    assert {"DRAFT-qpp-submission.json", "DRAFT-qrda3-ecqm.xml"} <= set(files)
    assert not {"qpp-submission.json", "qrda3-ecqm.xml"} & set(files)
    manifest = json.loads(files["quality-score.json"])["submission"]
    by_file = {f["file"]: f for f in manifest["files"]}
    assert by_file["DRAFT-qpp-submission.json"]["draft_reasons"] == [NO_APM_ENTITY_ID]
    assert by_file["DRAFT-qrda3-ecqm.xml"]["draft_reasons"] == [NO_APM_ENTITY_ID, NO_CEHRT_ID]
    html = files["report.html"].decode()
    assert "DRAFT-qpp-submission.json" in html and "no APM Entity ID" in html
    # only the CEHRT ID missing: the registry file is final, the eCQM file a draft
    settings = SETTINGS.model_copy(update={"cehrt_id": None})
    names = set(build_reports(sample_inputs(settings=settings)))
    assert {"qpp-submission.json", "DRAFT-qrda3-ecqm.xml"} <= names


def test_a_year_without_cms_measure_data_writes_no_submission_file() -> None:
    settings = SETTINGS.model_copy(update={"performance_year": 2031})
    files = build_reports(sample_inputs(settings=settings))
    assert not [n for n in files if "qpp-submission" in n or "qrda3" in n]
    manifest = json.loads(files["quality-score.json"])["submission"]
    reasons = {r["file"]: r["reason"] for r in manifest["refused"]}
    assert reasons["qrda3-ecqm.xml"].startswith(
        "No CMS measure data (qpp-measures-data) is bundled for performance year 2031 "
        "(bundled: 2024, 2025, 2026)"
    )


def test_2026_qrda3_is_refused_without_published_measure_uuids(outputs: dict[str, dict[str, bytes]]) -> None:
    files = outputs["2026 QRDA III route"]
    assert "qrda3-ecqm.xml" not in files  # never filled with the 2025 ids
    manifest = json.loads(files["quality-score.json"])["submission"]
    (refused,) = manifest["refused"]
    assert refused["file"] == "qrda3-ecqm.xml"
    assert (
        "has no eCQM version UUID (eMeasureUuid) or population UUIDs for measure 001, 112, 236"
        in refused["reason"]
    )
    assert "ACO Sync does not use another year's ids" in refused["reason"]
    assert refused["reason"] in files["report.html"].decode().replace("&#x27;", "'")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("apm_entity_id", "a-1", "String should match pattern"),
        ("cehrt_id", "0015XABCDEFGHIJ", "String should match pattern"),
        ("cehrt_id", "0015CABCDEFGHI", "String should match pattern"),
        ("program_name", "ssp", "String should match pattern"),
        ("ecqm_submission_file", "both", "Input should be 'qrda3' or 'qpp_json'"),
    ],
)
def test_submission_settings_are_validated(field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AcoSettings.model_validate({"aco_id": "A1", "performance_year": 2025, field: value})


def test_submission_settings_defaults_and_documented_values() -> None:
    settings = AcoSettings(aco_id="A1", performance_year=2025)
    assert (settings.apm_entity_id, settings.cehrt_id, settings.program_name) == (None, None, "appPlus")
    assert settings.ecqm_submission_file == "qrda3"
    for program in ("appPlus", "app1", "mips", "G0053", "M1366"):
        assert AcoSettings(aco_id="A1", performance_year=2025, program_name=program).program_name == program
    assert AcoSettings(aco_id="A1", performance_year=2025, cehrt_id="2025C0123456789").cehrt_id


def test_only_ecqms_in_a_sync_without_registry_data() -> None:
    inputs = sample_inputs(settings=VARIANTS["2025 JSON route"])
    inputs.stats = [s for s in inputs.stats if s.collection_type == CollectionType.ECQM]
    document = _submission(build_reports(inputs))
    (only,) = document["measurementSets"]
    assert only["submissionMethod"] == "electronicHealthRecord" and submission_errors(document) == []


def test_mvp_reporting_gets_the_json_but_no_qrda3() -> None:
    files = build_reports(sample_inputs(settings=SETTINGS.model_copy(update={"program_name": "M1366"})))
    assert "qrda3-ecqm.xml" not in files
    manifest = json.loads(files["quality-score.json"])["submission"]
    (refused,) = manifest["refused"]
    assert refused["reason"] == (
        "QRDA III not written: ACO Sync writes APM entity reports for programs appPlus, app1, mips, "
        "not M1366 (MVP reporting)."
    )
