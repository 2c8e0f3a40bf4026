"""The engine's hot path: records grouped by de-duplicated patient and measure, resolved in bulk.

Everything per record is done with C-level builtins on small integers (``zip``, ``map``, ``dict``,
``sorted``, list comprehensions over dictionary-coded columns); Python-level loops run once per
distinct name/patient/group, never per pair of records. Cost is linear in records (plus one sort).

How one instance is resolved (the rules of docs/ENGINE.md, stated record by record by the tests'
oracle tests/support/rules_oracle.py; codes of :mod:`aco_sync.domain.outcome_codes`): every
record gets a group key (patient x measure) and an integer *rank*; within a group, the largest rank
of the non-exception records decides:

    rank = class << 24 | value      class 3: exclusion (value: date)
                                    class 2: numerator (value: date*2 + met, plus met << 23 for
                                             "any MET wins" measures so that any MET ranks first)
                                    class 1: denominator-only (value: date)
    exception records rank -1 (they never decide; their latest date is kept separately)

Sorting the records by rank once and building ``dict(zip(group, rank))`` leaves the largest rank per
group (later entries overwrite earlier ones). Ranks take few distinct values (measures x performances
x dates), so they come from a lookup table and are decoded through one, all with C-level ``map``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import accumulate, compress, product, repeat
from operator import itemgetter

from aco_sync.domain.dedup import (
    PatientKey,
    PseudonymKey,
    master_patient_id_for_key,
    master_patient_ids,
    name_match_key,
    normalise_gender,
)
from aco_sync.domain.outcome_codes import (
    DENOMINATOR_ONLY,
    EXCEPTION,
    EXCLUSION,
    MET,
    NOT_MET,
    PERFORMANCE_CODE,
)
from aco_sync.domain.record_codec import RecordBatch

_CLASS_SHIFT = 24
_EXCLUSION_CLASS = 3
_NUMERATOR_CLASS = 2
_DENOMINATOR_CLASS = 1
_ANY_MET_FLAG = 1 << 23
_VALUE_MASK = (1 << _CLASS_SHIFT) - 1
_NUMERATOR_MASK = _ANY_MET_FLAG - 1
_EXCEPTION_RANK = -1


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """How one measure feeds the instance being resolved."""

    accepted_types: frozenset[str]  # collection types (values) of the records that feed it
    any_met_wins: bool


def _rank(code: int, day: int, any_met_wins: bool) -> int:
    if code == EXCLUSION:
        return (_EXCLUSION_CLASS << _CLASS_SHIFT) | day
    if code in (MET, NOT_MET):
        met = 1 if code == MET else 0
        flag = _ANY_MET_FLAG if any_met_wins and met else 0
        return (_NUMERATOR_CLASS << _CLASS_SHIFT) | flag | (day * 2 + met)
    if code == EXCEPTION:
        return _EXCEPTION_RANK
    return (_DENOMINATOR_CLASS << _CLASS_SHIFT) | day


def _decode(rank: int) -> tuple[int, int]:
    """(outcome code, day) of a group's top rank, before exceptions are applied."""
    kind, value = rank >> _CLASS_SHIFT, rank & _VALUE_MASK
    if rank == _EXCEPTION_RANK:
        return EXCEPTION, 0
    if kind == _EXCLUSION_CLASS:
        return EXCLUSION, value
    if kind == _NUMERATOR_CLASS:
        value &= _NUMERATOR_MASK
        return (MET if value & 1 else NOT_MET), value >> 1
    return DENOMINATOR_ONLY, value


