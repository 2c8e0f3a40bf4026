"""The one sequence of every table reader (roster, templates, denominator-only counts, providers, duplicate
decisions): read the table or refuse the file, find the spec's columns or reject the file with every row
counted, then read each row behind a barrier and reject the rows that are wrong, with their row number.

A reader declares its columns as a :class:`TableSpec` (required and optional columns, each with its
aliases and the label its messages use) and keeps only what is its own: the values of a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Self, TypeVar

from aco_sync.domain.records import IngestIssue
from aco_sync.ingest.tabular import Table, TableError, TableRow, did_you_mean, find_columns, read_table

Aliases = Mapping[str, tuple[str, ...]]
V = TypeVar("V")
T = TypeVar("T")


@dataclass(frozen=True)
class TableSpec:
    """The columns of one kind of table.

    ``missing_message`` is the file-level reason when required columns are missing; ``{missing}`` is
    replaced by their labels joined with ``missing_joiner``. ``hints_among`` are the columns the
    did-you-mean hint compares an unknown header with (default: this spec's own columns)."""

    required: Aliases
    missing_message: str
    optional: Aliases = field(default_factory=lambda: MappingProxyType({}))
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    missing_joiner: str = ", "
    hints_among: Aliases | None = None

    @property
    def columns(self) -> dict[str, tuple[str, ...]]:
        """Every column of the spec, required first, with its aliases."""
        return {**self.required, **self.optional}

    @property
    def names(self) -> list[str]:
        """The canonical column names, required first (what a file written for this spec has)."""
        return list(self.columns)

    def label(self, name: str) -> str:
        return self.labels.get(name, name)

    def find_columns(self, header: list[str]) -> dict[str, str]:
        """Each of the spec's columns that the header names -> the header column."""
        return find_columns(header, self.columns)

    def missing_issue(self, table: Table, missing: list[str]) -> IngestIssue:
        hints = did_you_mean(table.header, self.hints_among or self.columns, missing)
        reason = self.missing_message.format(missing=self.missing_joiner.join(self.label(m) for m in missing))
        return IngestIssue(
            file=table.file_name, line=1, reason=reason + hints, code="missing_column", tin=table.issues.tin
        )


def read_spec_columns(table: Table, spec: TableSpec) -> tuple[dict[str, str] | None, int]:
    """The spec's columns the table has, or (when a required one is missing) ``None`` after one
    ``missing_column`` issue; then every row is drained and counted, rejected with the file. The count
    is the second item (0 when the columns were found)."""
    columns = spec.find_columns(table.header)
    missing = [c for c in spec.required if c not in columns]
    if not missing:
        return columns, 0
    table.issues.add(spec.missing_issue(table, missing))
    return None, sum(1 for _ in table.rows)  # every row is counted, and rejected with the file


@dataclass(slots=True)
class TableReadResult:
    """What every table reader reports besides the values it read: the issues, the rows read and
    rejected, and whether the file was refused (nothing of it used)."""

    issues: list[IngestIssue] = field(default_factory=list)
    rows_total: int = 0
    rows_rejected: int = 0
    refused: bool = False

    def read_table(
        self, file_name: str, data: bytes, read: Callable[[Table], None], *, tin: str | None = None
    ) -> Self:
        """This result once ``read`` went through the file's table (filling it), with the table's row
        counts and issues; a file that cannot be read at all gives a new refused result with its issue."""
        table = read_or_refuse(file_name, data, read, tin=tin)
        if isinstance(table, IngestIssue):
            return type(self)(issues=[table], refused=True)
        self.rows_total = table.rows_read
        self.rows_rejected += table.rows_rejected
        self.issues = table.issues.finish()
        return self

    def accepted_rows(
        self,
        table: Table,
        read: Callable[[TableRow], tuple[list[str], V | None]],
        code: Callable[[list[str]], str],
    ) -> Iterator[tuple[TableRow, V]]:
        """Each row of the table ``read`` accepts, with what it read; ``read`` gives a row's errors and
        value, behind the per-row barrier (no cell value can stop the file). A row with errors is
        rejected: counted, with its issue (``code(errors)``)."""
        return self._accepted(table, ((row.line, row) for row in table.rows), read, code)

    def accepted_cells(
        self,
        table: Table,
        read: Callable[[tuple[int, list[str]]], tuple[list[str], V | None]],
        code: Callable[[list[str]], str],
    ) -> Iterator[tuple[tuple[int, list[str]], V]]:
        """:meth:`accepted_rows` over ``table.cells`` (no dict per row): ``read`` gets a row's line and
        cells."""
        return self._accepted(table, ((line, (line, cells)) for line, cells in table.cells), read, code)

    def _accepted(
        self,
        table: Table,
        items: Iterator[tuple[int, T]],
        read: Callable[[T], tuple[list[str], V | None]],
        code: Callable[[list[str]], str],
    ) -> Iterator[tuple[T, V]]:
        for line, item in items:
            try:
                errors, value = read(item)
            except Exception as exc:
                errors, value = [unreadable_value(exc)], None
            if errors or value is None:
                self.rows_rejected += 1
                table.issues.add(rejected_row(table, line, errors, code(errors)))
                continue
            yield item, value


def read_or_refuse(
    file_name: str, data: bytes, read: Callable[[Table], None], *, tin: str | None = None
) -> Table | IngestIssue:
    """The table, after ``read`` went through it; or the issue of a file that cannot be read at all (or,
    mid-way, whose size or structure is refused): nothing of such a file is used."""
    try:
        table = read_table(file_name, data, tin=tin)
        read(table)
    except TableError as exc:
        return IngestIssue(file=file_name, reason=exc.reason, line=exc.line, code=exc.code, tin=tin)
    return table


def rejected_row(
    table: Table, line: int, errors: list[str], code: str, *, verb: str = "rejected"
) -> IngestIssue:
    """``Row 7 rejected: the NPI is missing; the gender is missing.``"""
    return IngestIssue(
        file=table.file_name,
        line=line,
        reason=f"Row {line} {verb}: {'; '.join(errors)}.",
        code=code,
        tin=table.issues.tin,
    )


def unreadable_value(exc: Exception) -> str:
    """The reason of a row the per-row barrier caught: names the kind of error, never the value."""
    return f"a value in it could not be read ({type(exc).__name__})"
