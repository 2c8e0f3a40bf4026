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
from dataclasses import dataclass, field, replace

from aco_sync.domain.bulk import gc_paused
from aco_sync.domain.records import CollectionType, MeasureStats, PatientOutcome
from aco_sync.reports.csv_exports import (
    GAP_COLUMNS,
    PATIENT_COLUMNS,
    DuplicateCells,
    csv_file,
    csv_lines,
    deciding_sources,
    duplicate_cells,
    gap_file_name,
    gap_rows_by_tin,
    inverse_of_instances,
    patient_key,
    patient_rows,
    probable_duplicates_file,
)
from aco_sync.reports.model import PatientLevelReports, RecordSource
from aco_sync.reports.qrda3 import SexCounts, sex_counts
from aco_sync.reports.record_sources import BatchSources
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


@gc_paused()  # hundreds of thousands of rows: no full collection over the partition's heap
def build_part(
    partition: int,
    outcomes: Sequence[PatientOutcome],
    sources: Mapping[str, RecordSource],
    stats: Iterable[MeasureStats],
    *,
    duplicate_patients: Iterable[str] = (),
    members: PatientSets | None = None,
) -> PatientReportPart:
    """The part of ``outcomes`` (one partition's, with the ``sources`` of their records and the stats of
    their instances, for the inverse measures). ``duplicate_patients``: the partition's patients in a
    probable-duplicate pair; ``members``: the partition's member outcomes' patients, for an MCQM part."""
    ordered = sorted(outcomes, key=patient_key)
    deciding = (
        sources.deciding(ordered) if isinstance(sources, BatchSources) else deciding_sources(ordered, sources)
    )
    by_tin = gap_rows_by_tin(ordered, deciding, inverse_of_instances(stats))
    ecqm = [o for o in ordered if o.collection_type is CollectionType.ECQM]
    ecqm_by_measure: dict[str, list[PatientOutcome]] = {}
    for outcome in ecqm:
        ecqm_by_measure.setdefault(outcome.measure_id, []).append(outcome)
    return PatientReportPart(
        partition=partition,
        patients=csv_lines(patient_rows(ordered, deciding)),
        gaps={tin: csv_lines(rows) for tin, rows in by_tin.items()},
        ordered_by_line=_plain(o.master_pat_id for o in ordered)
        and _plain(o.measure_id for o in ordered)
        and _plain(o.collection_type for o in ordered),
        duplicates=duplicate_cells(duplicate_patients, ordered, sources),
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
