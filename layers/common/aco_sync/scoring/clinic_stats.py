"""Per-TIN clinic stats (the SQS-queued clinic stats job): each member clinic's own rates on every
measure instance, from the ACO patients it contributed to, and its share of the ACO's patients.

A patient seen by two TINs counts for both, so shares across TINs can add up to more than 100%.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter
from typing import Any

from pydantic import computed_field

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.outcome_columns import OutcomeColumns
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


_OUTCOME_COLUMNS = (Performance.MET, Performance.NOT_MET, Performance.DENOMINATOR_EXCLUSION,
                    Performance.DENOMINATOR_EXCEPTION)  # fmt: skip


@dataclass
class ClinicCounts:
    """The sums behind the clinic stats, which partitions of the patients add up (disjoint patients):
    per TIN and measure instance the eligible population and its met / not met / exclusion / exception
    counts, the patients of each instance, the distinct patients of each TIN and of the ACO."""

    by_tin: dict[str, dict[tuple[str, CollectionType], list[int]]] = field(default_factory=dict)
    instance_patients: Counter[tuple[str, CollectionType]] = field(default_factory=Counter)
    tin_patients: Counter[str] = field(default_factory=Counter)
    patients: int = 0

    def add(self, other: ClinicCounts) -> None:
        for tin, instances in other.by_tin.items():
            mine = self.by_tin.setdefault(tin, {})
            for key, counts in instances.items():
                mine[key] = [a + b for a, b in zip(mine.get(key, [0] * 5), counts, strict=True)]
        self.instance_patients.update(other.instance_patients)
        self.tin_patients.update(other.tin_patients)
        self.patients += other.patients

    def to_dict(self) -> dict[str, Any]:
        return {
            "by_tin": {
                tin: [[m, t.value, *c] for (m, t), c in instances.items()]
                for tin, instances in self.by_tin.items()
            },
            "instance_patients": [[m, t.value, n] for (m, t), n in self.instance_patients.items()],
            "tin_patients": dict(self.tin_patients),
            "patients": self.patients,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClinicCounts:
        return cls(
            by_tin={
                tin: {(str(r[0]), CollectionType(r[1])): [int(n) for n in r[2:]] for r in rows}
                for tin, rows in data["by_tin"].items()
            },
            instance_patients=Counter(
                {(str(m), CollectionType(t)): int(n) for m, t, n in data["instance_patients"]}
            ),
            tin_patients=Counter({str(t): int(n) for t, n in data["tin_patients"].items()}),
            patients=int(data["patients"]),
        )


PatientSets = tuple[set[str], dict[str, set[str]]]  # the distinct patients, and those of each TIN


def patient_sets(outcomes: Sequence[PatientOutcome] | OutcomeColumns) -> PatientSets:
    columns = _columns(outcomes)
    by_tin: dict[str, set[str]] = defaultdict(set)
    for tins, master_id in zip(columns.source_tins, columns.master_pat_id, strict=True):
        for tin in tins:
            by_tin[tin].add(master_id)
    return set(columns.master_pat_id), dict(by_tin)


def _columns(outcomes: Sequence[PatientOutcome] | OutcomeColumns) -> OutcomeColumns:
    return outcomes if isinstance(outcomes, OutcomeColumns) else OutcomeColumns.from_outcomes(outcomes)


_INSTANCE_TYPES = {t.value: t for t in CollectionType}


def clinic_counts(
    outcomes: Sequence[PatientOutcome] | OutcomeColumns, *, also: PatientSets | None = None
) -> ClinicCounts:
    """The :class:`ClinicCounts` of ``outcomes``; the distinct patients also count those of ``also`` (the
    same patients' other outcomes, counted once). Counted column-wise: one count per (TIN, instance,
    outcome), then added into the cells."""
    columns = _columns(outcomes)
    counts = ClinicCounts()
    instances = list(zip(columns.measure_id, columns.collection_type, strict=True))
    for (measure_id, instance), patients in Counter(instances).items():  # one outcome per patient
        counts.instance_patients[(measure_id, _INSTANCE_TYPES[instance])] = patients
    one_tin = list(map((1).__eq__, map(len, columns.source_tins)))
    cells = Counter(  # the outcomes of one TIN (most): counted at C level
        zip(
            map(itemgetter(0), compress(columns.source_tins, one_tin)),
            compress(instances, one_tin),
            compress(columns.outcome, one_tin),
            strict=True,
        )
    )
    cells.update(
        (tin, instance, outcome)
        for tins, instance, outcome, one in zip(
            columns.source_tins, instances, columns.outcome, one_tin, strict=True
        )
        if not one
        for tin in set(tins)
    )
    column = {performance.value: index for index, performance in enumerate(_OUTCOME_COLUMNS, start=1)}
    for (tin, (measure_id, instance), outcome), count in cells.items():
        key = (measure_id, _INSTANCE_TYPES[instance])
        mine = counts.by_tin.setdefault(tin, {}).setdefault(key, [0] * 5)
        mine[0] += count
        where = column.get(outcome)
        if where is not None:
            mine[where] += count
    everyone, by_tin = patient_sets(columns)
    if also is not None:
        everyone = everyone | also[0]
        by_tin = {tin: by_tin.get(tin, set()) | also[1].get(tin, set()) for tin in {*by_tin, *also[1]}}
    counts.patients = len(everyone)
    counts.tin_patients = Counter({tin: len(ids) for tin, ids in by_tin.items()})
    return counts


def clinic_stats_of(counts: ClinicCounts, *, catalog: MeasureCatalog) -> list[ClinicStats]:
    """One ClinicStats per TIN (sorted by TIN), measures sorted by catalog order then collection type."""
    order = {measure_id: index for index, measure_id in enumerate(catalog.ids)}
    result = []
    for tin in sorted(counts.by_tin):
        measures = []
        for (measure_id, collection_type), cells in counts.by_tin[tin].items():
            inverse = catalog.get(measure_id).inverse if measure_id in catalog else False
            measures.append(
                ClinicMeasureStats(
                    measure_id=measure_id,
                    collection_type=collection_type,
                    inverse=inverse,
                    eligible_population=cells[0],
                    performance_met=cells[1],
                    performance_not_met=cells[2],
                    eligible_population_exclusion=cells[3],
                    eligible_population_exception=cells[4],
                    aco_patients=counts.instance_patients[(measure_id, collection_type)],
                )
            )
        measures.sort(
            key=lambda m: (order.get(m.measure_id, len(order)), m.measure_id, m.collection_type.value)
        )
        result.append(
            ClinicStats(
                tin=tin, patients=counts.tin_patients[tin], aco_patients=counts.patients, measures=measures
            )
        )
    return result


def compute_clinic_stats(outcomes: Sequence[PatientOutcome], *, catalog: MeasureCatalog) -> list[ClinicStats]:
    """One ClinicStats per TIN (sorted by TIN), measures sorted by catalog order then collection type."""
    return clinic_stats_of(clinic_counts(outcomes), catalog=catalog)
