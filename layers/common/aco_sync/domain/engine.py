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

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.collection_types import (
    MeasureDecision,
    MeasurePlan,
    plan_measures,
    plan_submissions,
)
from aco_sync.domain.dedup import (
    PatientKey,
    ProbableDuplicate,
    find_probable_duplicates,
    master_patient_id,
    master_patient_id_for_key,
    patient_key,
)
from aco_sync.domain.encounters import EncounterDiff, diff_encounters, record_content_hash
from aco_sync.domain.measure_rules import (
    CODE_PERFORMANCE,
    PERFORMANCE_CODE,
    Row,
    resolve_rows,
    uses_any_met_wins,
)
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
from aco_sync.domain.roster_matching import MatchKind, RosterIndex, RosterMatch
from aco_sync.domain.settings import AcoSettings
from aco_sync.domain.stats import build_measure_stats, stats_to_dict
from aco_sync.domain.sync_log import ambiguous_roster_skip_message

__all__ = [
    "AggregationResult",
    "EncounterDiff",
    "MeasureDecision",
    "MeasurePlan",
    "ProbableDuplicate",
    "ProviderDiff",
    "aggregate_mcqm",
    "aggregate_members",
    "diff_encounters",
    "diff_providers",
    "master_patient_id",
    "plan_measures",
    "plan_submissions",
    "record_content_hash",
]

OutcomeRow = tuple[str, str, CollectionType, int, int, tuple[str, ...], tuple[str, ...]]
"""(master_pat_id, measure_id, instance, outcome code, date ordinal or 0, source tins, source keys)."""

_ALL_TYPES = frozenset(t.value for t in CollectionType)


class AggregationResult:
    """The outcome of one engine step. ``outcomes`` are built on first access (cheap to skip)."""

    def __init__(
        self,
        *,
        outcome_rows: list[OutcomeRow],
        stats: list[MeasureStats],
        log: list[SyncLogEntry],
        probable_duplicates: list[ProbableDuplicate],
        counts: dict[str, int],
    ) -> None:
        self.outcome_rows = outcome_rows
        self.stats = stats
        self.log = log
        self.probable_duplicates = probable_duplicates
        self.counts = counts
        self._outcomes: list[PatientOutcome] | None = None

    @property
    def outcomes(self) -> list[PatientOutcome]:
        """One PatientOutcome per MASTER_PAT_ID and measure instance, sorted by instance then patient."""
        if self._outcomes is None:
            dates: dict[int, date | None] = {0: None}
            outcomes = []
            for master_id, measure_id, instance, code, day, tins, keys in self.outcome_rows:
                performance_date = dates.get(day)
                if performance_date is None and day:
                    performance_date = dates[day] = date.fromordinal(day)
                outcomes.append(
                    PatientOutcome(
                        master_id, measure_id, instance, CODE_PERFORMANCE[code], performance_date, tins, keys
                    )
                )
            self._outcomes = outcomes
        return self._outcomes

    def stats_for(self, measure_id: str, collection_type: CollectionType) -> MeasureStats | None:
        for stats in self.stats:
            if stats.measure_id == measure_id and stats.collection_type is collection_type:
                return stats
        return None

    def summary(self) -> dict[str, Any]:
        """JSON-able counts (no PHI): what the workflow logs and returns from a step."""
        return {
            **self.counts,
            "outcomes": len(self.outcome_rows),
            "probable_duplicates": len(self.probable_duplicates),
            "instances": [stats_to_dict(s) for s in self.stats],
            "warnings": sum(1 for e in self.log if e.level != "info"),
        }