class Resolution:
    """Resolved groups of one instance (parallel lists), with their provenance on demand."""

    def __init__(
        self,
        index: PatientIndex,
        groups: list[int],
        codes: list[int],
        days: list[int],
        group_keys: list[int],
        tin_indices: list[int],
        record_indices: list[int] | None,
        dropped: Counter[str],
    ) -> None:
        self.index = index
        self.groups = groups  # group = patient * measure count + measure index
        self.codes = codes  # outcome code (domain/outcome_codes.py) per group
        self.days = days  # date ordinal per group, 0 for none
        self.width = len(index.measure_table)
        self._group_keys = group_keys  # per kept record
        self._tin_indices = tin_indices  # per kept record
        self._record_indices = record_indices  # kept record -> batch record (None: all kept)
        self.dropped = dropped  # measure_id -> records that do not feed the instance

    def patient_of(self, group: int) -> int:
        return group // self.width

    def measure_indices(self, groups: list[int] | None = None) -> list[int]:
        return list(map(self.width.__rmod__, self.groups if groups is None else groups))

    def code_counts(self, positions: list[int] | None = None) -> dict[str, Counter[int]]:
        """Outcome codes per measure id (only the groups at ``positions`` when given)."""
        groups, codes = self.groups, self.codes
        if positions is not None:
            groups = list(map(groups.__getitem__, positions))
            codes = list(map(codes.__getitem__, positions))
        counts: dict[str, Counter[int]] = {}
        measures = self.index.measure_table
        for (measure, code), count in Counter(zip(self.measure_indices(groups), codes, strict=True)).items():
            counts.setdefault(measures[measure], Counter())[code] = count
        return counts

    def tins_by_measure(self, selected: set[int] | None = None) -> dict[str, Counter[str]]:
        """Patients each TIN contributed, per measure (only ``selected`` groups when given)."""
        pairs = list(set(zip(self._group_keys, self._tin_indices, strict=True)))
        if selected is not None:
            pairs = list(compress(pairs, map(selected.__contains__, map(itemgetter(0), pairs))))
        width = self.width
        measure_of_pair = map(width.__rmod__, map(itemgetter(0), pairs))
        measures, tins = self.index.measure_table, self.index.tin_table
        counts: dict[str, Counter[str]] = {}
        tin_of_pair = map(itemgetter(1), pairs)
        for (measure, tin), count in Counter(zip(measure_of_pair, tin_of_pair, strict=True)).items():
            counts.setdefault(measures[measure], Counter())[tins[tin]] = count
        return counts

    def provenance_columns(self, groups: list[int]) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
        """(sorted TINs, sorted source keys) of the records behind each of ``groups``, in that order.

        One integer sort brings every group's records together in the order of ``groups``; groups of
        one size ``s`` are then ``zip`` of ``s`` strided columns of record positions (C-level, no slice
        or loop per group), each tuple sorted by itself (``min``/``max`` for pairs, the common case)."""
        group_keys = self._group_keys
        position_of = dict(zip(groups, range(len(groups)), strict=True))
        positions = list(map(position_of.get, group_keys, repeat(-1)))  # -1: of a group not asked for
        rows: list[int] | range = range(len(group_keys))
        if len(groups) < len(self.groups):  # a subset (the MCQM copies): only the records behind it
            rows = list(compress(rows, map((-1).__ne__, positions)))
        order = sorted(rows, key=positions.__getitem__)
        sizes = list(Counter(map(positions.__getitem__, order)).values())  # one per group, in order

        if len(sizes) != len(groups):
            raise ValueError("provenance of groups that are not distinct groups of the resolution")
        source_keys = self.index.batch.column("source_key")
        record_indices = self._record_indices
        tin_indices, tin_table = self._tin_indices, self.index.tin_table
        keys: list[tuple[str, ...]] = [()] * len(groups)
        tins: list[tuple[str, ...]] = [()] * len(groups)
        ends = list(accumulate(sizes))
        starts = [0, *ends[:-1]]
        tins_of: dict[tuple[int, ...], tuple[str, ...]] = {}  # distinct TIN combinations are few
        for size in set(sizes):
            members = list(compress(range(len(sizes)), map(size.__eq__, sizes)))
            member_starts = list(map(starts.__getitem__, members))
            columns = [
                list(map(order.__getitem__, map(offset.__add__, member_starts))) for offset in range(size)
            ]
            key_columns = [
                list(map(source_keys.__getitem__, column))
                if record_indices is None
                else list(map(source_keys.__getitem__, map(record_indices.__getitem__, column)))
                for column in columns
            ]
            if size == 1:
                key_tuples: Iterable[tuple[str, ...]] = zip(key_columns[0])
            elif size == 2:
                key_tuples = zip(map(min, *key_columns), map(max, *key_columns), strict=True)
            else:
                key_tuples = map(tuple, map(sorted, zip(*key_columns, strict=True)))
            list(map(keys.__setitem__, members, key_tuples))
            tin_combos = list(zip(*(map(tin_indices.__getitem__, column) for column in columns), strict=True))
            for combo in set(tin_combos).difference(tins_of):
                tins_of[combo] = tuple(sorted({tin_table[tin] for tin in combo}))
            list(map(tins.__setitem__, members, map(tins_of.__getitem__, tin_combos)))
        return tins, keys


