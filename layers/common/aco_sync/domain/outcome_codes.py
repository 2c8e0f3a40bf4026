"""The engine's outcome codes: one small integer per ``Performance`` (the hot loop of
``patient_index.py`` ranks records by them), and which numerator rule a measure uses.

The rules themselves (PRODUCT.md "Per-measure aggregation rules") run in ``patient_index.py`` as a rank
encoding; tests/support/rules_oracle.py states them record by record, the reference the engine's tests
compare it with.
"""

from __future__ import annotations

from aco_sync.domain.catalog import AggregationRule
from aco_sync.domain.records import Performance

# Small integer codes used by the engine's hot loop.
DENOMINATOR_ONLY = 0
NOT_MET = 1
MET = 2
EXCEPTION = 3
EXCLUSION = 4

PERFORMANCE_CODE: dict[str, int] = {
    Performance.DENOMINATOR_ONLY.value: DENOMINATOR_ONLY,
    Performance.NOT_MET.value: NOT_MET,
    Performance.MET.value: MET,
    Performance.DENOMINATOR_EXCEPTION.value: EXCEPTION,
    Performance.DENOMINATOR_EXCLUSION.value: EXCLUSION,
}
CODE_PERFORMANCE: tuple[Performance, ...] = (
    Performance.DENOMINATOR_ONLY,
    Performance.NOT_MET,
    Performance.MET,
    Performance.DENOMINATOR_EXCEPTION,
    Performance.DENOMINATOR_EXCLUSION,
)


def uses_any_met_wins(rule: AggregationRule) -> bool:
    return rule is AggregationRule.ANY_MET_WINS
