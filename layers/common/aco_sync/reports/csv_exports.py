"""CSV exports for audit and follow-up (no PHI: MASTER_PAT_IDs, TINs, files, rows, encounter ids):
the aggregate measure table, the patient-level aggregate with the deciding record of each outcome,
per-TIN gap lists and the probable duplicates for review."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aco_sync.domain.records import CollectionType, MeasureStats, PatientOutcome, Performance
from aco_sync.reports.model import RecordSource, ScoredSync

MEASURE_COLUMNS = (
    "measure_id",
    "collection_type",
    "qpp_measure_id",
    "submission_method",
    "title",
    "inverse",
    "eligible_population",
    "performance_met",
    "performance_not_met",
    "eligible_population_exclusion",
    "eligible_population_exception",
    "performance_rate",
    "data_completeness",
    "case_minimum_met",
    "data_completeness_met",
    "decile",
    "points",
    "status",
    "counted",
    "reason",
    "roster_coverage",
)
PATIENT_COLUMNS = (
    "master_pat_id",
    "measure_id",
    "collection_type",
    "outcome",
    "performance_date",
    "source_tins",
    "deciding_tin",
    "source_file",
    "source_row",
    "encounter_id",
    "records",
)
GAP_COLUMNS = (
    "tin",
    "measure_id",
    "collection_type",
    "master_pat_id",
    "gap",
    "performance_date",
    "source_file",
    "source_row",
    "encounter_id",
    "also_seen_by_tins",
)
DUPLICATE_COLUMNS = (
    "master_pat_id_a",
    "master_pat_id_b",
    "why",
    "tins_a",
    "source_rows_a",
    "tins_b",
    "source_rows_b",
    "decision",
)
DUPLICATE_REASONS = {
    "one_edit_first_name": "first names one letter apart",
    "one_edit_last_name": "last names one letter apart",
    "nickname": "nickname",
    "initial": "initial",
    "swapped_day_month": "day and month of birth swapped",
}


LINE_END = "\r\n"


class _Lines(list[str]):
    """A csv writer's target keeping each row as one line (the csv module writes a row in one call)."""

    def write(self, line: str) -> None:
        self.append(line.removesuffix(LINE_END))


def csv_lines(rows: Iterable[Sequence[Any]]) -> list[str]:
    """Each row formatted as one CSV line (without its line end), as the report files write it (None
    as an empty field, as the csv writer writes it)."""
    rows = rows if isinstance(rows, list) else list(rows)
    text = io.StringIO()
    csv.writer(text, lineterminator=LINE_END).writerows(rows)  # one C-level loop over the rows
    lines = text.getvalue().split(LINE_END)
    if len(lines) == len(rows) + 1:  # no line end inside a (quoted) field: one line per row
        lines.pop()
        return lines
    one_per_row = _Lines()  # a field with a line end: the writer's one call per row
    writer = csv.writer(one_per_row, lineterminator=LINE_END)
    for row in rows:
        writer.writerow(row)
    return one_per_row


def csv_file(header: Sequence[str], lines: Sequence[str]) -> bytes:
    """A report file from its header and its formatted lines (:func:`csv_lines`)."""
    body = LINE_END.join([*csv_lines([header]), *lines])
    return (body + LINE_END).encode("utf-8")


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return csv_file(header, csv_lines(rows))


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def measures_csv(scored: ScoredSync) -> bytes:
    rows = []
    for stats in scored.inputs.stats:
        score = scored.score_for(stats)
        rows.append(
            [
                stats.measure_id,
                stats.collection_type.value,
                score.qpp_measure_id if score else None,
                score.submission_method if score else None,
                score.title if score else None,
                "Y" if stats.inverse else "N",
                stats.eligible_population,
                stats.performance_met,
                stats.performance_not_met,
                stats.eligible_population_exclusion,
                stats.eligible_population_exception,
                _number(stats.performance_rate),
                _number(stats.data_completeness),
                ("Y" if score.case_minimum_met else "N") if score else None,
                ("Y" if score.data_completeness_met else "N") if score else None,
                score.decile if score else None,
                f"{score.points:.4f}" if score and score.points is not None else None,
                score.status.value if score else None,
                ("Y" if scored.quality.is_counted(score) else "N") if score else None,
                (scored.quality.why_not_counted(score) or score.reason) if score else None,
                _number(stats.roster_coverage),
            ]
        )
    return _csv(MEASURE_COLUMNS, rows)


