"""``aco-sync measure``: populations and the performance record per measure, text and JSON."""

from __future__ import annotations

import json

import pytest

from aco_sync_local.cli import main
from shared_fixtures import shared_path


def run_cli(*argv: str) -> int:
    return main(["measure", *argv])


def test_fhir_case_as_json_shows_populations_and_record(capsys: pytest.CaptureFixture[str]) -> None:
    folder = next(shared_path("fixtures", "ecqm-tests", "CMS165").glob("f2d1fd7e*"))  # BP 139/89 during MP
    assert run_cli("--fhir", str(folder), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    by_id = {m["measure_id"]: m for m in result["measures"]}
    assert set(by_id) == {"M001", "M112", "M113", "M134", "M236"}
    bp = by_id["M236"]
    assert bp["populations"]["numerator"] == 1 and bp["performance"] == "MET"
    assert bp["record"]["collection_type"] == "eCQM" and bp["record"]["systolic"] == 139
    assert by_id["M001"]["record"] is None and by_id["M001"]["populations"]["initial-population"] == 0
    assert result["measurement_period"] == {"start": "2025-01-01", "end": "2025-12-31"}


def test_qrda_file_with_its_own_period_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_path("fixtures", "qrda", "05_CMS130v5_B_GP_Geriatric.xml")
    assert run_cli("--qrda", str(path), "--period-start", "2014-01-01", "--period-end", "2014-12-31") == 0
    out = capsys.readouterr().out
    assert "M113 CMS130  IP=1 DEN=1 DENEX=0 DENEXCEP=0 NUM=1  ->  MET on 2013-08-07" in out
    assert "record 1234567:qrda:05_CMS130v5_B_GP_Geriatric.xml:M113" in out


def test_qrda_default_period_warns_about_an_old_reporting_period(capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_path("fixtures", "qrda", "07_CMS2v6_B_GP_Peds.xml")
    assert run_cli("--qrda", str(path)) == 0
    out = capsys.readouterr().out
    assert "Measurement period 2025-01-01 to 2025-12-31" in out
    assert (
        "WARNING: The document's reporting period is not the measurement period 2025-01-01 to 2025-12-31"
        in out
    )


def test_unreadable_input_exits_1_and_usage_errors_2(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<ClinicalDocument><unclosed></ClinicalDocument>")
    assert run_cli("--qrda", str(bad)) == 1
    assert "not well-formed" in capsys.readouterr().err
    assert run_cli("--fhir", str(tmp_path / "missing")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert run_cli("--fhir", str(tmp_path), "--period-start", "2025-01-01") == 2
    assert "both --period-start and --period-end" in capsys.readouterr().err


def test_own_value_set_file_replaces_the_bundled_ones(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = next(shared_path("fixtures", "ecqm-tests", "CMS165").glob("f2d1fd7e*"))
    empty = tmp_path / "vs.tsv"
    empty.write_text("oid\tvalueset_name\tcode_system\tcode\n", encoding="utf-8")
    assert run_cli("--fhir", str(folder), "--value-sets", str(empty)) == 1
    assert "value set" in capsys.readouterr().err


def test_performance_year_chooses_the_specifications_and_the_period(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a PY2026 CMS125 case: a woman of 42-51 is in the population only under the 2026 specifications
    cases = shared_path("fixtures", "ecqm-tests-2026", "CMS125")
    folder = next(cases.glob("c32eb7d1*"))  # "Patient 42yo w/ an Office Visit Encounter 1/1 during the MP"
    assert run_cli("--fhir", str(folder), "--performance-year", "2026", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["measurement_period"] == {"start": "2026-01-01", "end": "2026-12-31"}
    by_id = {m["measure_id"]: m for m in result["measures"]}
    assert by_id["M112"]["populations"]["initial-population"] == 1
    assert (
        run_cli("--fhir", str(folder), "--json", "--period-start", "2026-01-01", "--period-end", "2026-12-31")
        == 0
    )
    by_id = {m["measure_id"]: m for m in json.loads(capsys.readouterr().out)["measures"]}
    assert by_id["M112"]["populations"]["initial-population"] == 1  # the period's year: 2026
    assert run_cli("--fhir", str(folder), "--performance-year", "2025", "--json") == 0
    by_id = {m["measure_id"]: m for m in json.loads(capsys.readouterr().out)["measures"]}
    assert by_id["M112"]["populations"]["initial-population"] == 0  # PY2025: from 52


def test_measure_explains_each_population_criterion_by_criterion(capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_path("fixtures", "qrda", "05_CMS130v5_B_GP_Geriatric.xml")
    assert run_cli("--qrda", str(path), "--period-start", "2014-01-01", "--period-end", "2014-12-31") == 0
    out = capsys.readouterr().out
    section = out[out.index("M113 CMS130") :]
    for line in (
        "    Initial population: met\n",
        "      - age 46-75 at the end of the measurement period: met (age 67)\n",
        "      - a qualifying outpatient encounter during the measurement period: met\n",
        "          encounter 1.3.6.1.4.1.115:56e82f1602d4054243000260 2014-02-01 (CPT 99203)",
        "    Denominator exclusion: NOT met (any of)\n",
        "      - hospice services during the measurement period: NOT met\n",
        "        - colonoscopy during the period or the 9 years before: met\n",
    ):
        assert line in section
    # the populations the patient is not in say which criterion failed (a FHIR case: every measure)
    folder = next(shared_path("fixtures", "ecqm-tests", "CMS165").glob("f2d1fd7e*"))
    assert run_cli("--fhir", str(folder)) == 0
    out = capsys.readouterr().out
    diabetes = out[out.index("M001 CMS122") : out.index("M112")]
    assert "      - age 18-75 at the end of the measurement period: met (age 19)\n" in diabetes
    assert "    Initial population: NOT met\n" in diabetes
    assert "diabetes overlapping the measurement period: NOT met" in diabetes
    assert "    Numerator: NOT met\n      - in the denominator: NOT met\n" in diabetes


def test_measure_json_carries_the_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    folder = next(shared_path("fixtures", "ecqm-tests-2026", "CMS125").glob("c32eb7d1*"))
    assert run_cli("--fhir", str(folder), "--performance-year", "2026", "--json") == 0
    by_id = {m["measure_id"]: m for m in json.loads(capsys.readouterr().out)["measures"]}
    explanation = {v["population"]: v for v in by_id["M112"]["explanation"]}
    ip = explanation["initial-population"]
    assert ip["member"] is True and ip["failed"] == []
    parts = {p["name"]: p for p in ip["criteria"][0]["parts"]}
    assert parts["age 42-74 at the end of the measurement period"]["detail"] == "age 42"
    [visit] = parts["a qualifying outpatient encounter during the measurement period"]["evidence"]
    assert visit["kind"] == "encounter" and visit["date"] == "2026-01-01"
    for population, verdict in explanation.items():
        assert int(verdict["member"]) == by_id["M112"]["populations"][population]
        assert verdict["member"] or verdict["failed"]
