"""A member clinic's provider list (``providers.csv``: npi, name, active)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aco_sync.domain.records import IngestIssue, Provider
from aco_sync.ingest.tabular import (
    Table,
    TableError,
    TableRow,
    did_you_mean,
    find_columns,
    normalise_name,
    parse_flag,
    parse_npi,
    read_table,
)

PROVIDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "npi": ("provider_npi", "rendering_npi"),
    "name": ("provider_name", "full_name", "provider"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"active": ("is_active", "status", "enabled")}


@dataclass(slots=True)
class ProvidersReadResult:
    providers: list[Provider] = field(default_factory=list)
    issues: list[IngestIssue] = field(default_factory=list)
    rows_total: int = 0
    rows_rejected: int = 0
    refused: bool = False


def read_providers(file_name: str, data: bytes, *, tin: str) -> ProvidersReadResult:
    """Read one provider list. ``active`` is optional (default active). Never raises for bad content."""
    result = ProvidersReadResult()
    try:
        table = read_table(file_name, data, tin=tin)
        _read_rows(table, result, tin)
    except TableError as exc:  # the file (or, mid-way, its size or structure) cannot be read: refused
        return ProvidersReadResult(
            issues=[IngestIssue(file=file_name, reason=exc.reason, line=exc.line, code=exc.code, tin=tin)],
            refused=True,
        )
    result.rows_total = table.rows_read
    result.rows_rejected += table.rows_rejected
    result.issues = table.issues.finish()
    return result


def _read_rows(table: Table, result: ProvidersReadResult, tin: str) -> None:
    file_name = table.file_name
    columns = find_columns(table.header, PROVIDER_COLUMNS)
    missing = [c for c in PROVIDER_COLUMNS if c not in columns]
    if missing:
        table.issues.add(
            IngestIssue(
                file=file_name,
                line=1,
                reason=f"The provider list has no {' or '.join(missing)} column; "
                "expected columns: npi, name, active."
                + did_you_mean(table.header, {**PROVIDER_COLUMNS, **OPTIONAL_COLUMNS}, missing),
                code="missing_column",
                tin=tin,
            )
        )
        for _ in table.rows:  # every row is counted, and rejected with the file
            result.rows_rejected += 1
        return
    columns.update(find_columns(table.header, OPTIONAL_COLUMNS))
    first_row_of_npi: dict[str, int] = {}
    for row in table.rows:
        try:
            errors, provider = _read_row(row, columns, first_row_of_npi, tin)
        except Exception as exc:  # the per-row barrier: no cell value can stop the file
            errors, provider = [f"a value in it could not be read ({type(exc).__name__})"], None
        if errors or provider is None:
            result.rows_rejected += 1
            table.issues.add(
                IngestIssue(
                    file=file_name,
                    line=row.line,
                    reason=f"Row {row.line} rejected: {'; '.join(errors)}.",
                    code="duplicate_row" if errors and "duplicate" in errors[-1] else "invalid_value",
                    tin=tin,
                )
            )
            continue
        first_row_of_npi[provider.npi] = row.line
        result.providers.append(provider)


def _read_row(
    row: TableRow, columns: dict[str, str], first_row_of_npi: dict[str, int], tin: str
) -> tuple[list[str], Provider | None]:
    errors: list[str] = []
    npi = ""
    try:
        npi = parse_npi(row.values.get(columns["npi"], ""))
    except ValueError as exc:
        errors.append(f"the NPI {exc}" if row.values.get(columns["npi"]) else "the NPI is missing")
    name = normalise_name(row.values.get(columns["name"], ""))
    if not name:
        errors.append("the provider name is missing")
    active = True
    if "active" in columns:
        try:
            active = (
                parse_flag(row.values.get(columns["active"], ""))
                if row.values.get(columns["active"])
                else True
            )
        except ValueError as exc:
            errors.append(f"active: {exc}")
    if npi and not errors and npi in first_row_of_npi:
        errors.append(f"the NPI is already on row {first_row_of_npi[npi]} (duplicate)")
    if errors:
        return errors, None
    return errors, Provider(tin=tin, npi=npi, name=name, active=active)
