"""Statistics per measure instance (PRODUCT.md "Statistics and scoring"), QPP Submissions API vocabulary.

- eligible population: every patient outcome of the instance (including exclusions, exceptions and
  denominator-only patients) plus MCQM denominator-only counts;
- performance rate = 100*met/(met+not_met), None when met+not_met == 0 (inverse measures: lower is
  better; the ``inverse`` flag comes from the catalog);
- data completeness = 100*(met+not_met+excl+excep)/eligible population, None when it is 0;
- patients_by_tin: patients each TIN contributed (a patient seen at two TINs counts for both; a
  denominator-only count counts for its TIN);
- roster coverage (MCQM instances only): share (0-100) of the roster beneficiaries eligible for the
  measure that were matched to exactly one patient of the measure and copied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from aco_sync.domain.measure_rules import DENOMINATOR_ONLY, EXCEPTION, EXCLUSION, MET, NOT_MET
from aco_sync.domain.records import CollectionType, MeasureStats


def build_measure_stats(
    measure_id: str,
    collection_type: CollectionType,
    *,
    outcome_counts: Mapping[int, int] | Counter[int],
    patients_by_tin: Mapping[str, int],
    inverse: bool,
    denominator_only_counts: int = 0,
    roster_coverage: float | None = None,
) -> MeasureStats:
    """Stats from outcome counts keyed by the codes of :mod:`aco_sync.domain.measure_rules`."""
    met = outcome_counts.get(MET, 0)
    not_met = outcome_counts.get(NOT_MET, 0)
    exclusions = outcome_counts.get(EXCLUSION, 0)
    exceptions = outcome_counts.get(EXCEPTION, 0)
    eligible = met + not_met + exclusions + exceptions + outcome_counts.get(DENOMINATOR_ONLY, 0)
    eligible += denominator_only_counts
    return MeasureStats(
        measure_id=measure_id,
        collection_type=collection_type,
        eligible_population=eligible,
        performance_met=met,
        performance_not_met=not_met,
        eligible_population_exclusion=exclusions,
        eligible_population_exception=exceptions,
        performance_rate=performance_rate(met, not_met),
        data_completeness=data_completeness(met, not_met, exclusions, exceptions, eligible),
        inverse=inverse,
        patients_by_tin=dict(sorted(patients_by_tin.items())),
        roster_coverage=roster_coverage,
    )


def performance_rate(met: int, not_met: int) -> float | None:
    return None if met + not_met == 0 else 100.0 * met / (met + not_met)


def data_completeness(
    met: int, not_met: int, exclusions: int, exceptions: int, eligible: int
) -> float | None:
    return None if eligible == 0 else 100.0 * (met + not_met + exclusions + exceptions) / eligible
