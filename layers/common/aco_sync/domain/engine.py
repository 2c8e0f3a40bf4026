"""The aggregation engine: de-duplication, per-measure rules, collection types, roster matching, stats.

Pure Python, no AWS. The workflow calls, in order:

- :func:`plan_measures` (initial sync): which instances each measure gets, halts, removals;
- :func:`diff_encounters` (cleanup, incremental syncs) and :func:`diff_providers` (initial sync);
- :func:`aggregate_members` (finalize): de-duplicate, then every non-MCQM instance (eCQM, or CQM with
  QRDA-I performances synced into it), plus the probable-duplicates report;
- :func:`aggregate_mcqm` (MCQM sync): roster matching of every de-duplicated patient and the MCQM
  instances, with MCQM denominator-only counts in the eligible population.

Every step is a hash join or a single pass over the records: cost grows linearly with the input.
Records are read as columns (:class:`aco_sync.domain.record_codec.RecordBatch`); a plain iterable of
PerformanceRecords is converted in one pass.
"""

from __future__ import annotations

import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

from aco_sync.domain.bulk import gc_paused
from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.collection_types import (
    MeasureDecision,
    MeasurePlan,
    plan_measures,
    plan_submissions,
)
from aco_sync.domain.dedup import (
    ProbableDuplicate,
    PseudonymKey,
    find_probable_duplicates,
    master_patient_id,
)
from aco_sync.domain.encounters import EncounterDiff, diff_encounters, record_content_hash
from aco_sync.domain.outcome_codes import CODE_PERFORMANCE, uses_any_met_wins
from aco_sync.domain.outcome_columns import OutcomeColumns
from aco_sync.domain.patient_index import InstanceSpec, PatientIndex, Resolution
from aco_sync.domain.providers import ProviderDiff, diff_providers
from aco_sync.domain.record_codec import RecordBatch
from aco_sync.domain.records import (
    CollectionType,
    DenominatorCount,
    MeasureStats,
    PatientOutcome,
    PerformanceRecord,
    RosterEntry,
    SyncLogEntry,
)
from aco_sync.domain.roster_matching import NO_ROW, SEVERAL_ROWS, RosterIndex
from aco_sync.domain.settings import AcoSettings
from aco_sync.domain.stats import build_measure_stats
from aco_sync.domain.sync_log import ambiguous_roster_skip_message

__all__ = [
    "AggregationResult",
    "EncounterDiff",
    "McqmPartial",
    "MeasureDecision",
    "MeasurePlan",
    "MembersPartial",
    "ProbableDuplicate",
    "ProviderDiff",
    "PseudonymKey",
    "aggregate_mcqm",
    "aggregate_members",
    "combine_mcqm",
    "combine_members",
    "diff_encounters",
    "diff_providers",
    "master_patient_id",
    "plan_measures",
    "plan_submissions",
    "record_content_hash",
]


PROBABLE_DUPLICATES_LOGGED = 500  # pairs listed one per line in the sync log; all are in the result
_DUPLICATE_REASONS = {
    "one_edit_first_name": "first names one letter apart",
    "one_edit_last_name": "last names one letter apart",
    "nickname": "nickname",
    "initial": "initial",
    "swapped_day_month": "day and month of birth swapped",
}


def _int_keys(counts: Mapping[str, Mapping[str, int]]) -> dict[str, dict[int, int]]:
    return {m: {int(code): int(n) for code, n in c.items()} for m, c in counts.items()}


