"""The patient-level reports built per engine partition and merged (docs/PERFORMANCE.md "Scaling past one
Lambda").

The partitions are disjoint by patient, so each engine partition (members, then MCQM), which holds its
records and outcomes in memory, writes its share of patients.csv, of each gaps-<tin>.csv and of the
probable duplicates' cells as already formatted CSV lines in each file's order, with its additive sums
(clinic counts, distinct patients, eCQM sex counts): a :class:`PatientReportPart`. Update Aggregate
Stats then merges the sorted lines and adds the sums (:func:`merge_parts`) without reading a clinic
snapshot or an outcome: the files are byte for byte those :func:`aco_sync.reports.build_reports` makes
from all the outcomes.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

from aco_sync.domain.bulk import gc_paused
from aco_sync.domain.outcome_columns import OutcomeColumns
from aco_sync.domain.records import CollectionType, MeasureStats, PatientOutcome, Performance
from aco_sync.reports.csv_exports import (
    GAP_COLUMNS,
    PATIENT_COLUMNS,
    DuplicateCells,
    csv_file,
    csv_lines,
    deciding_sources,
    duplicate_cells,
    gap_file_name,
    inverse_of_instances,
    performance_gap,
    probable_duplicates_file,
)
from aco_sync.reports.model import PatientLevelReports, RecordSource
from aco_sync.reports.qrda3 import SexCounts, sex_counts
from aco_sync.reports.record_sources import BatchSources, DecidingRecords, iso_days
from aco_sync.scoring.clinic_stats import ClinicCounts, PatientSets, clinic_counts

PART_FORMAT = "patient-report-part-1"
PATIENTS_FILE = "patients.csv"
DUPLICATES_FILE = "probable-duplicates.csv"

# Key fields whose characters all sort after the comma and need no quoting: a line's text order is then
# its key order (a shorter field is followed by ",", which sorts before any of those characters).
_PLAIN = re.compile(r"[^\x00-,]*")


@dataclass
class PatientReportPart:
    """One engine partition's share of the patient-level reports (its patients only)."""

    partition: int
    patients: list[str] = field(default_factory=list)  # patients.csv lines, in the file's order
    gaps: dict[str, list[str]] = field(default_factory=dict)  # TIN -> gaps-<tin>.csv lines, in order
    ordered_by_line: bool = True  # the lines' text order is the files' order (:data:`_PLAIN` keys)
    duplicates: DuplicateCells = field(default_factory=dict)  # the probable duplicates' TINs and rows
    clinic: ClinicCounts = field(default_factory=ClinicCounts)
    # True (MCQM): ``clinic``'s distinct patients also count the partition's member outcomes
    includes_members: bool = False
    ecqm_outcomes: dict[str, int] = field(default_factory=dict)
    ecqm_sexes: dict[str, SexCounts] = field(default_factory=dict)

    @gc_paused()
    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": PART_FORMAT,
                "partition": self.partition,
                "patients": self.patients,
                "gaps": self.gaps,
                "ordered_by_line": self.ordered_by_line,
                "duplicates": {m: [sorted(t), sorted(r)] for m, (t, r) in self.duplicates.items()},
                "clinic": self.clinic.to_dict(),
                "includes_members": self.includes_members,
                "ecqm_outcomes": self.ecqm_outcomes,
                "ecqm_sexes": self.ecqm_sexes,
            },
            separators=(",", ":"),
        ).encode("utf-8")

    @classmethod
    @gc_paused()
    def from_json(cls, data: bytes) -> PatientReportPart:
        parsed = json.loads(data)
        if parsed.get("format") != PART_FORMAT:
            raise ValueError(f"not a patient report part: {str(parsed.get('format'))[:40]!r}")
        return cls(
            partition=int(parsed["partition"]),
            patients=parsed["patients"],
            gaps=parsed["gaps"],
            ordered_by_line=bool(parsed["ordered_by_line"]),
            duplicates={m: (set(t), set(r)) for m, (t, r) in parsed["duplicates"].items()},
            clinic=ClinicCounts.from_dict(parsed["clinic"]),
            includes_members=bool(parsed["includes_members"]),
            ecqm_outcomes={str(m): int(n) for m, n in parsed["ecqm_outcomes"].items()},
            ecqm_sexes={
                str(m): {code: Counter(by_sex) for code, by_sex in counts.items()}
                for m, counts in parsed["ecqm_sexes"].items()
            },
        )


