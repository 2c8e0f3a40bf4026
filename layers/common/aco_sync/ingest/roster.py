"""The ACO's Medicare roster (CSV or XLSX): MBI, names, birth date, gender, optional per-measure
eligibility flags. Every row is validated; rejected rows become issues with their row number."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.records import IngestIssue, RosterEntry
from aco_sync.ingest.table_spec import (
    TableReadResult,
    TableSpec,
    read_spec_columns,
)
from aco_sync.ingest.tabular import (
    Table,
    column_label,
    parse_birth_date,
    parse_flag,
    parse_gender,
    parse_mbi,
)

ROSTER = TableSpec(
    required={
        "mbi": ("medicare_beneficiary_identifier", "beneficiary_mbi", "bene_mbi_id", "mbi_id"),
        "first_name": ("firstname", "first", "given_name", "bene_1st_name", "bene_first_name"),
        "last_name": ("lastname", "last", "family_name", "surname", "bene_last_name"),
        "birth_date": ("date_of_birth", "dob", "birthdate", "bene_brth_dt", "bene_birth_dt"),
        "gender": ("sex", "bene_sex_cd", "bene_sex"),
    },
    # the optional columns are per-measure eligibility flags, named after the catalog's measures
    labels={
        "mbi": "MBI",
        "first_name": "first name",
        "last_name": "last name",
        "birth_date": "birth date",
        "gender": "gender",
    },
    missing_message="The roster has no {missing} column; expected columns: "
    "mbi, first_name, last_name, birth_date, gender (plus optional measure columns).",
)
CACHED_VALUES = 1 << 16  # distinct values of one column whose parse is remembered while a roster is read
FLAG_SUFFIXES = ("_eligible", "_eligibility", "_flag", "_rank", "_sample")


@dataclass(slots=True)
class RosterReadResult(TableReadResult):
    entries: list[RosterEntry] = field(default_factory=list)
    rows_accepted: int = 0
    eligibility_columns: dict[str, str] = field(default_factory=dict)  # column -> catalog measure id
    file_errors: bool = False  # a problem with the whole file (e.g. a missing column)

    @property
    def damaged(self) -> bool:
        """A roster with a file-level error never becomes the active roster."""
        return self.refused or self.file_errors or not self.entries


def read_roster(file_name: str, data: bytes, *, catalog: MeasureCatalog) -> RosterReadResult:
    """Read and validate a roster upload. Never raises for bad content: a file that cannot be read at all
    yields one file-level issue and no entries (so it never becomes the active roster)."""
    result = RosterReadResult()
    result = result.read_table(file_name, data, lambda t: _read_rows(t, result, catalog))
    if result.refused:
        return result
    result.rows_accepted = len(result.entries)
    if not result.entries:
        result.issues.append(
            IngestIssue(
                file=file_name,
                reason="The roster has no valid rows, so it does not become the active roster.",
                code="no_valid_rows",
            )
        )
    return result


def _read_rows(table: Table, result: RosterReadResult, catalog: MeasureCatalog) -> None:
    file_name = table.file_name
    columns, rejected = read_spec_columns(table, ROSTER)
    result.rows_rejected += rejected
    if columns is None:
        result.file_errors = True
        return
    used = set(columns.values())
    for index, name in enumerate(table.header):
        if not name or name in used:
            continue
        measure_id = _eligibility_measure(name, catalog)
        if measure_id is not None:
            result.eligibility_columns[name] = measure_id
        else:
            table.issues.add(
                IngestIssue(
                    file=file_name,
                    line=1,
                    reason=f"The header of {column_label(index)} is not a roster column or a known "
                    "measure; the column was ignored.",
                    severity="warning",
                    code="unknown_column",
                )
            )
    first_row_of_mbi: dict[str, int] = {}
    filled: set[str] = set()  # eligibility columns with a value in at least one row
    any_rows = False

    row_reader = _RosterRows(table, columns, result)
    eligibility = [(table.column_index[c], c) for c in result.eligibility_columns]
    width = len(table.header)  # cells are padded past the header (a short row reads blank cells)

    def read(row: tuple[int, list[str]]) -> tuple[list[str], RosterEntry | None]:
        nonlocal any_rows
        any_rows = True
        line, cells = row
        if len(cells) <= width:
            cells.extend([""] * (width + 1 - len(cells)))
        for at, column in eligibility:
            if column not in filled and cells[at].strip():
                filled.add(column)
        return row_reader.read(line, cells, first_row_of_mbi)

    for (line, _), entry in result.accepted_cells(table, read, _code_for):
        first_row_of_mbi[entry.mbi] = line
        result.entries.append(entry)
    for column, measure_id in result.eligibility_columns.items():
        if any_rows and column not in filled:
            table.issues.add(
                IngestIssue(
                    file=file_name,
                    line=1,
                    reason=f"The eligibility column for measure {measure_id} is blank in every row, so no "
                    f"beneficiary counts as eligible for {measure_id} and its MCQM instance stays empty; "
                    "fill it (Y/N) or remove the column.",
                    severity="warning",
                    code="blank_eligibility_column",
                )
            )


class _RosterRows:
    """The rows of one roster, read from their cells; each distinct birth date, gender and eligibility
    text is parsed once per file. Errors and their order are those of reading each row on its own."""

    def __init__(self, table: Table, columns: dict[str, str], result: RosterReadResult) -> None:
        index = table.column_index
        # the spec's columns (all required): mbi, first name, last name, birth date, gender, the order of
        # a row's errors
        self.at = tuple(
            index[columns[name]] for name in ("mbi", "first_name", "last_name", "birth_date", "gender")
        )
        self.eligibility = [
            (index[column], measure_id) for column, measure_id in result.eligibility_columns.items()
        ]
        self.flags = result.eligibility_columns != {}
        cached = functools.lru_cache(maxsize=CACHED_VALUES)
        self.birth_date = cached(functools.partial(parse_birth_date, today=date.today()))
        self.gender = cached(parse_gender)
        self.eligible = cached(_eligible)

    def read(
        self, line: int, cells: list[str], first_row_of_mbi: dict[str, int]
    ) -> tuple[list[str], RosterEntry | None]:
        errors: list[str] = []
        mbi_at, first_at, last_at, born_at, gender_at = self.at
        mbi = first_name = last_name = born = gender = None
        raw = cells[mbi_at].strip()
        if not raw:
            errors.append("the MBI is missing")
        else:
            try:
                mbi = parse_mbi(raw)
            except ValueError as exc:  # parser messages never echo PHI fields (MBI, dates)
                errors.append(f"the MBI {exc}")
        first_name = " ".join(cells[first_at].split())
        if not first_name:
            errors.append("the first name is missing")
        last_name = " ".join(cells[last_at].split())
        if not last_name:
            errors.append("the last name is missing")
        raw = cells[born_at].strip()
        if not raw:
            errors.append("the birth date is missing")
        else:
            try:
                born = self.birth_date(raw)
            except ValueError as exc:
                errors.append(f"the birth date {exc}")
        raw = cells[gender_at].strip()
        if not raw:
            errors.append("the gender is missing")
        else:
            try:
                gender = self.gender(raw)
            except ValueError as exc:  # gender values are not PHI
                errors.append(f"the gender {exc}")
        eligible: set[str] = set()
        for at, measure_id in self.eligibility:
            try:
                if self.eligible(cells[at]):
                    eligible.add(measure_id)
            except ValueError as exc:
                errors.append(f"the {measure_id} eligibility value {exc}")
        if isinstance(mbi, str) and not errors and mbi in first_row_of_mbi:
            errors.append(f"its MBI is already on row {first_row_of_mbi[mbi]} (duplicate MBI)")
        if errors or not isinstance(mbi, str):
            return errors, None
        return errors, RosterEntry(
            mbi=mbi,
            first_name=first_name,
            last_name=last_name,
            birth_date=born,  # type: ignore[arg-type]
            gender=gender,  # type: ignore[arg-type]
            eligible_measures=frozenset(eligible) if self.flags else None,
            source_line=line,
        )


def _eligibility_measure(column: str, catalog: MeasureCatalog) -> str | None:
    """The catalog measure an eligibility column names: ``M001``, ``001``, ``CMS122``, ``001SSP`` or a CMS
    Web Interface name (``DM``, ``HTN``, ``PREV_5`` ...), optionally suffixed ``_eligible``/``_rank``/..."""
    base = column
    for suffix in FLAG_SUFFIXES:
        base = base.removesuffix(suffix)
    measure = catalog.resolve(base)
    if measure is not None:
        return measure.id
    found = catalog.by_web_interface_name(base)  # DM, HTN, PREV_5 ... (the measure registry's)
    return found.id if found is not None else None


def _eligible(text: str) -> bool:
    value = text.strip()
    if (
        value.isascii() and value.isdigit()
    ):  # CMS sends sample ranks: any positive rank means the beneficiary is in the sample
        return int(value) > 0
    return parse_flag(value)


def _code_for(errors: list[str]) -> str:
    joined = " ".join(errors)
    if "duplicate MBI" in joined:
        return "duplicate_mbi"
    if "missing" in joined:
        return "missing_value"
    if "date" in joined or "future" in joined or "1900" in joined:
        return "invalid_date"
    return "invalid_value"
