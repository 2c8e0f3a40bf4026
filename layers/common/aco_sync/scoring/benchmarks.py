"""CMS quality benchmarks in the CMSgov/qpp-measures-data format.

A benchmark file is a JSON array of entries keyed by ``measureId`` (``"001"``, ``"001SSP"``),
``performanceYear`` and ``submissionMethod`` (``electronicHealthRecord`` for eCQM, ``registry`` for
CQM and the Medicare CQMs). Two forms exist:

- ``deciles``: nine numbers, the inclusive lower bounds of deciles 2 to 10 (decile 1 starts at 0, or
  at 100 for inverse measures), ordered from worst to best performance;
- ``percentiles`` (2024 onwards): ``{"1": .., "10": .., ..., "90": .., "99": ..}``, the percentiles of
  the performance-rate distribution. The 10th to 90th percentiles are the decile bounds: ascending for
  normal measures; for inverse measures (lower is better) the best decile starts at the 10th percentile,
  so the bounds are the same nine numbers in descending order.

Both forms become :class:`Benchmark` with ``deciles`` ordered worst to best (ascending for normal
measures, descending for inverse ones). The selected files for 2024-2026 are bundled in
``aco_sync/data/benchmarks``; the full upstream ``benchmarks/<year>.json`` files load the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aco_sync.domain.errors import BenchmarksNotFoundError
from aco_sync.domain.qpp_measures import bundled_selection, bundled_selection_years, selection_name
from aco_sync.domain.records import CollectionType

FLAT_DECILES = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)
_PERCENTILE_KEYS = ("10", "20", "30", "40", "50", "60", "70", "80", "90")


def submission_method_for(collection_type: CollectionType) -> str:
    """eCQM -> electronicHealthRecord; CQM and MCQM -> registry (the QPP submission method)."""
    return "electronicHealthRecord" if collection_type == CollectionType.ECQM else "registry"


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One measure's benchmark for one performance year and submission method."""

    measure_id: str  # QPP measure id: "001", "001SSP"
    performance_year: int
    benchmark_year: int | None
    submission_method: str
    deciles: tuple[float, ...]  # lower bounds of deciles 2..10, worst to best
    inverse: bool
    topped_out: bool
    topped_out_by_program: bool  # topped out two years running: points capped at 7
    average_performance_rate: float | None = None
    source_form: str = "deciles"  # "deciles" or "percentiles"

    @property
    def is_flat(self) -> bool:
        """CMS flat percentage benchmark (10%, 20%, ... 90%), e.g. 001 and 236 registry."""
        return tuple(sorted(self.deciles)) == FLAT_DECILES

    @property
    def caps_at_seven(self) -> bool:
        return self.topped_out_by_program

    def lower_bound(self, decile: int) -> float:
        """Lower bound (worst end) of decile 1..10: decile 1 starts at 0 (100 for inverse measures)."""
        if decile == 1:
            return 100.0 if self.inverse else 0.0
        return self.deciles[decile - 2]

    def to_dict(self) -> dict[str, Any]:
        return {
            "measureId": self.measure_id,
            "performanceYear": self.performance_year,
            "benchmarkYear": self.benchmark_year,
            "submissionMethod": self.submission_method,
            "deciles": list(self.deciles),
            "isInverse": self.inverse,
            "isToppedOut": self.topped_out,
            "isToppedOutByProgram": self.topped_out_by_program,
            "isFlat": self.is_flat,
        }


@dataclass(frozen=True, slots=True)
class BenchmarkSet:
    """The benchmarks of one performance year, looked up by QPP measure id and submission method."""

    performance_year: int
    benchmarks: dict[tuple[str, str], Benchmark]
    source: str = ""
    note: str | None = None  # e.g. "No 2027 benchmarks bundled; using 2026"

    def get(self, measure_id: str, submission_method: str) -> Benchmark | None:
        return self.benchmarks.get((measure_id.upper(), submission_method))

    def __iter__(self) -> Iterator[Benchmark]:
        return iter(self.benchmarks.values())

    def __len__(self) -> int:
        return len(self.benchmarks)


