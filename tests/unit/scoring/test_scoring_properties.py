"""Properties of decile points over every bundled benchmark (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aco_sync.scoring.benchmarks import Benchmark, load_benchmarks
from aco_sync.scoring.points import decile_for_rate, points_for_rate

BENCHMARKS = [b for year in (2024, 2025, 2026) for b in load_benchmarks(year) if max(b.deciles) <= 100]
rates = st.floats(min_value=0, max_value=100, allow_nan=False)


@pytest.mark.parametrize(
    "benchmark", BENCHMARKS, ids=lambda b: f"{b.performance_year}-{b.measure_id}-{b.submission_method}"
)
@given(low=rates, high=rates)
def test_points_are_monotonic_bounded_and_match_the_decile(
    benchmark: Benchmark, low: float, high: float
) -> None:
    low, high = sorted((low, high))
    worse, better = (high, low) if benchmark.inverse else (low, high)
    decile_worse, points_worse, _, _ = points_for_rate(worse, benchmark)
    decile_better, points_better, _, _ = points_for_rate(better, benchmark)
    assert decile_worse <= decile_better
    assert points_worse <= points_better
    for decile, points in ((decile_worse, points_worse), (decile_better, points_better)):
        cap = 7.0 if benchmark.caps_at_seven else 10.0
        assert 1.0 <= points <= cap
        assert min(decile, cap) <= points <= min(decile + 1, cap)
    assert decile_for_rate(worse, benchmark) == decile_worse