class _PatientIndex:
    """Records grouped by de-duplicated patient and measure (one pass, hash joins)."""

    def __init__(self, records: Iterable[PerformanceRecord]) -> None:
        batch = RecordBatch.from_records(records)
        columns = batch.columns
        self.records = batch.length
        self.keys: list[PatientKey] = []
        self.master_ids: list[str] = []
        self.mbis: dict[int, set[str]] = defaultdict(set)
        self.groups: dict[tuple[int, str], list[Row]] = {}
        raw_to_patient: dict[tuple[str, str, int, str], int] = {}
        key_to_patient: dict[PatientKey, int] = {}
        groups = self.groups
        codes = PERFORMANCE_CODE
        mbi_column = columns.get("mbi") or [None] * batch.length
        for (
            tin,
            source_key,
            measure_id,
            collection_type,
            performance,
            day,
            first,
            last,
            birth,
            gender,
            mbi,
        ) in zip(
            columns["tin"],
            columns["source_key"],
            columns["measure_id"],
            columns["collection_type"],
            columns["performance"],
            columns["performance_date"],
            columns["first_name"],
            columns["last_name"],
            columns["birth_date"],
            columns["gender"],
            mbi_column,
            strict=True,
        ):
            raw = (first, last, birth, gender)
            patient = raw_to_patient.get(raw)
            if patient is None:
                key = patient_key(first, last, date.fromordinal(birth), gender)
                patient = key_to_patient.get(key)
                if patient is None:
                    patient = key_to_patient[key] = len(self.keys)
                    self.keys.append(key)
                    self.master_ids.append(master_patient_id_for_key(key))
                raw_to_patient[raw] = patient
            row = (codes[performance], day, tin, source_key, collection_type)
            group = groups.get((patient, measure_id))
            if group is None:
                groups[(patient, measure_id)] = [row]
            else:
                group.append(row)
            if mbi:
                self.mbis[patient].add(mbi)

    @property
    def patients(self) -> int:
        return len(self.keys)


def _accepted_types(decision: MeasureDecision, instance: CollectionType) -> frozenset[str]:
    return frozenset(t.value for t in CollectionType if decision.accepts(instance, t))


def _outcome_row(
    master_id: str, measure_id: str, instance: CollectionType, rows: Sequence[Row], any_met_wins: bool
) -> OutcomeRow:
    code, day = resolve_rows(rows, any_met_wins)
    tins = tuple(sorted({row[2] for row in rows}))
    keys = tuple(sorted(row[3] for row in rows))
    return (master_id, measure_id, instance, code, day, tins, keys)


