"""A member clinic's provider list (``providers.csv``: npi, name, active)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aco_sync.domain.records import Provider
from aco_sync.ingest.table_spec import (
    TableReadResult,
    TableSpec,
    read_spec_columns,
)
from aco_sync.ingest.tabular import Table, TableRow, collapse_whitespace, parse_flag, parse_npi

PROVIDERS = TableSpec(
    required={
        "npi": ("provider_npi", "rendering_npi"),
        "name": ("provider_name", "full_name", "provider"),
    },
    optional={"active": ("is_active", "status", "enabled")},  # default: active
    missing_message="The provider list has no {missing} column; expected columns: npi, name, active.",
    missing_joiner=" or ",
)


@dataclass(slots=True)
class ProvidersReadResult(TableReadResult):
    providers: list[Provider] = field(default_factory=list)


def read_providers(file_name: str, data: bytes, *, tin: str) -> ProvidersReadResult:
    """Read one provider list. ``active`` is optional (default active). Never raises for bad content."""
    result = ProvidersReadResult()
    return result.read_table(file_name, data, lambda t: _read_rows(t, result, tin), tin=tin)


def _read_rows(table: Table, result: ProvidersReadResult, tin: str) -> None:
    columns, rejected = read_spec_columns(table, PROVIDERS)
    result.rows_rejected += rejected
    if columns is None:
        return
    first_row_of_npi: dict[str, int] = {}
    for row, provider in result.accepted_rows(
        table, lambda row: _read_row(row, columns, first_row_of_npi, tin), _code_for
    ):
        first_row_of_npi[provider.npi] = row.line
        result.providers.append(provider)


def _code_for(errors: list[str]) -> str:
    return "duplicate_row" if errors and "duplicate" in errors[-1] else "invalid_value"


def _read_row(
    row: TableRow, columns: dict[str, str], first_row_of_npi: dict[str, int], tin: str
) -> tuple[list[str], Provider | None]:
    errors: list[str] = []
    npi = ""
    try:
        npi = parse_npi(row.values.get(columns["npi"], ""))
    except ValueError as exc:
        errors.append(f"the NPI {exc}" if row.values.get(columns["npi"]) else "the NPI is missing")
    name = collapse_whitespace(row.values.get(columns["name"], ""))
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