def _plain(values: Iterable[str]) -> bool:
    return _PLAIN.fullmatch("".join(set(values))) is not None


def _taken(columns: OutcomeColumns, rows: Sequence[int]) -> OutcomeColumns:
    """The outcomes at ``rows``, in that order."""
    return OutcomeColumns(*(list(map(getattr(columns, f.name).__getitem__, rows)) for f in fields(columns)))


def _patient_order(columns: OutcomeColumns) -> list[int]:
    """The outcomes' positions in :func:`~aco_sync.reports.csv_exports.patient_key` order (two stable
    sorts: by instance, then by patient; ties keep their order, as ``sorted`` by the key)."""
    instances = list(zip(columns.measure_id, columns.collection_type, strict=True))
    order = sorted(range(len(columns)), key=instances.__getitem__)
    order.sort(key=columns.master_pat_id.__getitem__)
    return order


_GAPS = {
    (p.value, inverse): performance_gap(p, inverse=inverse) for p in Performance for inverse in (False, True)
}


@gc_paused()  # hundreds of thousands of rows: no full collection over the partition's heap
def build_part(
    partition: int,
    outcomes: OutcomeColumns | Sequence[PatientOutcome],
    sources: Mapping[str, RecordSource],
    stats: Iterable[MeasureStats],
    *,
    duplicate_patients: Iterable[str] = (),
    members: PatientSets | None = None,
) -> PatientReportPart:
    """The part of ``outcomes`` (one partition's, with the ``sources`` of their records and the stats of
    their instances, for the inverse measures). ``duplicate_patients``: the partition's patients in a
    probable-duplicate pair; ``members``: the partition's member outcomes' patients, for an MCQM part.

    Column-wise, without an object per outcome: the rows are those of ``csv_exports.patient_rows`` and
    ``csv_exports.gap_rows_by_tin`` (tests/unit/service/test_report_parts.py compares them, and the
    merged files with the whole-ACO path's)."""
    if not isinstance(outcomes, OutcomeColumns):
        outcomes = OutcomeColumns.from_outcomes(outcomes)
    ordered = _taken(outcomes, _patient_order(outcomes))
    if isinstance(sources, BatchSources):
        deciding = sources.deciding_records(ordered)
    else:
        deciding = DecidingRecords.of_sources(deciding_sources(ordered.to_outcomes(), sources))
    master, measure, instance = ordered.master_pat_id, ordered.measure_id, ordered.collection_type
    dates = iso_days(ordered.performance_date)
    patients = csv_lines(
        zip(
            master,
            measure,
            instance,
            ordered.outcome,
            dates,
            map(";".join, ordered.source_tins),
            *deciding,
            map(len, ordered.source_keys),
            strict=True,
        )
    )

    inverse = inverse_of_instances(stats)
    inverse_flags = map(inverse.get, zip(measure, instance, strict=True), repeat(False))
    gaps = list(map(_GAPS.__getitem__, zip(ordered.outcome, inverse_flags, strict=True)))
    by_tin: dict[str, list[tuple[Any, ...]]] = {}
    for i in compress(range(len(gaps)), gaps):
        tins = ordered.source_tins[i]
        tin = deciding.tin[i]
        if tin is None:  # no record: the first source TIN's
            tin = tins[0] if tins else "unknown"
        others = "" if tins == (tin,) else ";".join(t for t in tins if t != tin)
        row = (
            tin,
            measure[i],
            instance[i],
            master[i],
            gaps[i],
            dates[i],
            deciding.source_file[i],
            deciding.source_line[i],
            deciding.encounter_id[i],
            others,
        )
        by_tin.setdefault(tin, []).append(row)
    for rows in by_tin.values():  # patient order: by instance, then patient (csv_exports.gap_key)
        rows.sort(key=itemgetter(1, 2))

    wanted = set(duplicate_patients)
    duplicated = [i for i, master_id in enumerate(master) if master_id in wanted] if wanted else []
    ecqm = [i for i, t in enumerate(instance) if t == CollectionType.ECQM.value]
    ecqm_by_measure: dict[str, list[PatientOutcome]] = {}
    for outcome in _taken(ordered, ecqm).to_outcomes():
        ecqm_by_measure.setdefault(outcome.measure_id, []).append(outcome)
    return PatientReportPart(
        partition=partition,
        patients=patients,
        gaps={tin: csv_lines(rows) for tin, rows in by_tin.items()},
        ordered_by_line=_plain(master) and _plain(measure) and _plain(instance),
        duplicates=duplicate_cells(wanted, _taken(ordered, duplicated).to_outcomes(), sources),
        clinic=clinic_counts(ordered, also=members),
        includes_members=members is not None,
        ecqm_outcomes={m: len(o) for m, o in ecqm_by_measure.items()},
        ecqm_sexes={m: sex_counts(o) for m, o in ecqm_by_measure.items()},
    )