def _stats_for_rows(
    rows: list[OutcomeRow],
    catalog: MeasureCatalog,
    instances: Iterable[tuple[str, CollectionType]],
    *,
    denominator_counts: Mapping[str, Counter[str]] | None = None,
    coverage: Mapping[str, float | None] | None = None,
) -> list[MeasureStats]:
    outcome_counts: dict[tuple[str, CollectionType], Counter[int]] = defaultdict(Counter)
    tin_counts: dict[tuple[str, CollectionType], Counter[str]] = defaultdict(Counter)
    for _, measure_id, instance, code, _, tins, _ in rows:
        outcome_counts[(measure_id, instance)][code] += 1
        tin_counts[(measure_id, instance)].update(tins)
    stats = []
    for measure_id, instance in instances:
        counts_by_tin = (denominator_counts or {}).get(measure_id, Counter())
        patients_by_tin = tin_counts[(measure_id, instance)] + counts_by_tin
        stats.append(
            build_measure_stats(
                measure_id,
                instance,
                outcome_counts=outcome_counts[(measure_id, instance)],
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
    report_probable_duplicates: bool = True,
) -> AggregationResult:
    """Finalize step: de-duplicate, then resolve every non-MCQM instance of the plan (eCQM, or CQM with
    QRDA-I performances synced into it). Records of halted or unplanned measures are counted and
    logged, never silently dropped. MCQM instances are left to :func:`aggregate_mcqm`."""
    index = _PatientIndex(records)
    outcome_rows: list[OutcomeRow] = []
    not_aggregated: Counter[str] = Counter()
    mcqm_only: Counter[str] = Counter()
    accepted: dict[str, tuple[CollectionType, frozenset[str], bool] | None] = {}
    for measure_id, decision in plan.measures.items():
        instance = decision.aggregate_instance
        if decision.halted or instance is None:
            accepted[measure_id] = None
        else:
            accepted[measure_id] = (
                instance,
                _accepted_types(decision, instance),
                uses_any_met_wins(catalog.get(measure_id).rule),
            )
    master_ids = index.master_ids
    for (patient, measure_id), rows in index.groups.items():
        if measure_id not in accepted:
            not_aggregated[measure_id] += len(rows)
            continue
        target = accepted[measure_id]
        if target is None:
            decision = plan.measures[measure_id]
            (not_aggregated if decision.halted else mcqm_only)[measure_id] += len(rows)
            continue
        instance, types, any_met_wins = target
        selected = rows if types == _ALL_TYPES else [row for row in rows if row[4] in types]
        if len(selected) != len(rows):
            not_aggregated[measure_id] += len(rows) - len(selected)
        if selected:
            outcome_rows.append(
                _outcome_row(master_ids[patient], measure_id, instance, selected, any_met_wins)
            )
    outcome_rows.sort(key=lambda row: (row[1], row[2], row[0]))

    log: list[SyncLogEntry] = []
    for measure_id in sorted(not_aggregated):
        decision_or_none = plan.measures.get(measure_id)
        why = (
            "the measure is halted"
            if decision_or_none and decision_or_none.halted
            else ("the measure has no instance for their collection type in the plan")
        )
        log.append(
            SyncLogEntry(
                kind="skip",
                level="warning",
                measure_id=measure_id,
                message=f"{not_aggregated[measure_id]} records of measure {measure_id} were not "
                f"aggregated: {why}",
            )
        )
    instances = [(m, t) for m, t in plan.instances() if t is not CollectionType.MCQM]
    stats = _stats_for_rows(outcome_rows, catalog, instances)
    for item in stats:
        log.append(
            SyncLogEntry(
                kind="aggregation",
                measure_id=item.measure_id,
                message=f"Measure {item.measure_id} {item.collection_type.value}: {item.eligible_population} "
                f"patients in the eligible population from {len(item.patients_by_tin)} TINs",
            )
        )
    duplicates = find_probable_duplicates(index.keys) if report_probable_duplicates else []
    if duplicates:
        log.append(
            SyncLogEntry(
                kind="probable_duplicates",
                level="warning",
                message=f"{len(duplicates)} pairs of patients look like the same person (typo, nickname, "
                f"initial or swapped day/month); they were not merged: review the probable duplicates report",
            )
        )
    counts = {
        "records": index.records,
        "patients": index.patients,
        "records_not_aggregated": sum(not_aggregated.values()),
        "records_for_mcqm_only": sum(mcqm_only.values()),
    }
    return AggregationResult(
        outcome_rows=outcome_rows, stats=stats, log=log, probable_duplicates=duplicates, counts=counts
    )


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


def aggregate_mcqm(
    records: Iterable[PerformanceRecord],
    denominator_counts: Iterable[DenominatorCount],
    plan: MeasurePlan,
    roster: Sequence[RosterEntry],
    *,
    settings: AcoSettings,
    catalog: MeasureCatalog,
) -> AggregationResult:
    """MCQM step: match every de-duplicated patient of each MCQM measure (CQM, MCQM and eCQM data, except
    eCQM data of measures that cannot convert, i.e. M112) with the roster; exactly one match copies the
    patient into the MCQM instance, none does nothing, several skip the patient with PRODUCT.md's exact
    log line (or, with ``roster_mbi_tiebreak``, let a unique MBI decide). Denominator-only counts add
    to the eligible population of the measure's MCQM instance."""
    index = _PatientIndex(records)
    roster_index = RosterIndex(roster)
    mcqm_measures: dict[str, tuple[frozenset[str], bool, frozenset[str]]] = {}
    for measure_id, decision in plan.measures.items():
        if decision.has_mcqm and not decision.halted:
            mcqm_measures[measure_id] = (
                _accepted_types(decision, CollectionType.MCQM),
                uses_any_met_wins(catalog.get(measure_id).rule),
                _measure_aliases(catalog, measure_id),
            )

    matches: dict[int, RosterMatch] = {}
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    covered: dict[str, set[int]] = defaultdict(set)
    outcome_rows: list[OutcomeRow] = []
    log: list[SyncLogEntry] = []
    skip_entries: list[tuple[str, str]] = []
    resolved_entries: list[tuple[str, str, int]] = []
    master_ids = index.master_ids
    for (patient, measure_id), rows in index.groups.items():
        target = mcqm_measures.get(measure_id)
        if target is None:
            continue
        types, any_met_wins, aliases = target
        selected = rows if types == _ALL_TYPES else [row for row in rows if row[4] in types]
        if not selected:
            tally[measure_id]["not_convertible"] += 1
            continue
        match = matches.get(patient)
        if match is None:
            match = matches[patient] = roster_index.match(
                index.keys[patient], index.mbis.get(patient, ()), mbi_tiebreak=settings.roster_mbi_tiebreak
            )
        if match.kind is MatchKind.NONE:
            tally[measure_id]["no_match"] += 1
            continue
        if match.kind is MatchKind.AMBIGUOUS:
            tally[measure_id]["skipped"] += 1
            skip_entries.append((measure_id, master_ids[patient]))
            continue
        assert match.roster_index is not None
        if not roster_index.eligible_for(match.roster_index, aliases):
            tally[measure_id]["not_eligible"] += 1
            continue
        if match.kind is MatchKind.RESOLVED_BY_MBI:
            tally[measure_id]["resolved_by_mbi"] += 1
            resolved_entries.append((measure_id, master_ids[patient], match.candidates))
        tally[measure_id]["copied"] += 1
        covered[measure_id].add(match.roster_index)
        outcome_rows.append(
            _outcome_row(master_ids[patient], measure_id, CollectionType.MCQM, selected, any_met_wins)
        )
    outcome_rows.sort(key=lambda row: (row[1], row[0]))

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

    counts_by_measure: dict[str, Counter[str]] = defaultdict(Counter)
    ignored_counts = 0
    for count in denominator_counts:
        if count.measure_id in mcqm_measures:
            counts_by_measure[count.measure_id][count.tin] += count.count
        else:
            ignored_counts += count.count

    coverage: dict[str, float | None] = {}
    for measure_id, (_, _, aliases) in mcqm_measures.items():
        eligible_roster = roster_index.eligible_count(aliases)
        coverage[measure_id] = 100.0 * len(covered[measure_id]) / eligible_roster if eligible_roster else None

    instances = [(m, CollectionType.MCQM) for m in sorted(mcqm_measures)]
    stats = _stats_for_rows(
        outcome_rows, catalog, instances, denominator_counts=counts_by_measure, coverage=coverage
    )
    for measure_id in sorted(mcqm_measures):
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
                    f", {t['not_convertible']} with only eCQM data that cannot be converted to MCQM"
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
        "records": index.records,
        "patients": index.patients,
        "roster_rows": len(roster_index),
        "roster_ambiguous_keys": roster_index.ambiguous_keys,
        "patients_copied": totals["copied"],
        "patients_without_roster_match": totals["no_match"],
        "patients_skipped_ambiguous": totals["skipped"],
        "patients_resolved_by_mbi": totals["resolved_by_mbi"],
        "patients_not_eligible": totals["not_eligible"],
        "denominator_only_counts": sum(sum(c.values()) for c in counts_by_measure.values()),
    }
    return AggregationResult(
        outcome_rows=outcome_rows, stats=stats, log=log, probable_duplicates=[], counts=counts
    )
