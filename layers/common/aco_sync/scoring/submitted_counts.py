"""The counts CMS receives for a measure instance, and what CMS calculates from them.

Scoring uses exactly these values (never the internal aggregate), so the estimate is CMS's score of the
submitted file. Definitions from the QPP Submissions API data model (qpp-submissions-docs ``data.ts``,
"CQM Single-Performance Rate" measurement):

- registry (CQM and Medicare CQM): "eligiblePopulationExclusion should be 0 for all CQM measures as
  excluded populations should already have been subtracted out of the eligible population", so
  ``eligiblePopulation = eligible - exclusions`` and ``eligiblePopulationExclusion = 0``;
- electronicHealthRecord (eCQM): the eCQM populations as the QRDA III reports them (DENOM includes the
  denominator exclusions, DENEX counts them);
- ``caseCount = eligiblePopulation``;
- ``reportingRate`` (data completeness) ``= (performanceMet + eligiblePopulationExclusion +
  eligiblePopulationException + performanceNotMet) / eligiblePopulation * 100``;
- ``performanceRate = performanceMet / (performanceMet + performanceNotMet) * 100``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aco_sync.domain.records import CollectionType, MeasureStats


@dataclass(frozen=True, slots=True)
class SubmittedCounts:
    eligible_population: int
    performance_met: int
    performance_not_met: int
    eligible_population_exclusion: int
    eligible_population_exception: int

    @property
    def case_count(self) -> int:
        return self.eligible_population

    @property
    def reporting_rate(self) -> float | None:
        """Data completeness (0-100); None when the eligible population is 0."""
        if self.eligible_population <= 0:
            return None
        reported = (
            self.performance_met
            + self.eligible_population_exclusion
            + self.eligible_population_exception
            + self.performance_not_met
        )
        return 100 * reported / self.eligible_population

    @property
    def performance_rate(self) -> float | None:
        """0-100; None when no patient is met or not met."""
        denominator = self.performance_met + self.performance_not_met
        return 100 * self.performance_met / denominator if denominator else None

    def value(self, *, end_to_end: bool) -> dict[str, Any]:
        """``measurements[].value`` of the QPP Submissions API (writable fields only)."""
        return {
            "isEndToEndReported": end_to_end,
            "performanceMet": self.performance_met,
            "performanceNotMet": self.performance_not_met,
            "eligiblePopulationExclusion": self.eligible_population_exclusion,
            "eligiblePopulationException": self.eligible_population_exception,
            "eligiblePopulation": self.eligible_population,
        }


def submitted_counts(stats: MeasureStats) -> SubmittedCounts:
    """The five counts of the submission file for one measure instance."""
    if stats.collection_type == CollectionType.ECQM:
        return SubmittedCounts(
            eligible_population=stats.eligible_population,
            performance_met=stats.performance_met,
            performance_not_met=stats.performance_not_met,
            eligible_population_exclusion=stats.eligible_population_exclusion,
            eligible_population_exception=stats.eligible_population_exception,
        )
    return SubmittedCounts(
        eligible_population=max(stats.eligible_population - stats.eligible_population_exclusion, 0),
        performance_met=stats.performance_met,
        performance_not_met=stats.performance_not_met,
        eligible_population_exclusion=0,
        eligible_population_exception=stats.eligible_population_exception,
    )