def _fields(first: int, last: int) -> Callable[[str], list[str]]:
    def key(line: str) -> list[str]:
        return next(csv.reader([line]))[first:last]

    return key


def _merged(runs: Iterable[list[str]], by_line: bool, key: Callable[[str], list[str]]) -> list[str]:
    """The lines of sorted runs with disjoint keys, in key order (by text when that is the key order)."""
    lines = [line for run in runs for line in run]
    if by_line:
        lines.sort()  # the runs are sorted: a merge of runs
    else:
        lines.sort(key=key)
    return lines


@dataclass(frozen=True)
class MergedParts:
    reports: PatientLevelReports
    clinic: ClinicCounts  # the ACO's clinic counts (:func:`aco_sync.scoring.clinic_stats.clinic_stats_of`)
    outcomes: int  # how many outcomes the parts hold


@gc_paused()
def merge_parts(parts: Sequence[PatientReportPart], pairs: Sequence[dict[str, str]]) -> MergedParts:
    """The patient-level report files and sums of the sync from its parts (member and MCQM parts of the
    same partitions); ``pairs``: the sync's probable duplicates, in their order."""
    by_line = all(p.ordered_by_line for p in parts)
    files: dict[str, bytes] = {
        PATIENTS_FILE: csv_file(PATIENT_COLUMNS, _merged((p.patients for p in parts), by_line, _fields(0, 3)))
    }
    if pairs:
        cells: DuplicateCells = {}
        for part in parts:
            for master_id, (tins, rows) in part.duplicates.items():
                mine = cells.setdefault(master_id, (set(), set()))
                mine[0].update(tins)
                mine[1].update(rows)
        files[DUPLICATES_FILE] = probable_duplicates_file(pairs, cells)
    for tin in sorted({tin for p in parts for tin in p.gaps}):
        runs = (p.gaps.get(tin, []) for p in parts)
        files[gap_file_name(tin)] = csv_file(GAP_COLUMNS, _merged(runs, by_line, _fields(1, 4)))

    counted_later = {p.partition for p in parts if p.includes_members}
    clinic = ClinicCounts()
    ecqm_outcomes: Counter[str] = Counter()
    ecqm_sexes: dict[str, SexCounts] = {}
    for part in parts:
        counts = part.clinic
        if part.partition in counted_later and not part.includes_members:  # its MCQM part counts them
            counts = replace(counts, tin_patients=Counter(), patients=0)
        clinic.add(counts)
        ecqm_outcomes.update(part.ecqm_outcomes)
        for measure, sexes in part.ecqm_sexes.items():
            total = ecqm_sexes.setdefault(measure, sex_counts(()))
            for code, by_sex in sexes.items():
                total[code].update(by_sex)
    reports = PatientLevelReports(
        files=files,
        aco_patients=clinic.patients,
        ecqm_outcomes=dict(ecqm_outcomes),
        ecqm_sexes=ecqm_sexes,
    )
    return MergedParts(reports=reports, clinic=clinic, outcomes=sum(clinic.instance_patients.values()))
