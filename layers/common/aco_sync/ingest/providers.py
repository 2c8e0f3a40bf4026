"""A member clinic's provider list (``providers.csv``: npi, name, active)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aco_sync.domain.records import IngestIssue, Provider
from aco_sync.ingest.tabular import (
    TableError,
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


def read_providers(file_name: str, data: bytes, *, tin: str) -> ProvidersReadResult:
    """Read one provider list. ``active`` is optional (default active). Never raises for bad content."""
    result = ProvidersReadResult()
    try:
        table = read_table(file_name, data)
    except TableError as exc:
        result.issues.append(
            IngestIssue(file=file_name, reason=exc.reason, line=exc.line, code=exc.code, tin=tin)
        )
        return result
    result.issues.extend(IngestIssue(i.file, i.reason, i.line, i.severity, i.code, tin) for i in table.issues)
    columns = find_columns(table.header, PROVIDER_COLUMNS)
    missing = [c for c in PROVIDER_COLUMNS if c not in columns]
    if missing:
        result.issues.append(
            IngestIssue(
                file=file_name,
                line=1,
                reason=f"The provider list has no {' or '.join(missing)} column; "
                "expected columns: npi, name, active.",
                code="missing_column",
                tin=tin,
            )
        )
        return result
    columns.update(find_columns(table.header, OPTIONAL_COLUMNS))
    first_row_of_npi: dict[str, int] = {}
    for row in table.rows:
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
            result.issues.append(
                IngestIssue(
                    file=file_name,
                    line=row.line,
                    reason=f"Row {row.line} rejected: {'; '.join(errors)}.",
                    code="duplicate_row" if "duplicate" in errors[-1] else "invalid_value",
                    tin=tin,
                )
            )
            continue
        first_row_of_npi[npi] = row.line
        result.providers.append(Provider(tin=tin, npi=npi, name=name, active=active))
    return result