def deciding_source(outcome: PatientOutcome, sources: Mapping[str, RecordSource]) -> RecordSource | None:
    """The record that decided the outcome: one with the outcome's performance and date (the latest such
    when several), else the latest record behind it."""
    return chosen_source(outcome, [sources[key] for key in outcome.source_keys if key in sources])


def chosen_source(outcome: PatientOutcome, candidates: Sequence[RecordSource]) -> RecordSource | None:
    """:func:`deciding_source` among the sources of the outcome's records (those found)."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    day = outcome.performance_date.isoformat() if outcome.performance_date else None
    exact = [c for c in candidates if c.performance == outcome.outcome.value and c.performance_date == day]
    pool = exact or candidates
    return max(pool, key=lambda c: (c.performance_date or "", c.tin, c.source_file, c.source_line or 0))


def _where(source: RecordSource | None) -> list[Any]:
    if source is None:
        return [None, None, None, None]
    return [source.tin, source.source_file, source.source_line, source.encounter_id]


def patient_key(outcome: PatientOutcome) -> tuple[str, str, CollectionType]:
    """The order of patients.csv: patient, measure, collection type."""
    return (outcome.master_pat_id, outcome.measure_id, outcome.collection_type)  # a StrEnum: its text


def deciding_sources(
    outcomes: Iterable[PatientOutcome], sources: Mapping[str, RecordSource]
) -> list[RecordSource | None]:
    """The :func:`deciding_source` of each outcome, in their order."""
    return [deciding_source(outcome, sources) for outcome in outcomes]


def patient_rows(
    outcomes: Sequence[PatientOutcome], deciding: Sequence[RecordSource | None]
) -> list[list[Any]]:
    """The rows of patients.csv for ``outcomes`` (with their :func:`deciding_sources`), in their order."""
    return [
        [
            outcome.master_pat_id,
            outcome.measure_id,
            outcome.collection_type,  # StrEnums: the csv writer writes their text
            outcome.outcome,
            outcome.performance_date.isoformat() if outcome.performance_date else None,
            ";".join(outcome.source_tins),
            *_where(source),
            len(outcome.source_keys),
        ]
        for outcome, source in zip(outcomes, deciding, strict=True)
    ]


def patients_csv(outcomes: Sequence[PatientOutcome], sources: dict[str, RecordSource] | None = None) -> bytes:
    """One row per patient and measure instance, with the deciding record's TIN, file, row (or QRDA-I
    document) and encounter id, so a result can be traced to the chart."""
    ordered = sorted(outcomes, key=patient_key)
    return _csv(PATIENT_COLUMNS, patient_rows(ordered, deciding_sources(ordered, sources or {})))


def performance_gap(performance: Performance, *, inverse: bool) -> str | None:
    """Why an outcome of ``performance`` counts against its measure instance, or None when it does not."""
    if performance is Performance.DENOMINATOR_ONLY:
        return "no performance reported (lowers data completeness)"
    if performance is Performance.NOT_MET and not inverse:
        return "not met"
    if performance is Performance.MET and inverse:
        return "met on an inverse measure (e.g. HbA1c > 9% or missing)"
    return None


def gap_key(row: Sequence[Any]) -> tuple[Any, ...]:
    """The order of a gaps-<tin>.csv: measure, collection type, patient."""
    return (row[1], row[2], row[3])


def gap_rows_by_tin(
    outcomes: Sequence[PatientOutcome],
    deciding: Sequence[RecordSource | None],
    inverse: dict[tuple[str, str], bool],
) -> dict[str, list[list[Any]]]:
    """The gap rows of ``outcomes`` (with their :func:`deciding_sources`) per TIN (the deciding record's,
    else the first source TIN), sorted."""
    by_tin: dict[str, list[list[Any]]] = {}
    for outcome, source in zip(outcomes, deciding, strict=True):
        instance = (outcome.measure_id, outcome.collection_type.value)
        gap = performance_gap(outcome.outcome, inverse=inverse.get(instance, False))
        if gap is None:
            continue
        tin = source.tin if source else (outcome.source_tins[0] if outcome.source_tins else "unknown")
        by_tin.setdefault(tin, []).append(
            [
                tin,
                outcome.measure_id,
                outcome.collection_type,  # a StrEnum: the csv writer writes its text
                outcome.master_pat_id,
                gap,
                outcome.performance_date.isoformat() if outcome.performance_date else None,
                *_where(source)[1:],
                ";".join(t for t in outcome.source_tins if t != tin),
            ]
        )
    return {tin: sorted(rows, key=gap_key) for tin, rows in by_tin.items()}


def gap_file_name(tin: str) -> str:
    return f"gaps-{tin}.csv"


def inverse_of_instances(stats: Iterable[MeasureStats]) -> dict[tuple[str, str], bool]:
    return {(s.measure_id, s.collection_type.value): s.inverse for s in stats}


def gaps_csvs(scored: ScoredSync) -> dict[str, bytes]:
    """``gaps-<tin>.csv`` per TIN: the patients of that TIN who count against a measure instance, with the
    deciding record (file, row, encounter id) to find the chart."""
    outcomes = scored.inputs.outcomes
    deciding = deciding_sources(outcomes, scored.inputs.record_sources)
    by_tin = gap_rows_by_tin(outcomes, deciding, inverse_of_instances(scored.inputs.stats))
    return {gap_file_name(tin): _csv(GAP_COLUMNS, rows) for tin, rows in sorted(by_tin.items())}


DuplicateCells = dict[str, tuple[set[str], set[str]]]  # MASTER_PAT_ID -> (its TINs, its source rows)


def duplicate_cells(
    wanted: Iterable[str], outcomes: Iterable[PatientOutcome], sources: Mapping[str, RecordSource]
) -> DuplicateCells:
    """The TINs and source rows (``<tin> <file>[:<row>]``) of the ``wanted`` patients' outcomes."""
    wanted = set(wanted)
    cells: DuplicateCells = {}
    for outcome in outcomes:
        if outcome.master_pat_id not in wanted:
            continue
        tins, rows = cells.setdefault(outcome.master_pat_id, (set(), set()))
        tins.update(outcome.source_tins)
        for key in outcome.source_keys:
            source = sources.get(key)
            if source is not None:
                where = source.source_file + (f":{source.source_line}" if source.source_line else "")
                rows.add(f"{source.tin} {where}")
    return cells


