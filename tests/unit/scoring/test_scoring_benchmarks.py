"""Loading benchmarks: bundled files, the shared fixtures, both forms, nearest-year fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aco_sync.domain.errors import BenchmarksNotFoundError, MeasureDataNotFoundError
from aco_sync.domain.qpp_measures import qpp_measures
from aco_sync.scoring.benchmarks import (
    bundled_years,
    load_benchmarks,
    load_benchmarks_or_nearest,
    parse_benchmark,
)
from shared_fixtures import shared_path


def test_bundled_years_cover_2024_to_2026() -> None:
    assert bundled_years() == [2024, 2025, 2026]


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_bundled_copy_matches_the_shared_fixture(year: int) -> None:
    fixture = shared_path("fixtures", "qpp", f"qpp_benchmarks_{year}_selected.json")
    bundled = load_benchmarks(year)
    from_fixture = load_benchmarks(year, fixture)
    assert bundled.benchmarks == from_fixture.benchmarks
    assert len(bundled) == len(json.loads(fixture.read_text()))


def test_lookup_by_measure_and_submission_method() -> None:
    benchmarks = load_benchmarks(2025)
    ehr = benchmarks.get("236", "electronicHealthRecord")
    assert ehr is not None and ehr.source_form == "percentiles"
    assert ehr.deciles == (45.71, 55.17, 61.16, 65.32, 68.735, 71.94, 75.31, 79.31, 84.74)
    assert benchmarks.get("236", "registry") is not None and benchmarks.get("236", "registry").is_flat  # type: ignore[union-attr]
    assert benchmarks.get("001SSP", "registry") is not None
    assert benchmarks.get("113SSP", "registry") is None  # not published for 2025
    topped = benchmarks.get("134", "registry")
    assert topped is not None and topped.topped_out_by_program


def test_old_deciles_form_and_ten_decile_lists() -> None:
    entry = {
        "measureId": "110", "performanceYear": 2019, "benchmarkYear": 2017, "submissionMethod": "registry",
        "isToppedOut": False, "deciles": [0, 26.89, 40.49, 50, 57.07, 64.79, 73.08, 82.71, 96.44],
    }  # fmt: skip
    benchmark = parse_benchmark(entry)
    assert benchmark is not None and benchmark.source_form == "deciles"
    assert benchmark.deciles[6] == 73.08 and not benchmark.topped_out_by_program
    inverse_old = dict(entry, isInverse=True, deciles=[95, 80, 70, 60, 50, 40, 30, 20, 10])
    parsed = parse_benchmark(inverse_old)
    assert parsed is not None and parsed.deciles == (95, 80, 70, 60, 50, 40, 30, 20, 10)
    ten = dict(entry, deciles=[0, 5, 10, 20, 30, 40, 50, 60, 70, 80])
    parsed = parse_benchmark(ten)
    assert parsed is not None and parsed.deciles == (5, 10, 20, 30, 40, 50, 60, 70, 80)
    assert (
        parse_benchmark({"measureId": "x", "performanceYear": 2019, "submissionMethod": "registry"}) is None
    )
    # before isToppedOutByProgram existed, a topped-out benchmark is capped
    legacy = parse_benchmark(dict(entry, isToppedOut=True))
    assert legacy is not None and legacy.caps_at_seven


def test_full_upstream_file_with_other_years_is_filtered(tmp_path: Path) -> None:
    entries = json.loads(shared_path("fixtures", "qpp", "qpp_benchmarks_2024_selected.json").read_text())
    entries += json.loads(shared_path("fixtures", "qpp", "qpp_benchmarks_2025_selected.json").read_text())
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(entries))
    benchmarks = load_benchmarks(2025, path)
    assert {b.performance_year for b in benchmarks} == {2025}
    with pytest.raises(BenchmarksNotFoundError, match="no benchmarks for performance year 2023"):
        load_benchmarks(2023, path)


def test_missing_year_raises_and_nearest_falls_back_with_a_note() -> None:
    with pytest.raises(BenchmarksNotFoundError, match="No bundled benchmarks for performance year 2030"):
        load_benchmarks(2030)
    nearest = load_benchmarks_or_nearest(2030)
    assert nearest.performance_year == 2026
    assert nearest.note == (
        "No benchmarks are bundled for performance year 2030; scored with the 2026 benchmarks instead."
    )
    assert load_benchmarks_or_nearest(2020).performance_year == 2024
    assert load_benchmarks_or_nearest(2025).note is None


def test_measure_uuids_for_qrda3() -> None:
    """The year's submission facts come from one accessor (aco_sync.domain.qpp_measures)."""
    measures = qpp_measures(2025)
    cms2 = measures.get("134")
    assert cms2 is not None and cms2.e_measure_uuid == "2c928083-8907-ce68-0189-40f8279a0a19"
    assert cms2.e_measure_id == "CMS2v14" and cms2.defines_exceptions
    assert measures.get("236") is not None and not measures.get("236").defines_exceptions  # type: ignore[union-attr]
    assert measures.allows("134SSP", "appPlus", "registry") and not measures.allows(
        "113", "appPlus", "registry"
    )
    assert qpp_measures(2026).missing_qrda3_identifiers(["001", "134"]) == ["001", "134"]
    with pytest.raises(MeasureDataNotFoundError, match="No CMS measure data"):
        qpp_measures(1999)
