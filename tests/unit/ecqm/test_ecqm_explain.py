"""``aco-sync measure`` explains the initial population criterion by criterion, and the criteria agree
with the calculation on every published test case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ecqm_cases import case_folders, load_case

from aco_sync.domain.catalog import default_catalog
from aco_sync.ecqm.explain import initial_population_criteria
from aco_sync.ecqm.fhir import patient_from_fhir
from aco_sync.ecqm.logic import MeasureContext, evaluate
from aco_sync.ecqm.valuesets import default_value_sets
from aco_sync_local.cli import main
from shared_fixtures import shared_path

FOLDERS = case_folders()


def test_criteria_agree_with_the_calculated_initial_population() -> None:
    if not FOLDERS:
        shared_path("fixtures", "ecqm-tests")
        pytest.skip("no published eCQM test cases found")
    catalog = default_catalog()
    checked = {True: 0, False: 0}
    for folder in FOLDERS:
        case = load_case(folder)
        resources = [r for r in case.resources if r.get("resourceType") != "MeasureReport"]
        patient = patient_from_fhir(resources)
        ctx = MeasureContext(patient, case.period, default_value_sets())
        ecqm_id = catalog.get(case.measure_id).ecqm_id
        criteria = initial_population_criteria(ctx, ecqm_id)
        expected = evaluate(patient, case.measure_id, case.period, context=ctx).initial_population
        assert all(c.met for c in criteria) == expected, (folder.name, [c.to_dict() for c in criteria])
        checked[expected] += 1
    assert checked[True] and checked[False]  # both outcomes are covered by the published cases


def test_measure_names_the_criterion_that_failed(capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_path("fixtures", "qrda", "07_CMS2v6_B_GP_Peds.xml")
    assert main(["measure", "--qrda", str(path)]) == 0
    out = capsys.readouterr().out
    assert "initial population: yes age 12 or older at the start of the measurement period (age 27)" in out
    assert (
        "initial population: NO  a depression screening, physical therapy evaluation or telephone visit"
        in out
    )


def test_measure_json_has_the_criteria(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = shared_path("fixtures", "qrda", "05_CMS130v5_B_GP_Geriatric.xml")
    assert (
        main(
            [
                "measure",
                "--qrda",
                str(path),
                "--period-start",
                "2014-01-01",
                "--period-end",
                "2014-12-31",
                "--json",
            ]
        )
        == 0
    )
    [m113] = [m for m in json.loads(capsys.readouterr().out)["measures"] if m["measure_id"] == "M113"]
    assert [c["met"] for c in m113["initial_population_criteria"]] == [True, True]
    assert (
        m113["initial_population_criteria"][0]["criterion"]
        == "age 46-75 at the end of the measurement period"
    )
