"""The criterion-by-criterion explanation of a patient's populations (``aco-sync measure``) comes
from the same evaluated criteria as the populations: for every published test case of both
performance years, each population's verdict is the expected population, and every population the
patient is not in names at least one criterion that failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from ecqm_cases import SUITES, case_folders, load_case

from aco_sync.ecqm import calculate_fhir
from aco_sync.ecqm.populations import Criterion, MeasurePopulations, all_of, any_of, criterion
from shared_fixtures import shared_path

PARAMS = [(year, folder) for year in SUITES for folder in case_folders(year)]


def _explained(folder: Path, year: int) -> tuple[dict[str, int], MeasurePopulations]:
    case = load_case(folder)
    result = calculate_fhir(case.resources, period=case.period, performance_year=year)
    return case.expected, result[case.measure_id]


@pytest.mark.parametrize(
    ("year", "folder"),
    PARAMS or [(0, None)],
    ids=[f"PY{y}-{f.parent.name}-{f.name[:8]}" for y, f in PARAMS] or ["no-cases"],
)
def test_published_case_explanation_matches_expected_populations(year: int, folder: Path | None) -> None:
    if folder is None:
        shared_path("fixtures", "ecqm-tests")
        pytest.skip("no published eCQM test cases found")
    expected, populations = _explained(folder, year)
    verdicts = {v.population: v for v in populations.verdicts}
    for population, count in expected.items():
        verdict = verdicts[population]
        assert int(verdict.member) == count, f"{folder.parent.name} {folder.name} {population}"
        if not verdict.member:
            failed = verdict.failed()
            assert failed and all(not c.met and c.name for c in failed), f"{folder.name} {population}"
        else:
            assert verdict.criteria and all(c.met for c in verdict.criteria)
    assert {v.population: int(v.member) for v in populations.verdicts} == {
        k: v for k, v in populations.counts().items() if k in verdicts
    }


def test_every_suite_was_explained() -> None:
    for year, folder_name in SUITES.items():
        shared_path("fixtures", folder_name)
        assert case_folders(year)


def _case(year: int, cms_id: str, prefix: str) -> MeasurePopulations:
    folder = next(shared_path("fixtures", SUITES[year], cms_id).glob(f"{prefix}*"))
    return _explained(folder, year)[1]


def test_a_missing_encounter_is_named_and_the_met_criteria_too() -> None:
    # CMS130 PY2025 cases of the right age without a qualifying encounter during the period
    shared_path("fixtures", SUITES[2025], "CMS130")  # skips with the reason when the fixtures are absent
    for folder in case_folders(2025):
        if folder.parent.name != "CMS130":
            continue
        expected, populations = _explained(folder, 2025)
        ip = populations.verdicts[0]
        failed = [c.name for c in ip.failed()]
        if expected["initial-population"] == 0 and failed == [
            "a qualifying outpatient encounter during the measurement period"
        ]:
            [top] = ip.criteria
            met = [p.name for p in top.parts if p.met]
            assert met == ["age 46-75 at the end of the measurement period"]
            return
    pytest.fail("no PY2025 CMS130 case fails the initial population on the encounter alone")


def test_the_records_that_decided_a_criterion_are_its_evidence() -> None:
    populations = _case(2025, "CMS165", "f2d1fd7e")  # BP 139/89 during the period: numerator
    numerator = next(v for v in populations.verdicts if v.population == "numerator")
    assert numerator.member
    [top] = numerator.criteria
    reading = top.parts[-1]
    assert reading.met and reading.evidence and "139/89" in reading.detail
    assert all(e.kind.value == "observation" for e in reading.evidence)
    ip = populations.verdicts[0].criteria[0]
    encounter = next(p for p in ip.parts if "encounter" in p.name)
    assert encounter.met and all(e.kind.value == "encounter" for e in encounter.evidence)


def test_the_proportion_rules_name_what_kept_a_patient_out_of_a_later_population() -> None:
    populations = _case(2025, "CMS165", "f2d1fd7e")
    assert populations.denominator
    # a patient outside the initial population: the later populations name "in the denominator"
    for year in SUITES:
        for folder in case_folders(year):
            expected, result = _explained(folder, year)
            if expected["initial-population"] == 0:
                numerator = next(v for v in result.verdicts if v.population == "numerator")
                assert [c.name for c in numerator.failed()] == ["in the denominator"]
                return
    pytest.fail("no case outside the initial population")


def test_criteria_combine_all_and_any() -> None:
    yes, no = criterion("a", True), criterion("b", [])
    assert all_of("x", yes, no).failed() == [no]
    assert any_of("x", yes, no).met and any_of("x", yes, no).failed() == []
    nested = all_of("top", any_of("either", no, Criterion("c", False)), yes)
    assert [c.name for c in nested.failed()] == ["b", "c"]