def parse_benchmark(entry: dict[str, Any], *, default_inverse: bool = False) -> Benchmark | None:
    """One qpp-measures-data entry -> Benchmark; None when it has neither deciles nor percentiles."""
    inverse = bool(entry.get("isInverse", default_inverse))
    raw: list[float]
    if entry.get("percentiles"):
        percentiles = {str(k): v for k, v in entry["percentiles"].items()}
        if any(percentiles.get(k) is None for k in _PERCENTILE_KEYS):
            return None
        raw = [float(percentiles[k]) for k in _PERCENTILE_KEYS]
        form = "percentiles"
    elif entry.get("deciles"):
        raw = [float(v) for v in entry["deciles"] if v is not None]
        if len(raw) == 10:  # cost / non-proportion measures list decile 1 too
            raw = raw[1:]
        if len(raw) != 9:
            return None
        form = "deciles"
    else:
        return None
    deciles = tuple(sorted(raw, reverse=inverse))
    return Benchmark(
        measure_id=str(entry["measureId"]).upper(),
        performance_year=int(entry["performanceYear"]),
        benchmark_year=int(entry["benchmarkYear"]) if entry.get("benchmarkYear") is not None else None,
        submission_method=str(entry["submissionMethod"]),
        deciles=deciles,
        inverse=inverse,
        topped_out=bool(entry.get("isToppedOut", False)),
        # files before the field existed: a topped-out benchmark is treated as capped
        topped_out_by_program=bool(entry.get("isToppedOutByProgram", entry.get("isToppedOut", False))),
        average_performance_rate=entry.get("averagePerformanceRate"),
        source_form=form,
    )


def benchmark_set_from_entries(
    entries: Iterable[dict[str, Any]], performance_year: int, *, source: str = "", note: str | None = None
) -> BenchmarkSet:
    """Keep the entries of ``performance_year`` (the full upstream files hold one year each)."""
    found: dict[tuple[str, str], Benchmark] = {}
    for entry in entries:
        if int(entry.get("performanceYear", performance_year)) != performance_year:
            continue
        benchmark = parse_benchmark(entry)
        if benchmark is not None:
            found[(benchmark.measure_id, benchmark.submission_method)] = benchmark
    return BenchmarkSet(performance_year=performance_year, benchmarks=found, source=source, note=note)


def bundled_years() -> list[int]:
    return bundled_selection_years("benchmarks")


def nearest_bundled_year(performance_year: int) -> int:
    years = bundled_years()
    if not years:
        raise BenchmarksNotFoundError("No benchmark files are bundled in aco_sync/data/benchmarks")
    # the closest year; on a tie the later one (newer benchmarks)
    return min(years, key=lambda year: (abs(year - performance_year), -year))


def load_benchmarks(performance_year: int, path: Path | None = None) -> BenchmarkSet:
    """The benchmarks of ``performance_year``.

    ``path`` may be a qpp-measures-data file (the bundled selection or the full upstream
    ``benchmarks/<year>.json``); without it the bundled file of that year is used. Raises
    :class:`BenchmarksNotFoundError` when there is no such bundled year (see
    :func:`load_benchmarks_or_nearest`) or the file holds no entry of that year.
    """
    if path is not None:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
        source = str(path)
    else:
        entries = bundled_selection("benchmarks", performance_year)
        if entries is None:
            raise BenchmarksNotFoundError(
                f"No bundled benchmarks for performance year {performance_year} "
                f"(bundled: {', '.join(map(str, bundled_years()))})"
            )
        source = f"aco_sync/{selection_name('benchmarks', performance_year)}"
    if not isinstance(entries, list):
        raise BenchmarksNotFoundError(f"{source} is not a qpp-measures-data benchmark file (a JSON array)")
    benchmark_set = benchmark_set_from_entries(entries, performance_year, source=source)
    if not benchmark_set.benchmarks:
        raise BenchmarksNotFoundError(f"{source} has no benchmarks for performance year {performance_year}")
    return benchmark_set


def load_benchmarks_or_nearest(performance_year: int) -> BenchmarkSet:
    """The bundled benchmarks of the year, else of the nearest bundled year, with a note saying so."""
    try:
        return load_benchmarks(performance_year)
    except BenchmarksNotFoundError:
        year = nearest_bundled_year(performance_year)
        nearest = load_benchmarks(year)
        note = (
            f"No benchmarks are bundled for performance year {performance_year}; "
            f"scored with the {year} benchmarks instead."
        )
        return BenchmarkSet(
            performance_year=nearest.performance_year,
            benchmarks=nearest.benchmarks,
            source=nearest.source,
            note=note,
        )
