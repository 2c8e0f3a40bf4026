"""Per-TIN clinic stats (the SQS-queued clinic stats job): each member clinic's own rates on every
measure instance, from the ACO patients it contributed to, and its share of the ACO's patients.

A patient seen by two TINs counts for both, so shares across TINs can add up to more than 100%.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import computed_field

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.records import CollectionType, PatientOutcome, Performance


def _rate(met: int, not_met: int) -> float | None:
    return round(100 * met / (met + not_met), 2) if met + not_met else None


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


@dataclass(slots=True)
class ClinicMeasureStats:
    measure_id: str
    collection_type: CollectionType
    inverse: bool
    eligible_population: int = 0
    performance_met: int = 0
    performance_not_met: int = 0
    eligible_population_exclusion: int = 0
    eligible_population_exception: int = 0
    aco_patients: int = 0  # patients of the ACO's instance (all TINs)

    @computed_field  # type: ignore[prop-decorator]  # in the stored JSON (aco_sync.wire)
    @property
    def performance_rate(self) -> float | None:
        return _rate(self.performance_met, self.performance_not_met)

    @computed_field  # type: ignore[prop-decorator]  # in the stored JSON (aco_sync.wire)
    @property
    def data_completeness(self) -> float | None:
        reported = (
            self.performance_met
            + self.performance_not_met
            + self.eligible_population_exclusion
            + self.eligible_population_exception
        )
        return _share(reported, self.eligible_population)

    @computed_field  # type: ignore[prop-decorator]  # in the stored JSON (aco_sync.wire)
    @property
    def share_of_aco_patients(self) -> float | None:
        return _share(self.eligible_population, self.aco_patients)

    def add(self, outcome: Performance) -> None:
        self.eligible_population += 1
        if outcome == Performance.MET:
            self.performance_met += 1
        elif outcome == Performance.NOT_MET:
            self.performance_not_met += 1
        elif outcome == Performance.DENOMINATOR_EXCLUSION:
            self.eligible_population_exclusion += 1
        elif outcome == Performance.DENOMINATOR_EXCEPTION:
            self.eligible_population_exception += 1


@dataclass(slots=True)
class ClinicStats:
    tin: str
    patients: int = 0  # distinct ACO patients (MASTER_PAT_IDs) this TIN contributed
    aco_patients: int = 0  # distinct ACO patients across all measure instances
    measures: list[ClinicMeasureStats] = field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]  # in the stored JSON (aco_sync.wire)
    @property
    def share_of_aco_patients(self) -> float | None:
        return _share(self.patients, self.aco_patients)


def compute_clinic_stats(outcomes: Sequence[PatientOutcome], *, catalog: MeasureCatalog) -> list[ClinicStats]:
    """One ClinicStats per TIN (sorted by TIN), measures sorted by catalog order then collection type."""
    order = {measure_id: index for index, measure_id in enumerate(catalog.ids)}
    instance_patients: dict[tuple[str, CollectionType], set[str]] = defaultdict(set)
    per_tin: dict[str, dict[tuple[str, CollectionType], ClinicMeasureStats]] = defaultdict(dict)
    tin_patients: dict[str, set[str]] = defaultdict(set)
    all_patients: set[str] = set()
    for outcome in outcomes:
        key = (outcome.measure_id, outcome.collection_type)
        instance_patients[key].add(outcome.master_pat_id)
        all_patients.add(outcome.master_pat_id)
        inverse = catalog.get(outcome.measure_id).inverse if outcome.measure_id in catalog else False
        for tin in set(outcome.source_tins):
            tin_patients[tin].add(outcome.master_pat_id)
            stats = per_tin[tin].get(key)
            if stats is None:
                stats = per_tin[tin][key] = ClinicMeasureStats(
                    measure_id=outcome.measure_id, collection_type=outcome.collection_type, inverse=inverse
                )
            stats.add(outcome.outcome)
    result = []
    for tin in sorted(per_tin):
        measures = sorted(
            per_tin[tin].values(),
            key=lambda m: (order.get(m.measure_id, len(order)), m.measure_id, m.collection_type.value),
        )
        for measure in measures:
            measure.aco_patients = len(instance_patients[(measure.measure_id, measure.collection_type)])
        result.append(
            ClinicStats(
                tin=tin, patients=len(tin_patients[tin]), aco_patients=len(all_patients), measures=measures
            )
        )
    return result