class PatientIndex:
    """De-duplicated patients of a batch of records (exact match on the normalised key)."""

    def __init__(self, batch: RecordBatch, pseudonym_key: PseudonymKey) -> None:
        self.batch = batch
        self.pseudonym_key = pseudonym_key
        self.length = len(batch)
        first_table, first = batch.coded("first_name")
        last_table, last = batch.coded("last_name")
        birth_table, birth = batch.coded("birth_date")
        gender_table, gender = batch.coded("gender")
        firsts = [name_match_key(v) for v in first_table]
        lasts = [name_match_key(v) for v in last_table]
        births = [date.fromordinal(v) for v in birth_table]
        genders = [normalise_gender(v).value for v in gender_table]

        # Distinct spellings first (C-level), then one normalisation per distinct spelling.
        patient_of_raw: dict[tuple[int, int, int, int], int] = dict.fromkeys(
            zip(first, last, birth, gender, strict=True), 0
        )
        # Normalised key of every distinct spelling, numbered in first-seen order (all C-level).
        combos = list(patient_of_raw)
        spelled_keys: list[PatientKey] = list(
            zip(
                map(firsts.__getitem__, map(itemgetter(0), combos)),
                map(lasts.__getitem__, map(itemgetter(1), combos)),
                map(births.__getitem__, map(itemgetter(2), combos)),
                map(genders.__getitem__, map(itemgetter(3), combos)),
                strict=True,
            )
        )
        self.keys: list[PatientKey] = list(dict.fromkeys(spelled_keys))
        number = dict(zip(self.keys, range(len(self.keys)), strict=True))
        patient_of_raw = dict(zip(combos, map(number.__getitem__, spelled_keys), strict=True))
        self.patient_of_record: list[int] = list(
            map(patient_of_raw.__getitem__, zip(first, last, birth, gender, strict=True))
        )
        self._master_ids: list[str] | None = None

        self.measure_table, self.measure_idx = batch.coded("measure_id")
        self.type_table, self.type_idx = batch.coded("collection_type")
        self.perf_table, self.perf_idx = batch.coded("performance")
        self.day_table, self.day_idx = batch.coded("performance_date")
        self.tin_table, self.tin_idx = batch.coded("tin")
        self._mbis: dict[int, set[str]] | None = None

    @property
    def patients(self) -> int:
        return len(self.keys)

    @property
    def master_ids(self) -> list[str]:
        """MASTER_PAT_ID per patient (hashed on first use: the stats do not need them)."""
        if self._master_ids is None:
            self._master_ids = master_patient_ids(self.keys, self.pseudonym_key)
        return self._master_ids

    def master_ids_of(self, patients: list[int]) -> list[str]:
        """MASTER_PAT_ID of each of ``patients``, hashing only the distinct patients asked for."""
        if self._master_ids is not None:
            return list(map(self._master_ids.__getitem__, patients))
        distinct = list(dict.fromkeys(patients))
        hashed = master_patient_ids(map(self.keys.__getitem__, distinct), self.pseudonym_key)
        ids = dict(zip(distinct, hashed, strict=True))
        return list(map(ids.__getitem__, patients))

    def master_id(self, patient: int) -> str:
        if self._master_ids is not None:
            return self._master_ids[patient]
        return master_patient_id_for_key(self.keys[patient], self.pseudonym_key)

    def records_by_tin(self) -> dict[str, int]:
        """TIN -> number of records (patients per TIN are in each instance's ``patients_by_tin``)."""
        return {self.tin_table[tin]: count for tin, count in Counter(self.tin_idx).items()}

    def mbis_of(self, patient: int) -> set[str]:
        """MBIs the patient's records carry (computed on first use: only the MBI tie-break needs it)."""
        if self._mbis is None:
            mbis: dict[int, set[str]] = {}
            if self.batch.has("mbi"):
                for record_patient, mbi in zip(self.patient_of_record, self.batch.column("mbi"), strict=True):
                    if mbi:
                        mbis.setdefault(record_patient, set()).add(mbi)
            self._mbis = mbis
        return self._mbis.get(patient, set())

    def resolve(self, specs: Mapping[str, InstanceSpec]) -> Resolution:
        """Resolve every (patient, measure) group of the measures in ``specs`` (one instance each)."""
        measures, types, perfs = self.measure_table, self.type_table, self.perf_table
        width = len(measures)

        pair_counts = Counter(zip(self.measure_idx, self.type_idx, strict=True))
        accepted: dict[tuple[int, int], bool] = {}
        dropped: Counter[str] = Counter()
        for (measure, ctype), count in pair_counts.items():
            spec = specs.get(measures[measure])
            accepted[(measure, ctype)] = spec is not None and types[ctype] in spec.accepted_types
            if not accepted[(measure, ctype)]:
                dropped[measures[measure]] += count

        record_indices: list[int] | None = None
        patients, measure_idx, perf_idx = self.patient_of_record, self.measure_idx, self.perf_idx
        day_idx, tin_idx = self.day_idx, self.tin_idx
        if dropped:
            keep = map(accepted.__getitem__, zip(measure_idx, self.type_idx, strict=True))
            record_indices = list(compress(range(self.length), keep))
            patients = list(map(patients.__getitem__, record_indices))
            measure_idx = list(map(measure_idx.__getitem__, record_indices))
            perf_idx = list(map(perf_idx.__getitem__, record_indices))
            day_idx = list(map(day_idx.__getitem__, record_indices))
            tin_idx = list(map(tin_idx.__getitem__, record_indices))

        # Rank of every (measure, performance, date) combination present, then per record (C-level).
        codes_of_perf = [PERFORMANCE_CODE[v] for v in perfs]
        any_met = [measures[m] in specs and specs[measures[m]].any_met_wins for m in range(width)]
        day_table = self.day_table
        if width * len(perfs) * len(day_table) <= 200_000:  # every combination: no pass over the records
            combos: Iterable[tuple[int, int, int]] = product(
                range(width), range(len(perfs)), range(len(day_table))
            )
        else:
            combos = set(zip(measure_idx, perf_idx, day_idx, strict=True))
        rank_of = {
            combo: _rank(codes_of_perf[combo[1]], day_table[combo[2]], any_met[combo[0]]) for combo in combos
        }
        ranks = list(map(rank_of.__getitem__, zip(measure_idx, perf_idx, day_idx, strict=True)))
        group_keys = [p * width + m for p, m in zip(patients, measure_idx, strict=True)]
        order = sorted(range(len(ranks)), key=ranks.__getitem__)
        best = dict(zip(map(group_keys.__getitem__, order), map(ranks.__getitem__, order), strict=True))
        del order

        # Latest exception date per group (exceptions are few).
        exception_perfs = {p for p, code in enumerate(codes_of_perf) if code == EXCEPTION}
        exception_days: dict[int, int] = {}
        if exception_perfs:
            positions = compress(range(len(ranks)), map(_EXCEPTION_RANK.__eq__, ranks))
            for i in sorted(positions, key=lambda i: day_table[day_idx[i]]):
                exception_days[group_keys[i]] = day_table[day_idx[i]]
        del ranks

        groups = list(best)
        tops = list(best.values())
        decoded = {rank: _decode(rank) for rank in set(tops)}
        codes = list(map({rank: d[0] for rank, d in decoded.items()}.__getitem__, tops))
        days = list(map({rank: d[1] for rank, d in decoded.items()}.__getitem__, tops))
        if exception_days:
            position_of = dict(zip(groups, range(len(groups)), strict=True))
            for group, exception_day in exception_days.items():
                position = position_of[group]
                if codes[position] not in (MET, EXCLUSION):  # an exception applies only when not MET
                    codes[position], days[position] = EXCEPTION, exception_day
        return Resolution(self, groups, codes, days, group_keys, tin_idx, record_indices, dropped)