@dataclass
class MembersPartial:
    """What one partition of the finalize step adds up (a reduce step sums the partitions)."""

    records: int = 0
    patients: int = 0
    codes: dict[str, dict[int, int]] = field(default_factory=dict)  # measure -> outcome code -> patients
    tins: dict[str, dict[str, int]] = field(default_factory=dict)  # measure -> TIN -> patients
    dropped: dict[str, int] = field(default_factory=dict)  # measure -> records not aggregated
    records_by_tin: dict[str, int] = field(default_factory=dict)
    probable_duplicates: list[ProbableDuplicate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "patients": self.patients,
            "codes": self.codes,
            "tins": self.tins,
            "dropped": self.dropped,
            "records_by_tin": self.records_by_tin,
            "probable_duplicates": [d.to_dict() for d in self.probable_duplicates],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MembersPartial:
        return cls(
            records=int(data["records"]),
            patients=int(data["patients"]),
            codes=_int_keys(data["codes"]),
            tins={m: dict(c) for m, c in data["tins"].items()},
            dropped=dict(data["dropped"]),
            records_by_tin=dict(data["records_by_tin"]),
            probable_duplicates=[
                ProbableDuplicate(d["master_pat_id_a"], d["master_pat_id_b"], d["reason"])
                for d in data["probable_duplicates"]
            ],
        )


@dataclass
class McqmPartial:
    """What one partition of the MCQM step adds up (a reduce step sums the partitions)."""

    records: int = 0
    patients: int = 0
    roster_rows: int = 0
    roster_ambiguous_keys: int = 0
    codes: dict[str, dict[int, int]] = field(default_factory=dict)  # the copied patients' outcome codes
    tins: dict[str, dict[str, int]] = field(default_factory=dict)
    tally: dict[str, dict[str, int]] = field(default_factory=dict)  # measure -> copied, no_match, ...
    covered: dict[str, int] = field(default_factory=dict)  # roster rows matched per measure
    eligible_roster: dict[str, int] = field(default_factory=dict)  # roster rows eligible per measure
    skips: list[tuple[str, str]] = field(default_factory=list)  # (measure, MASTER_PAT_ID), ambiguous
    resolved: list[tuple[str, str, int]] = field(default_factory=list)  # resolved by MBI
    denominators: dict[str, dict[str, int]] = field(default_factory=dict)  # measure -> TIN -> count
    ignored_counts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "patients": self.patients,
            "roster_rows": self.roster_rows,
            "roster_ambiguous_keys": self.roster_ambiguous_keys,
            "codes": self.codes,
            "tins": self.tins,
            "tally": self.tally,
            "covered": self.covered,
            "eligible_roster": self.eligible_roster,
            "skips": [list(e) for e in self.skips],
            "resolved": [list(e) for e in self.resolved],
            "denominators": self.denominators,
            "ignored_counts": self.ignored_counts,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> McqmPartial:
        return cls(
            records=int(data["records"]),
            patients=int(data["patients"]),
            roster_rows=int(data["roster_rows"]),
            roster_ambiguous_keys=int(data["roster_ambiguous_keys"]),
            codes=_int_keys(data["codes"]),
            tins={m: dict(c) for m, c in data["tins"].items()},
            tally={m: dict(t) for m, t in data["tally"].items()},
            covered=dict(data["covered"]),
            eligible_roster=dict(data["eligible_roster"]),
            skips=[(str(m), str(i)) for m, i in data["skips"]],
            resolved=[(str(m), str(i), int(c)) for m, i, c in data["resolved"]],
            denominators={m: dict(c) for m, c in data["denominators"].items()},
            ignored_counts=int(data["ignored_counts"]),
        )


class AggregationResult:
    """The outcome of one engine step. ``outcomes`` (with their audit trail) are built on first access,
    as columns (``outcome_columns``) and objects only when asked: the stats and the summary do not
    need them."""

    def __init__(
        self,
        *,
        stats: list[MeasureStats],
        log: list[SyncLogEntry],
        counts: dict[str, int],
        probable_duplicates: list[ProbableDuplicate] | None = None,
        resolution: Resolution | None = None,
        positions: list[int] | None = None,
        instance_of: Mapping[str, CollectionType] | None = None,
        partial: MembersPartial | McqmPartial | None = None,
    ) -> None:
        self.partial = partial  # this step's sums, for a reduce over partitions
        self.stats = stats
        self.log = log
        self.counts = counts
        self.probable_duplicates = probable_duplicates or []
        self._resolution = resolution
        self._positions = positions  # positions of the resolution's groups in this result (None: all)
        self._instance_of = dict(instance_of or {})
        self._outcomes: list[PatientOutcome] | None = None
        self._outcome_columns: OutcomeColumns | None = None

    @property
    def outcome_count(self) -> int:
        if self._resolution is None:
            return 0
        return len(self._resolution.groups) if self._positions is None else len(self._positions)

    @property
    def outcomes(self) -> list[PatientOutcome]:
        """One PatientOutcome per MASTER_PAT_ID and measure instance, sorted by measure, instance, id."""
        if self._outcomes is None:
            with gc_paused():
                self._outcomes = self.outcome_columns.to_outcomes()
        return self._outcomes

    @property
    def outcome_columns(self) -> OutcomeColumns:
        """:attr:`outcomes` as columns, built without an object per outcome (what a partition writes)."""
        if self._outcome_columns is None:
            with gc_paused():
                self._outcome_columns = self._build_outcome_columns()
        return self._outcome_columns

    def _build_outcome_columns(self) -> OutcomeColumns:
        resolution = self._resolution
        if resolution is None:
            return OutcomeColumns.empty()
        positions = list(range(len(resolution.groups)) if self._positions is None else self._positions)
        index = resolution.index
        groups = list(map(resolution.groups.__getitem__, positions))
        measure_ids = list(map(index.measure_table.__getitem__, resolution.measure_indices(groups)))
        patients = list(map(resolution.width.__rfloordiv__, groups))
        master_ids = index.master_ids_of(patients)
        order = _outcome_order(measure_ids, patients, master_ids)
        ordered_positions = list(map(positions.__getitem__, order))
        ordered_measures = list(map(measure_ids.__getitem__, order))
        ordered_patients = map(patients.__getitem__, order)
        source_tins, source_keys = resolution.provenance_columns(list(map(groups.__getitem__, order)))
        instances = {m: t.value for m, t in self._instance_of.items()}
        performances = [p.value for p in CODE_PERFORMANCE]
        return OutcomeColumns(
            master_pat_id=list(map(master_ids.__getitem__, order)),
            measure_id=ordered_measures,
            collection_type=list(map(instances.__getitem__, ordered_measures)),
            outcome=list(map(performances.__getitem__, map(resolution.codes.__getitem__, ordered_positions))),
            performance_date=list(map(resolution.days.__getitem__, ordered_positions)),
            source_tins=source_tins,
            source_keys=source_keys,
            # The gender is the last part of the patient's de-duplication key.
            gender=list(map(itemgetter(3), map(index.keys.__getitem__, ordered_patients))),
        )

    def stats_for(self, measure_id: str, collection_type: CollectionType) -> MeasureStats | None:
        for stats in self.stats:
            if stats.measure_id == measure_id and stats.collection_type is collection_type:
                return stats
        return None


def _outcome_order(measure_ids: list[str], patients: list[int], master_ids: list[str]) -> list[int]:
    """Positions of the outcomes sorted by (measure, instance, MASTER_PAT_ID), a measure having one
    instance in a step: one sort of the distinct patients' ids, then of one integer per outcome. Two
    patients with the same id (a 64-bit MAC collision) take the two stable sorts of the strings."""
    measure_rank = {m: r for r, m in enumerate(sorted(set(measure_ids)))}
    distinct = list(dict.fromkeys(patients))
    id_of = dict(zip(patients, master_ids, strict=True))
    by_id = sorted(distinct, key=id_of.__getitem__)
    if len(set(id_of.values())) < len(distinct):
        order = sorted(range(len(patients)), key=master_ids.__getitem__)
        order.sort(key=list(map(measure_rank.__getitem__, measure_ids)).__getitem__)
        return order
    rank = dict(zip(by_id, range(len(by_id)), strict=True))
    width = len(by_id)
    keys = list(
        map(
            int.__add__,
            map(width.__mul__, map(measure_rank.__getitem__, measure_ids)),
            map(rank.__getitem__, patients),
        )
    )
    return sorted(range(len(keys)), key=keys.__getitem__)


def _patient_index(records: Iterable[PerformanceRecord], pseudonym_key: PseudonymKey) -> PatientIndex:
    """The patient index of a batch, built once per batch and key while it is in use (both engine steps
    can share it). The batch keeps only a weak reference to it: the index refers to its batch, and a
    strong one back would make a cycle that keeps the step's records in memory until a full collection
    of the garbage collector, instead of freeing them when the step's result is dropped."""
    batch = RecordBatch.from_records(records)
    cache_key = f"patient_index#{pseudonym_key.fingerprint}"
    cached = batch.cache.get(cache_key)
    index = cached() if isinstance(cached, weakref.ref) else None
    if not isinstance(index, PatientIndex):
        index = PatientIndex(batch, pseudonym_key)
        batch.cache[cache_key] = weakref.ref(index)
    return index


def _spec(decision: MeasureDecision, instance: CollectionType, catalog: MeasureCatalog) -> InstanceSpec:
    return InstanceSpec(
        accepted_types=frozenset(t.value for t in CollectionType if decision.accepts(instance, t)),
        any_met_wins=uses_any_met_wins(catalog.get(decision.measure_id).rule),
    )


def _build_stats(
    instance_counts: Mapping[str, Counter[int]],
    tins_by_measure: Mapping[str, Counter[str]],
    catalog: MeasureCatalog,
    instances: Iterable[tuple[str, CollectionType]],
    *,
    denominator_counts: Mapping[str, Counter[str]] | None = None,
    coverage: Mapping[str, float | None] | None = None,
) -> list[MeasureStats]:
    stats = []
    for measure_id, instance in instances:
        counts_by_tin = (denominator_counts or {}).get(measure_id, Counter())
        patients_by_tin = tins_by_measure.get(measure_id, Counter()) + counts_by_tin
        stats.append(
            build_measure_stats(
                measure_id,
                instance,
                outcome_counts=instance_counts.get(measure_id, Counter()),
                patients_by_tin=patients_by_tin,
                inverse=catalog.get(measure_id).inverse,
                denominator_only_counts=sum(counts_by_tin.values()),
                roster_coverage=(coverage or {}).get(measure_id),
            )
        )
    return stats


def aggregate_members(
    records: Iterable[PerformanceRecord],
    plan: MeasurePlan,
    *,
    catalog: MeasureCatalog,
    pseudonym_key: PseudonymKey,
    report_probable_duplicates: bool = True,
    not_the_same: frozenset[tuple[str, str]] = frozenset(),
) -> AggregationResult:
    """Finalize step: de-duplicate, then resolve every non-MCQM instance of the plan (eCQM, or CQM with
    QRDA-I performances synced into it). Records of halted or unplanned measures are counted and
    logged, never silently dropped. MCQM instances are left to :func:`aggregate_mcqm`. The MASTER_PAT_IDs
    are keyed with ``pseudonym_key`` (the deployment's key; see :mod:`aco_sync.domain.dedup`).
    ``not_the_same``: (smaller id, larger id) pairs a reviewer decided are two people; not reported."""
    with gc_paused():
        return _aggregate_members(
            records, plan, catalog, pseudonym_key, report_probable_duplicates, not_the_same
        )


def _aggregate_members(
    records: Iterable[PerformanceRecord],
    plan: MeasurePlan,
    catalog: MeasureCatalog,
    pseudonym_key: PseudonymKey,
    report_probable_duplicates: bool,
    not_the_same: frozenset[tuple[str, str]] = frozenset(),
) -> AggregationResult:
    """:func:`aggregate_members` with the garbage collector paused."""
    index = _patient_index(records, pseudonym_key)
    specs: dict[str, InstanceSpec] = {}
    instance_of: dict[str, CollectionType] = {}
    for measure_id, decision in plan.measures.items():
        instance = decision.aggregate_instance
        if instance is not None and not decision.halted:
            specs[measure_id] = _spec(decision, instance, catalog)
            instance_of[measure_id] = instance
    resolution = index.resolve(specs)
    duplicates = (
        find_probable_duplicates(index.keys, pseudonym_key=pseudonym_key)
        if report_probable_duplicates
        else []
    )
    partial = MembersPartial(
        records=index.length,
        patients=index.patients,
        codes={m: dict(c) for m, c in resolution.code_counts().items()},
        tins={m: dict(c) for m, c in resolution.tins_by_measure().items()},
        dropped=dict(resolution.dropped),
        records_by_tin=dict(index.records_by_tin()),
        probable_duplicates=[
            d for d in duplicates if (d.master_pat_id_a, d.master_pat_id_b) not in not_the_same
        ],
    )
    combined = combine_members([partial], plan, catalog=catalog)
    return AggregationResult(
        stats=combined.stats,
        log=combined.log,
        counts=combined.counts,
        probable_duplicates=combined.probable_duplicates,
        resolution=resolution,
        instance_of=instance_of,
        partial=partial,
    )


def combine_members(
    partials: Sequence[MembersPartial], plan: MeasurePlan, *, catalog: MeasureCatalog
) -> AggregationResult:
    """The stats, log and counts of the finalize step from the sums of its partitions (one partition:
    the whole ACO). Rates, completeness and every log line are computed here, from the sums."""
    codes: dict[str, Counter[int]] = defaultdict(Counter)
    tins: dict[str, Counter[str]] = defaultdict(Counter)
    dropped: Counter[str] = Counter()
    records_by_tin: Counter[str] = Counter()
    duplicates: list[ProbableDuplicate] = []
    for partial in partials:
        for measure_id, counts_by_code in partial.codes.items():
            codes[measure_id].update(counts_by_code)
        for measure_id, counts_by_tin in partial.tins.items():
            tins[measure_id].update(counts_by_tin)
        dropped.update(partial.dropped)
        records_by_tin.update(partial.records_by_tin)
        duplicates.extend(partial.probable_duplicates)
    duplicates.sort(key=lambda d: (d.master_pat_id_a, d.master_pat_id_b, d.reason))

    log: list[SyncLogEntry] = []
    not_aggregated = 0
    mcqm_only = 0
    for measure_id in sorted(dropped):
        count = dropped[measure_id]
        decision_or_none = plan.measures.get(measure_id)
        if (
            decision_or_none is not None
            and not decision_or_none.halted
            and decision_or_none.has_mcqm
            and (decision_or_none.aggregate_instance is None)
        ):
            mcqm_only += count  # aggregated by the MCQM step
            continue
        not_aggregated += count
        if decision_or_none is None:
            why = "the measure is not in the plan"
        elif decision_or_none.halted:
            why = "the measure is halted"
        else:
            why = f"their collection type does not feed the {decision_or_none.aggregate_instance} instance"
        log.append(
            SyncLogEntry(
                kind="skip",
                level="warning",
                measure_id=measure_id,
                message=f"{count} records of measure {measure_id} were not aggregated: {why}",
            )
        )
    for tin, tin_records in sorted(records_by_tin.items()):
        log.append(
            SyncLogEntry(kind="tin_counts", tin=tin, message=f"TIN {tin}: records read: {tin_records}")
        )
    instances = [(m, t) for m, t in plan.instances() if t is not CollectionType.MCQM]
    stats = _build_stats(codes, tins, catalog, instances)
    for item in stats:
        log.append(
            SyncLogEntry(
                kind="aggregation",
                measure_id=item.measure_id,
                message=f"Measure {item.measure_id} {item.collection_type.value}: {item.eligible_population} "
                f"patients in the eligible population from {len(item.patients_by_tin)} "
                f"TIN{'' if len(item.patients_by_tin) == 1 else 's'}",
            )
        )
    if duplicates:
        log.append(
            SyncLogEntry(
                kind="probable_duplicates",
                level="warning",
                message=f"{len(duplicates)} pairs of patients look like the same person (typo, nickname, "
                f"initial or swapped day/month); they were not merged: review probable-duplicates.csv "
                "in the sync's results",
            )
        )
        for pair in duplicates[:PROBABLE_DUPLICATES_LOGGED]:
            log.append(
                SyncLogEntry(
                    kind="probable_duplicates",
                    message=f"Patients {pair.master_pat_id_a} and {pair.master_pat_id_b} may be the same "
                    f"person ({_DUPLICATE_REASONS.get(pair.reason, pair.reason)}); not merged",
                )
            )
        if len(duplicates) > PROBABLE_DUPLICATES_LOGGED:
            log.append(
                SyncLogEntry(
                    kind="probable_duplicates",
                    message=f"{len(duplicates) - PROBABLE_DUPLICATES_LOGGED} more pairs are in "
                    "probable-duplicates.csv",
                )
            )
    counts = {
        "records": sum(p.records for p in partials),
        "patients": sum(p.patients for p in partials),
        "records_not_aggregated": not_aggregated,
        "records_for_mcqm_only": mcqm_only,
    }
    return AggregationResult(stats=stats, log=log, counts=counts, probable_duplicates=duplicates)


def _measure_aliases(catalog: MeasureCatalog, measure_id: str) -> frozenset[str]:
    definition = catalog.get(measure_id)
    return frozenset(
        {
            definition.id,
            definition.quality_id,
            definition.mcqm_quality_id,
            definition.ecqm_id,
            f"M{definition.quality_id}",
        }
    )


@gc_paused()
def aggregate_mcqm(
    records: Iterable[PerformanceRecord],
    denominator_counts: Iterable[DenominatorCount],
    plan: MeasurePlan,
    roster: Sequence[RosterEntry],
    *,
    settings: AcoSettings,
    catalog: MeasureCatalog,
    pseudonym_key: PseudonymKey,
) -> AggregationResult:
    """MCQM step: match every de-duplicated patient of each MCQM measure (CQM, MCQM and eCQM data, except
    eCQM data of measures that cannot convert, i.e. M112) with the roster; exactly one match copies the
    patient into the MCQM instance, none does nothing, several skip the patient with PRODUCT.md's exact
    log line (or, with ``roster_mbi_tiebreak``, let a unique MBI decide). Denominator-only counts add
    to the eligible population of the measure's MCQM instance. Runs with the garbage collector paused."""
    index = _patient_index(records, pseudonym_key)
    roster_index = RosterIndex(roster)
    specs: dict[str, InstanceSpec] = {}
    aliases: dict[str, frozenset[str]] = {}
    for measure_id, decision in plan.measures.items():
        if decision.has_mcqm and not decision.halted:
            specs[measure_id] = _spec(decision, CollectionType.MCQM, catalog)
            aliases[measure_id] = _measure_aliases(catalog, measure_id)
    resolution = index.resolve(specs)

    tally: dict[str, Counter[str]] = {m: Counter() for m in specs}
    measures = index.measure_table
    groups = resolution.groups
    measure_of_group = resolution.measure_indices()
    # One hash join: the roster row of every patient of the instance (NO_ROW, SEVERAL_ROWS or the row).
    roster_rows = list(map(roster_index.lookup.get, index.keys, repeat(NO_ROW)))
    rows = list(map(roster_rows.__getitem__, map(resolution.width.__rfloordiv__, groups)))
    for measure, count in Counter(compress(measure_of_group, map(NO_ROW.__eq__, rows))).items():
        tally[measures[measure]]["no_match"] = count
    selected_positions = list(compress(range(len(rows)), map((0).__le__, rows)))

    skip_entries: list[tuple[str, str]] = []
    resolved_entries: list[tuple[str, str, int]] = []
    for position in compress(range(len(rows)), map(SEVERAL_ROWS.__eq__, rows)):
        patient = resolution.patient_of(groups[position])
        measure_id = measures[measure_of_group[position]]
        match = None
        if settings.roster_mbi_tiebreak:
            match = roster_index.match(index.keys[patient], index.mbis_of(patient), mbi_tiebreak=True)
        if match is None or match.roster_index is None:
            tally[measure_id]["skipped"] += 1
            skip_entries.append((measure_id, index.master_id(patient)))
            continue
        rows[position] = match.roster_index
        selected_positions.append(position)
        tally[measure_id]["resolved_by_mbi"] += 1
        resolved_entries.append((measure_id, index.master_id(patient), match.candidates))
    if roster_index.has_measure_flags:
        eligible = []
        for position in selected_positions:
            measure_id = measures[measure_of_group[position]]
            if roster_index.eligible_for(rows[position], aliases[measure_id]):
                eligible.append(position)
            else:
                tally[measure_id]["not_eligible"] += 1
        selected_positions = eligible
    selected_positions.sort()

    instance_counts = resolution.code_counts(selected_positions)
    for measure_id, counts_by_code in instance_counts.items():
        tally[measure_id]["copied"] = sum(counts_by_code.values())
    matched_pairs = set(
        zip(
            map(measure_of_group.__getitem__, selected_positions),
            map(rows.__getitem__, selected_positions),
            strict=True,
        )
    )
    covered: Counter[str] = Counter()
    for measure, count in Counter(map(itemgetter(0), matched_pairs)).items():
        covered[measures[measure]] = count
    selected = set(map(groups.__getitem__, selected_positions))
    for measure_id, count in resolution.dropped.items():
        if measure_id in tally:
            tally[measure_id]["not_convertible"] += count

    counts_by_measure: dict[str, Counter[str]] = defaultdict(Counter)
    ignored_counts = 0
    for denominator_count in denominator_counts:
        if denominator_count.measure_id in specs:
            counts_by_measure[denominator_count.measure_id][denominator_count.tin] += denominator_count.count
        else:
            ignored_counts += denominator_count.count

    partial = McqmPartial(
        records=index.length,
        patients=index.patients,
        roster_rows=len(roster_index),
        roster_ambiguous_keys=roster_index.ambiguous_keys,
        codes={m: dict(c) for m, c in instance_counts.items()},
        tins={m: dict(c) for m, c in resolution.tins_by_measure(selected).items()},
        tally={m: dict(t) for m, t in tally.items()},
        covered=dict(covered),
        eligible_roster={m: roster_index.eligible_count(a) for m, a in aliases.items()},
        skips=sorted(skip_entries),
        resolved=sorted(resolved_entries),
        denominators={m: dict(c) for m, c in counts_by_measure.items()},
        ignored_counts=ignored_counts,
    )
    combined = combine_mcqm([partial], plan, catalog=catalog)
    stats, log, counts = combined.stats, combined.log, combined.counts
    return AggregationResult(
        stats=stats,
        log=log,
        counts=counts,
        resolution=resolution,
        positions=selected_positions,
        instance_of=dict.fromkeys(specs, CollectionType.MCQM),
        partial=partial,
    )


def mcqm_measures(plan: MeasurePlan) -> list[str]:
    """The measures of the plan that get an MCQM instance, sorted."""
    return sorted(m for m, d in plan.measures.items() if d.has_mcqm and not d.halted)


def combine_mcqm(
    partials: Sequence[McqmPartial], plan: MeasurePlan, *, catalog: MeasureCatalog
) -> AggregationResult:
    """The MCQM step's stats, log and counts from the sums of its partitions (one: the whole ACO);
    roster coverage is recomputed from the summed matched and eligible roster rows."""
    measure_ids = mcqm_measures(plan)
    codes: dict[str, Counter[int]] = defaultdict(Counter)
    tins: dict[str, Counter[str]] = defaultdict(Counter)
    tally: dict[str, Counter[str]] = {m: Counter() for m in measure_ids}
    covered: Counter[str] = Counter()
    eligible_roster: Counter[str] = Counter()
    counts_by_measure: dict[str, Counter[str]] = defaultdict(Counter)
    skip_entries: list[tuple[str, str]] = []
    resolved_entries: list[tuple[str, str, int]] = []
    ignored_counts = 0
    for partial in partials:
        for measure_id, counts_by_code in partial.codes.items():
            codes[measure_id].update(counts_by_code)
        for measure_id, counts_by_tin in partial.tins.items():
            tins[measure_id].update(counts_by_tin)
        for measure_id, counts in partial.tally.items():
            tally.setdefault(measure_id, Counter()).update(counts)
        covered.update(partial.covered)
        eligible_roster.update(partial.eligible_roster)
        for measure_id, counts_by_tin in partial.denominators.items():
            counts_by_measure[measure_id].update(counts_by_tin)
        skip_entries.extend(partial.skips)
        resolved_entries.extend(partial.resolved)
        ignored_counts += partial.ignored_counts

    log: list[SyncLogEntry] = []
    for measure_id, master_id in sorted(skip_entries):
        log.append(
            SyncLogEntry(
                kind="skip",
                level="warning",
                measure_id=measure_id,
                message=ambiguous_roster_skip_message(master_id),
            )
        )
    for measure_id, master_id, candidates in sorted(resolved_entries):
        log.append(
            SyncLogEntry(
                kind="roster_match",
                measure_id=measure_id,
                message=f"Patient {master_id} matched {candidates} roster rows; resolved by MBI",
            )
        )
    coverage: dict[str, float | None] = {
        m: 100.0 * covered[m] / eligible_roster[m] if eligible_roster[m] else None for m in measure_ids
    }
    instances = [(m, CollectionType.MCQM) for m in measure_ids]
    stats = _build_stats(
        codes, tins, catalog, instances, denominator_counts=counts_by_measure, coverage=coverage
    )
    for measure_id in measure_ids:
        t = tally[measure_id]
        denominators = sum(counts_by_measure[measure_id].values())
        log.append(
            SyncLogEntry(
                kind="roster_matching",
                measure_id=measure_id,
                message=f"Measure {measure_id} MCQM: {t['copied']} patients copied (exactly one roster match"
                + (f", {t['resolved_by_mbi']} of them resolved by MBI" if t["resolved_by_mbi"] else "")
                + f"), {t['no_match']} with no roster match, {t['skipped']} skipped (more than one roster "
                f"match), {t['not_eligible']} not eligible per the roster's measure flags"
                + (
                    f", {t['not_convertible']} eCQM records not used (eCQM cannot be converted to MCQM)"
                    if t["not_convertible"]
                    else ""
                )
                + f"; {denominators} denominator-only patients from counts",
            )
        )
    if ignored_counts:
        log.append(
            SyncLogEntry(
                kind="skip",
                level="warning",
                message=f"{ignored_counts} denominator-only patients were not counted: their measures "
                f"have no MCQM instance (halted or not planned)",
            )
        )
    totals: Counter[str] = Counter()
    for t in tally.values():
        totals.update(t)
    counts = {
        "records": sum(p.records for p in partials),
        "patients": sum(p.patients for p in partials),
        "roster_rows": sum(p.roster_rows for p in partials),
        "roster_ambiguous_keys": sum(p.roster_ambiguous_keys for p in partials),
        "patients_copied": totals["copied"],
        "patients_without_roster_match": totals["no_match"],
        "patients_skipped_ambiguous": totals["skipped"],
        "patients_resolved_by_mbi": totals["resolved_by_mbi"],
        "patients_not_eligible": totals["not_eligible"],
        "denominator_only_counts": sum(sum(c.values()) for c in counts_by_measure.values()),
    }
    return AggregationResult(stats=stats, log=log, counts=counts)
