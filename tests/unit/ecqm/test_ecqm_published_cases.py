"""Proof: every published test case of the five measures, through the FHIR adapter, gives exactly the
expected populations (initial population, denominator, exclusion, exception, numerator)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from ecqm_cases import MEASURE_BY_CMS, POPULATIONS, case_folders, load_case

from aco_sync.ecqm import calculate_fhir
from shared_fixtures import shared_path

FOLDERS = case_folders()


def _actual(folder: Path) -> tuple[dict[str, int], dict[str, int], str]:
    case = load_case(folder)
    populations = calculate_fhir(case.resources, period=case.period)[case.measure_id]
    counts = populations.counts()
    return case.expected, {k: counts[k] for k in case.expected}, case.description


@pytest.mark.parametrize(
    "folder", FOLDERS or [None], ids=[f"{f.parent.name}-{f.name[:8]}" for f in FOLDERS] or ["no-cases"]
)
def test_published_case_populations_match_expected(folder: Path | None) -> None:
    if folder is None:
        shared_path("fixtures", "ecqm-tests")
        pytest.skip("no published eCQM test cases found")
    expected, actual, description = _actual(folder)
    assert actual == expected, f"{folder.parent.name} case {folder.name} ({description})"


def test_every_population_of_the_report_is_checked() -> None:
    shared_path("fixtures", "ecqm-tests")
    seen: Counter[str] = Counter()
    for folder in FOLDERS:
        seen.update(load_case(folder).expected.keys())
    assert set(seen) <= set(POPULATIONS)
    assert seen["initial-population"] == len(FOLDERS) == 144
    assert seen["denominator-exception"] == len(case_folders_of("CMS2"))  # only CMS2 has exceptions


def case_folders_of(cms_id: str) -> list[Path]:
    return [f for f in FOLDERS if f.parent.name == cms_id]


def test_pass_rate_per_measure_is_100_percent(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the pass rate per measure (the figure in docs/PERFORMANCE.md) and requires 100%."""
    shared_path("fixtures", "ecqm-tests")
    rows = []
    failures = []
    for cms_id, measure_id in MEASURE_BY_CMS.items():
        folders = case_folders_of(cms_id)
        passed = 0
        for folder in folders:
            expected, actual, description = _actual(folder)
            if expected == actual:
                passed += 1
            else:
                failures.append(f"{cms_id} {folder.name}: {description}: expected {expected}, got {actual}")
        rate = 100 * passed / len(folders)
        rows.append(f"{cms_id:<7} {measure_id}  {passed:>3}/{len(folders):<3} {rate:6.1f}%")
    with capsys.disabled():
        print("\neCQM published test cases, pass rate per measure (FHIR adapter):")
        print("\n".join(rows))
    assert not failures, "\n".join(failures)
