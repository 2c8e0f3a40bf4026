"""Collection types: which ACO measure instances to build from what the member TINs submitted
(PRODUCT.md "Collection types", seed 001 "Combining Collection Types" and "ACO Sync Process").

| member TINs submitted        | ACO aggregate                              |
|------------------------------|--------------------------------------------|
| all eCQM                     | eCQM (and MCQM, if the ACO opts in)        |
| all CQM                      | CQM (and MCQM, if the ACO opts in)         |
| eCQM + CQM                   | CQM (and MCQM, if the ACO opts in)         |
| anything that includes MCQM  | MCQM (the CQM instance of Step 1 is removed in Step 3) |

MCQM denominator-only counts force MCQM like MCQM data. "MCQM if the ACO opts in" needs an active
roster (no roster: the optional MCQM instance is not created, and that is logged; it is not a halt).
M112 eCQM data cannot be converted to MCQM (``ecqm_convertible_to_mcqm`` in the catalog): an all-eCQM
M112 never gets an opt-in MCQM instance and its eCQM patients never enter an M112 MCQM instance.
Any MCQM submission without an active roster halts the measure with PRODUCT.md's exact message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.record_codec import RecordBatch
from aco_sync.domain.records import CollectionType, DenominatorCount, PerformanceRecord, SyncLogEntry
from aco_sync.domain.settings import AcoSettings
from aco_sync.domain.sync_log import missing_roster_halt_message

_TYPE_ORDER = {CollectionType.ECQM: 0, CollectionType.CQM: 1, CollectionType.MCQM: 2}


def sorted_collection_types(types: Iterable[CollectionType]) -> list[CollectionType]:
    """eCQM, CQM, MCQM order, each once."""
    return sorted(set(types), key=_TYPE_ORDER.__getitem__)


@dataclass(frozen=True, slots=True)
class MeasureDecision:
    """What the ACO aggregates for one measure, and why."""

    measure_id: str
    submitted: frozenset[CollectionType]
    instances: tuple[CollectionType, ...]  # ACO instances to build, non-MCQM first; () when halted
    halted: bool = False
    halt_message: str | None = None
    cqm_removed: bool = False  # Step 3: a TIN submitted MCQM, so the CQM instance is removed
    ecqm_into_cqm: bool = False  # QRDA-I (eCQM) performances are synced into the CQM instance
    ecqm_into_mcqm: bool = True  # False for M112: eCQM patients never enter the MCQM instance
    mcqm_forced_by_counts: bool = False  # an MCQM denominator-only count forced MCQM
    tins_by_collection_type: dict[CollectionType, tuple[str, ...]] = field(default_factory=dict)
    reason: str = ""

    @property
    def aggregate_instance(self) -> CollectionType | None:
        """The non-MCQM instance (eCQM or CQM), if any."""
        for instance in self.instances:
            if instance is not CollectionType.MCQM:
                return instance
        return None

    @property
    def has_mcqm(self) -> bool:
        return CollectionType.MCQM in self.instances

    def accepts(self, instance: CollectionType, submitted_as: CollectionType) -> bool:
        """Whether a record submitted as ``submitted_as`` feeds the ``instance`` of this measure."""
        if self.halted or instance not in self.instances:
            return False
        if instance is CollectionType.MCQM:
            return submitted_as is not CollectionType.ECQM or self.ecqm_into_mcqm
        if instance is CollectionType.CQM:
            return submitted_as in (CollectionType.CQM, CollectionType.ECQM)
        return submitted_as is CollectionType.ECQM


@dataclass(slots=True)
class MeasurePlan:
    """The per-measure decisions of one sync (stored between steps as ``aco_sync.wire.plan_to_dict``)."""

    measures: dict[str, MeasureDecision] = field(default_factory=dict)
    log: list[SyncLogEntry] = field(default_factory=list)
    has_active_roster: bool = False

    @property
    def mcqm_needed(self) -> bool:
        """Any measure has an MCQM instance to build (halted measures have none)."""
        return any(decision.has_mcqm for decision in self.measures.values())

    @property
    def halted_measures(self) -> list[str]:
        return sorted(m for m, d in self.measures.items() if d.halted)

    def instances(self) -> list[tuple[str, CollectionType]]:
        """Every (measure_id, instance) to build, in catalog-independent sorted order."""
        return [(m, t) for m in sorted(self.measures) for t in self.measures[m].instances]


def plan_submissions(
    records: Iterable[PerformanceRecord], denominator_counts: Iterable[DenominatorCount] = ()
) -> list[tuple[str, str, CollectionType]]:
    """The ``submissions`` argument of :func:`plan_measures`, one tuple per distinct submission.

    Denominator-only counts are MCQM submissions whatever collection type their row names
    (PRODUCT.md: "MCQM denominator-only counts" force MCQM).
    """
    seen: set[tuple[str, str, CollectionType]] = set()
    if isinstance(records, RecordBatch):  # columnar: distinct combinations with C-level set/zip
        tins, tin_idx = records.coded("tin")
        measures, measure_idx = records.coded("measure_id")
        types, type_idx = records.coded("collection_type")
        for t, m, c in set(zip(tin_idx, measure_idx, type_idx, strict=True)):
            seen.add((tins[t], measures[m], CollectionType(types[c])))
    else:
        for record in records:
            seen.add((record.tin, record.measure_id, record.collection_type))
    for count in denominator_counts:
        seen.add((count.tin, count.measure_id, CollectionType.MCQM))
    return sorted(seen)


def plan_measures(
    submissions: Iterable[tuple[str, str, CollectionType]],
    *,
    has_active_roster: bool,
    settings: AcoSettings,
    catalog: MeasureCatalog,
    denominator_count_measures: Iterable[str] = (),
) -> MeasurePlan:
    """Decide, per measure, the ACO instances to build (the collection-type table) and log why.

    ``submissions``: (tin, measure_id, collection_type) for every record and every denominator-only
    count (duplicates are fine). ``denominator_count_measures``: measures that have denominator-only
    counts (for the log only; pass their submissions as MCQM, see :func:`plan_submissions`).
    """
    tins: dict[str, dict[CollectionType, set[str]]] = defaultdict(lambda: defaultdict(set))
    unknown: dict[str, set[str]] = defaultdict(set)
    for tin, measure_id, collection_type in submissions:
        if measure_id not in catalog:
            unknown[measure_id].add(tin)
            continue
        tins[measure_id][CollectionType(collection_type)].add(tin)
    counted = set(denominator_count_measures)

    plan = MeasurePlan(has_active_roster=has_active_roster)
    for measure_id in sorted(unknown):
        plan.log.append(
            SyncLogEntry(
                kind="collection_type",
                level="warning",
                measure_id=measure_id,
                message=f"Measure {measure_id} is not in the measure catalog: its data was not aggregated "
                f"(TINs {', '.join(sorted(unknown[measure_id]))})",
            )
        )
    for measure_id in sorted(tins):
        decision = _decide(
            measure_id,
            tins[measure_id],
            has_active_roster,
            settings,
            catalog,
            forced_by_counts=measure_id in counted,
        )
        plan.measures[measure_id] = decision
        plan.log.extend(_log_decision(decision))
    return plan


def _decide(
    measure_id: str,
    tins_by_type: dict[CollectionType, set[str]],
    has_active_roster: bool,
    settings: AcoSettings,
    catalog: MeasureCatalog,
    *,
    forced_by_counts: bool,
) -> MeasureDecision:
    definition = catalog.get(measure_id)
    submitted = frozenset(t for t, v in tins_by_type.items() if v)
    by_type = {t: tuple(sorted(tins_by_type[t])) for t in sorted_collection_types(submitted)}
    convertible = definition.ecqm_convertible_to_mcqm
    names = " + ".join(t.value for t in sorted_collection_types(submitted))

    if CollectionType.MCQM in submitted:
        mcqm_tins = ", ".join(by_type[CollectionType.MCQM])
        if not has_active_roster:
            return MeasureDecision(
                measure_id=measure_id,
                submitted=submitted,
                instances=(),
                halted=True,
                halt_message=missing_roster_halt_message(measure_id),
                ecqm_into_mcqm=convertible,
                mcqm_forced_by_counts=forced_by_counts,
                tins_by_collection_type=by_type,
                reason=f"TINs submitted {names}; MCQM submitted by TIN {mcqm_tins} and the ACO has no "
                f"active Medicare roster",
            )
        return MeasureDecision(
            measure_id=measure_id,
            submitted=submitted,
            instances=(CollectionType.MCQM,),
            cqm_removed=True,
            ecqm_into_mcqm=convertible,
            mcqm_forced_by_counts=forced_by_counts,
            tins_by_collection_type=by_type,
            reason=f"TINs submitted {names}; MCQM is the only option because TIN {mcqm_tins} submitted "
            f"MCQM" + (" denominator-only counts" if forced_by_counts else ""),
        )

    base = CollectionType.ECQM if submitted == {CollectionType.ECQM} else CollectionType.CQM
    all_ecqm = base is CollectionType.ECQM
    ecqm_into_cqm = base is CollectionType.CQM and CollectionType.ECQM in submitted
    reason = f"TINs submitted {names}; aggregate to {base.value}"
    if ecqm_into_cqm:
        reason += " (QRDA-I performances synced into the CQM instance)"
    instances: tuple[CollectionType, ...] = (base,)
    if settings.mcqm_opt_in:
        if not has_active_roster:
            reason += "; MCQM not created: the ACO opted in to MCQM but has no active Medicare roster"
        elif all_ecqm and not convertible:
            reason += f"; MCQM not created: eCQM data of {measure_id} cannot be converted to MCQM"
        else:
            instances = (base, CollectionType.MCQM)
            reason += "; and MCQM (the ACO opted in and has an active Medicare roster)"
            if not convertible and CollectionType.ECQM in submitted:
                reason += f"; eCQM patients of {measure_id} do not enter the MCQM instance"
    return MeasureDecision(
        measure_id=measure_id,
        submitted=submitted,
        instances=instances,
        ecqm_into_cqm=ecqm_into_cqm,
        ecqm_into_mcqm=convertible,
        tins_by_collection_type=by_type,
        reason=reason,
    )


def _log_decision(decision: MeasureDecision) -> list[SyncLogEntry]:
    entries = [
        SyncLogEntry(
            kind="collection_type",
            measure_id=decision.measure_id,
            message=f"Measure {decision.measure_id}: {decision.reason}"
            + (
                f" -> instances {', '.join(t.value for t in decision.instances)}"
                if decision.instances
                else ""
            ),
        )
    ]
    if decision.halted and decision.halt_message:
        entries.append(
            SyncLogEntry(
                kind="halt", level="error", measure_id=decision.measure_id, message=decision.halt_message
            )
        )
    if decision.cqm_removed:
        mcqm_tins = ", ".join(decision.tins_by_collection_type.get(CollectionType.MCQM, ()))
        entries.append(
            SyncLogEntry(
                kind="removal",
                measure_id=decision.measure_id,
                message=f"CQM instance of measure {decision.measure_id} removed from the ACO because TIN "
                f"{mcqm_tins} submitted MCQM",
            )
        )
    return entries