def duplicate_patients(pairs: Iterable[dict[str, str]]) -> set[str]:
    return {id_ for p in pairs for id_ in (p["master_pat_id_a"], p["master_pat_id_b"])}


def probable_duplicates_file(pairs: Sequence[dict[str, str]], cells: DuplicateCells) -> bytes:
    """probable-duplicates.csv from the pairs and their patients' :func:`duplicate_cells`."""

    def of(master_id: str) -> list[str]:
        tins, rows = cells.get(master_id, ((), ()))
        return [";".join(sorted(tins)), ";".join(sorted(rows))]

    rows = [
        [
            pair["master_pat_id_a"],
            pair["master_pat_id_b"],
            DUPLICATE_REASONS.get(pair.get("reason", ""), pair.get("reason", "")),
            *of(pair["master_pat_id_a"]),
            *of(pair["master_pat_id_b"]),
            "",
        ]
        for pair in pairs
    ]
    return _csv(DUPLICATE_COLUMNS, rows)


def probable_duplicates_csv(
    pairs: Sequence[dict[str, str]], outcomes: Sequence[PatientOutcome], sources: dict[str, RecordSource]
) -> bytes:
    """The pairs of patients that look alike (never merged), with their TINs and source rows, and an
    empty ``decision`` column a reviewer fills with ``same`` or ``not_same`` (docs/LOCAL.md)."""
    return probable_duplicates_file(pairs, duplicate_cells(duplicate_patients(pairs), outcomes, sources))
