"""Proof: every published test case of the five measures, both performance years, through the FHIR
adapter, gives exactly the expected populations (initial population, denominator, exclusion,
exception, numerator): ecqm-tests (2025 period, PY2025 logic, 144 cases) and ecqm-tests-2026
(2026 period, PY2026 logic, 161 cases)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from ecqm_cases import CASE_COUNTS, MEASURE_BY_CMS, POPULATIONS, SUITES, case_folders, load_case

from aco_sync.ecqm import calculate_fhir
from shared_fixtures import shared_path

FOLDERS = {year: case_folders(year) for year in SUITES}
PARAMS = [(year, folder) for year, folders in FOLDERS.items() for folder in folders]


def _actual(folder: Path, performance_year: int) -> tuple[dict[str, int], dict[str, int], str]:
    case = load_case(folder)
    assert case.performance_year == performance_year, f"{folder}: period {case.period}"
    populations = calculate_fhir(case.resources, period=case.period, performance_year=performance_year)
    counts = populations[case.measure_id].counts()
    return case.expected, {k: counts[k] for k in case.expected}, case.description


@pytest.mark.parametrize(
    ("year", "folder"),
    PARAMS or [(0, None)],
    ids=[f"PY{y}-{f.parent.name}-{f.name[:8]}" for y, f in PARAMS] or ["no-cases"],
)
def test_published_case_populations_match_expected(year: int, folder: Path | None) -> None:
    if folder is None:
        shared_path("fixtures", "ecqm-tests")
        pytest.skip("no published eCQM test cases found")
    expected, actual, description = _actual(folder, year)
    assert actual == expected, f"PY{year} {folder.parent.name} case {folder.name} ({description})"


@pytest.mark.parametrize("year", sorted(SUITES))
def test_every_population_of_the_report_is_checked(year: int) -> None:
    shared_path("fixtures", SUITES[year])
    seen: Counter[str] = Counter()
    for folder in FOLDERS[year]:
        seen.update(load_case(folder).expected.keys())
    assert set(seen) <= set(POPULATIONS)
    assert seen["initial-population"] == len(FOLDERS[year]) == CASE_COUNTS[year]
    assert seen["denominator-exception"] == len(case_folders_of(year, "CMS2"))  # only CMS2 has exceptions


def case_folders_of(year: int, cms_id: str) -> list[Path]:
    return [f for f in FOLDERS[year] if f.parent.name == cms_id]


@pytest.mark.parametrize("year", sorted(SUITES))
def test_pass_rate_per_measure_is_100_percent(year: int, capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the pass rate per measure (the table in docs/PERFORMANCE.md) and requires 100%."""
    shared_path("fixtures", SUITES[year])
    rows = []
    failures = []
    for cms_id, measure_id in MEASURE_BY_CMS.items():
        folders = case_folders_of(year, cms_id)
        passed = 0
        for folder in folders:
            expected, actual, description = _actual(folder, year)
            if expected == actual:
                passed += 1
            else:
                failures.append(f"{cms_id} {folder.name}: {description}: expected {expected}, got {actual}")
        rate = 100 * passed / len(folders)
        rows.append(f"{cms_id:<7} {measure_id}  {passed:>3}/{len(folders):<3} {rate:6.1f}%")
    with capsys.disabled():
        print(f"\neCQM published test cases PY{year} ({SUITES[year]}), pass rate per measure (FHIR adapter):")
        print("\n".join(rows))
    assert not failures, "\n".join(failures)
