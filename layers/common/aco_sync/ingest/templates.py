"""CQM / MCQM template files (CSV or XLSX) of a member clinic: one row per patient encounter/performance
per measure, or (when the header has ``denominator_only_count``) denominator-only counts per measure."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.records import (
    CollectionType,
    DenominatorCount,
    Gender,
    IngestIssue,
    Performance,
    PerformanceRecord,
)
from aco_sync.ingest.table_spec import (
    TableReadResult,
    TableSpec,
    read_spec_columns,
    rejected_row,
    unreadable_value,
)
from aco_sync.ingest.tabular import (
    FileIssues,
    Table,
    TableRow,
    closest_field,
    collapse_whitespace,
    parse_birth_date,
    parse_date,
    parse_gender,
    parse_mbi,
    parse_npi,
    parse_tin,
    quoted_if_safe,
    unknown_columns,
)

TEMPLATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "measure_id": ("measure", "measure_number", "quality_id", "measure_no"),
    "first_name": ("firstname", "patient_first_name", "given_name"),
    "last_name": ("lastname", "patient_last_name", "family_name"),
    "birth_date": ("date_of_birth", "dob", "birthdate", "patient_dob"),
    "gender": ("sex", "patient_gender"),
    "performance_date": ("encounter_date", "date_of_service", "service_date", "performance_met_date"),
    "performance": ("performance_met", "numerator", "result", "outcome"),
    "npi": ("rendering_npi", "provider_npi"),
}
COLLECTION_TYPE_COLUMN: dict[str, tuple[str, ...]] = {
    "collection_type": ("collection", "submission_type", "type")
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    **COLLECTION_TYPE_COLUMN,
    "encounter_id": ("encounter", "visit_id"),
    "patient_id": ("mrn", "member_patient_id", "patient_number"),
    "mbi": ("medicare_beneficiary_identifier",),
    "hba1c": ("hba1c_percent", "a1c", "hemoglobin_a1c"),
    "systolic": ("systolic_bp", "sbp"),
    "diastolic": ("diastolic_bp", "dbp"),
    "tin": ("member_tin",),
}
COUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "measure_id": TEMPLATE_COLUMNS["measure_id"],
    "denominator_only_count": ("denominator_only", "count"),
}
LABELS = {
    "measure_id": "measure id",
    "first_name": "first name",
    "last_name": "last name",
    "birth_date": "birth date",
    "gender": "gender",
    "performance_date": "performance date",
    "performance": "performance",
    "npi": "NPI",
    "denominator_only_count": "denominator-only count",
}
_ANY_TEMPLATE_COLUMN = {**TEMPLATE_COLUMNS, **OPTIONAL_COLUMNS, **COUNT_COLUMNS}  # for did-you-mean hints
TEMPLATE = TableSpec(
    required=TEMPLATE_COLUMNS,
    optional=OPTIONAL_COLUMNS,
    labels=LABELS,
    missing_message="The template has no {missing} column; see docs/INPUT_FORMATS.md for the columns.",
    hints_among=_ANY_TEMPLATE_COLUMN,
)
DENOMINATOR_COUNTS = TableSpec(
    required=COUNT_COLUMNS,
    optional=COLLECTION_TYPE_COLUMN,
    labels=LABELS,
    missing_message="The denominator-only counts file has no {missing} column; "
    "see docs/INPUT_FORMATS.md for the columns.",
    hints_among=_ANY_TEMPLATE_COLUMN,
)
PERFORMANCE_SYNONYMS = {
    "": Performance.DENOMINATOR_ONLY,
    "DENOMINATOR_ONLY": Performance.DENOMINATOR_ONLY,
    "DENOMINATOR": Performance.DENOMINATOR_ONLY,
    "MET": Performance.MET,
    "PERFORMANCE_MET": Performance.MET,
    "NOT_MET": Performance.NOT_MET,
    "PERFORMANCE_NOT_MET": Performance.NOT_MET,
    "NOTMET": Performance.NOT_MET,
    "DENOMINATOR_EXCLUSION": Performance.DENOMINATOR_EXCLUSION,
    "EXCLUSION": Performance.DENOMINATOR_EXCLUSION,
    "DENOMINATOR_EXCEPTION": Performance.DENOMINATOR_EXCEPTION,
    "EXCEPTION": Performance.DENOMINATOR_EXCEPTION,
}
RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "hba1c": (Decimal("2"), Decimal("25")),
    "systolic": (Decimal(40), Decimal(300)),
    "diastolic": (Decimal(20), Decimal(200)),
}


@dataclass(slots=True)
class TemplateReadResult(TableReadResult):
    records: list[PerformanceRecord] = field(default_factory=list)
    denominator_counts: list[DenominatorCount] = field(default_factory=list)
    sink: FileIssues = field(default_factory=lambda: FileIssues(""), repr=False)

    @property
    def rows_accepted(self) -> int:
        return len(self.records) + len(self.denominator_counts)


def read_template(
    file_name: str, data: bytes, *, tin: str, performance_year: int, catalog: MeasureCatalog
) -> TemplateReadResult:
    """Read one template upload of member TIN ``tin``. Never raises for bad content."""
    result = TemplateReadResult()

    def read(table: Table) -> None:
        result.sink = table.issues
        if "denominator_only_count" in table.header:
            _read_counts(table, result, tin=tin, catalog=catalog)
        else:
            _read_rows(table, result, tin=tin, performance_year=performance_year, catalog=catalog)

    return result.read_table(file_name, data, read, tin=tin)


def _measure_and_type(
    row_values: dict[str, str],
    columns: dict[str, str],
    catalog: MeasureCatalog,
    errors: list[str],
    *,
    default: CollectionType | None = None,
) -> tuple[str | None, CollectionType | None]:
    """The row's catalog measure id and collection type. A blank or absent collection type is MCQM when
    the measure id is a Medicare CQM id (``001SSP``), else ``default`` (CQM for rows, MCQM for counts)."""
    measure_text = row_values.get(columns["measure_id"], "")
    measure = catalog.resolve(measure_text) if measure_text else None
    if not measure_text:
        errors.append("the measure id is missing")
    elif measure is None:
        errors.append(
            f"unknown measure{quoted_if_safe(measure_text, 'measure')} (known: {', '.join(catalog.ids)})"
        )
    measure_id = measure.id if measure else None
    column = columns.get("collection_type")
    type_text = (row_values.get(column, "") if column else "").strip().upper().replace(" ", "")
    if not type_text:
        if measure_text.strip().upper().endswith("SSP"):
            return measure_id, CollectionType.MCQM
        if default is None:
            errors.append("the collection type is missing (CQM or MCQM)")
        return measure_id, default
    if type_text in ("CQM", "REGISTRY"):
        return measure_id, CollectionType.CQM
    if type_text in ("MCQM", "MEDICARECQM", "MEDICARE_CQM"):
        return measure_id, CollectionType.MCQM
    if type_text == "ECQM":
        errors.append("collection type eCQM is read from QRDA-I files, not from templates")
    else:
        errors.append("the collection type is not CQM or MCQM")
    return measure_id, None


def _reject(result: TemplateReadResult, table: Table, line: int, errors: list[str], code: str = "") -> None:
    result.rows_rejected += 1
    joined = " ".join(errors)
    code = code or (
        "unknown_measure"
        if "unknown measure" in joined
        else "missing_value"
        if "missing" in joined
        else "invalid_date"
        if "date" in joined
        else "invalid_value"
    )
    result.sink.add(rejected_row(table, line, errors, code))


def _warn_unknown_columns(table: Table, result: TemplateReadResult, tin: str) -> None:
    """One warning per unknown template column, by position, with the known column it resembles."""
    known = TEMPLATE.columns
    for index in unknown_columns(table.header, known):
        close = closest_field(table.header[index], known)
        hint = f"; did you mean `{close}`?" if close else " (see docs/INPUT_FORMATS.md for the columns)."
        result.sink.add(
            IngestIssue(
                file=table.file_name,
                line=1,
                reason=f"An unknown column (column {index + 1}) was ignored{hint}",
                severity="warning",
                code="unknown_column",
                tin=tin,
            )
        )


def _read_counts(table: Table, result: TemplateReadResult, *, tin: str, catalog: MeasureCatalog) -> None:
    columns, rejected = read_spec_columns(table, DENOMINATOR_COUNTS)
    result.rows_rejected += rejected
    if columns is None:
        return
    sheet = _Sheet(table, result, columns, tin, catalog)
    first_row_of_count: dict[tuple[str, CollectionType], int] = {}
    sheet.read_each_row(lambda row: _read_count_row(sheet, row, first_row_of_count))


@dataclass(frozen=True, slots=True)
class _Sheet:
    """A template table being read: the table, the result it fills, its columns, the TIN, the catalog."""

    table: Table
    result: TemplateReadResult
    columns: dict[str, str]
    tin: str
    catalog: MeasureCatalog

    def read_each_row(self, read_row: Callable[[TableRow], None]) -> None:
        for row in self.table.rows:
            try:
                read_row(row)
            except Exception as exc:  # the per-row barrier: no cell value can stop the file or the clinic
                _reject(self.result, self.table, row.line, [unreadable_value(exc)], code="unreadable_row")

    def repeats(
        self, first_rows: dict[Any, int], key: Any, row: TableRow, duplicate: Callable[[int], str]
    ) -> bool:
        """Whether an earlier row had ``key``: the row is then rejected, ``duplicate(earlier row)`` saying
        why; otherwise it is the first row with that key."""
        earlier = first_rows.get(key)
        if earlier is not None:
            _reject(self.result, self.table, row.line, [duplicate(earlier)], code="duplicate_row")
            return True
        first_rows[key] = row.line
        return False


def _read_count_row(
    sheet: _Sheet, row: TableRow, first_row_of_count: dict[tuple[str, CollectionType], int]
) -> None:
    table, result, columns, tin, catalog = sheet.table, sheet.result, sheet.columns, sheet.tin, sheet.catalog
    errors: list[str] = []
    measure_id, collection = _measure_and_type(
        row.values, columns, catalog, errors, default=CollectionType.MCQM
    )
    raw = row.values.get(columns["denominator_only_count"], "")
    count = 0
    if not (raw.isascii() and raw.isdigit()):
        errors.append("the denominator-only count is not a whole number (0 or more)")
    else:
        count = int(raw)
    if errors or measure_id is None or collection is None:
        _reject(result, table, row.line, errors)
        return
    if sheet.repeats(
        first_row_of_count,
        (measure_id, collection),
        row,
        lambda earlier: (
            f"{measure_id} {collection} already has a denominator-only count on row {earlier} (duplicate)"
        ),
    ):
        return
    count_of_row = DenominatorCount(tin, measure_id, collection, count, table.file_name, row.line)
    result.denominator_counts.append(count_of_row)


def _read_rows(
    table: Table, result: TemplateReadResult, *, tin: str, performance_year: int, catalog: MeasureCatalog
) -> None:
    columns, rejected = read_spec_columns(table, TEMPLATE)
    result.rows_rejected += rejected
    if columns is None:
        return
    _warn_unknown_columns(table, result, tin)
    if "collection_type" not in columns:
        result.sink.add(
            IngestIssue(
                file=table.file_name,
                line=1,
                reason="The template has no collection_type column: rows are read as CQM, or MCQM when the "
                "measure id is a Medicare CQM id such as 001SSP.",
                severity="warning",
                code="missing_column",
                tin=tin,
            )
        )
    sheet = _Sheet(table, result, columns, tin, catalog)
    first_row_of_key: dict[str, int] = {}
    sheet.read_each_row(lambda row: _read_row(sheet, row, first_row_of_key, performance_year))


def _read_row(sheet: _Sheet, row: TableRow, first_row_of_key: dict[str, int], performance_year: int) -> None:
    table, result, columns, tin, catalog = sheet.table, sheet.result, sheet.columns, sheet.tin, sheet.catalog
    values = row.values
    errors: list[str] = []

    def text(field_name: str, values: dict[str, str] = values) -> str:
        column = columns.get(field_name)
        return values.get(column, "") if column else ""

    measure_id, collection = _measure_and_type(values, columns, catalog, errors, default=CollectionType.CQM)
    names = {}
    for name_field in ("first_name", "last_name"):
        names[name_field] = collapse_whitespace(text(name_field))
        if not names[name_field]:
            errors.append(f"the {LABELS[name_field]} is missing")
    birth_date = _parsed(text("birth_date"), "birth date", parse_birth_date, errors, required=True)
    gender = _parsed(text("gender"), "gender", parse_gender, errors, required=True)
    performance_text = text("performance").upper().replace(" ", "_").replace("-", "_")
    performance = PERFORMANCE_SYNONYMS.get(performance_text)
    if performance is None:
        errors.append(
            "the performance is not MET, NOT_MET, DENOMINATOR_EXCLUSION, DENOMINATOR_EXCEPTION or blank"
        )
    performance_date = _parsed(
        text("performance_date"),
        "performance date",
        parse_date,
        errors,
        required=performance is not None and performance is not Performance.DENOMINATOR_ONLY,
    )
    if isinstance(performance_date, date) and performance_date.year != performance_year:
        errors.append(f"the performance date is not in performance year {performance_year}")
    npi = _parsed(text("npi"), "NPI", parse_npi, errors, required=True)
    mbi = _parsed(text("mbi"), "MBI", parse_mbi, errors, required=False)
    row_tin = _parsed(text("tin"), "TIN", parse_tin, errors, required=False)
    if isinstance(row_tin, str) and row_tin != tin:
        errors.append(f"the row's TIN is not {tin}, the TIN of the file's folder")
    hba1c = _number(text("hba1c"), "hba1c", errors, integer=False)
    systolic = _number(text("systolic"), "systolic", errors, integer=True)
    diastolic = _number(text("diastolic"), "diastolic", errors, integer=True)
    if errors or measure_id is None or collection is None or performance is None:
        _reject(result, table, row.line, errors)
        return
    assert isinstance(birth_date, date) and isinstance(gender, Gender)
    encounter_id = text("encounter_id")
    content = "|".join(
        str(v)
        for v in (
            measure_id,
            collection,
            performance,
            performance_date or "",
            names["first_name"].casefold(),
            names["last_name"].casefold(),
            birth_date,
            gender,
            mbi or "",
            npi or "",
            text("patient_id"),
            hba1c if hba1c is not None else "",
            systolic if systolic is not None else "",
            diastolic if diastolic is not None else "",
        )
    )
    content_hash = hashlib.sha256(content.encode()).hexdigest()[:32]
    if encounter_id:
        source_key = f"{tin}:template:{encounter_id}:{measure_id}:{collection}"
    else:
        source_key = (
            f"{tin}:template:{hashlib.sha256(f'{table.file_name}|{content}'.encode()).hexdigest()[:32]}"
        )
    what = "encounter id and measure" if encounter_id else "content"
    if sheet.repeats(
        first_row_of_key, source_key, row, lambda earlier: f"same {what} as row {earlier} (duplicate)"
    ):
        return
    result.records.append(
        PerformanceRecord(
            tin=tin,
            source_key=source_key,
            measure_id=measure_id,
            collection_type=collection,
            performance=performance,
            performance_date=performance_date if isinstance(performance_date, date) else None,
            first_name=names["first_name"],
            last_name=names["last_name"],
            birth_date=birth_date,
            gender=gender,
            mbi=mbi if isinstance(mbi, str) else None,
            npi=npi if isinstance(npi, str) else None,
            member_patient_id=text("patient_id") or None,
            source_file=table.file_name,
            source_line=row.line,
            hba1c=float(hba1c) if hba1c is not None else None,
            systolic=int(systolic) if systolic is not None else None,
            diastolic=int(diastolic) if diastolic is not None else None,
            content_hash=content_hash,
        )
    )


def _parsed(raw: str, label: str, parser, errors: list[str], *, required: bool) -> object:  # type: ignore[no-untyped-def]
    if not raw:
        if required:
            errors.append(f"the {label} is missing")
        return None
    try:
        return parser(raw)
    except ValueError as exc:
        errors.append(f"the {label} {exc}")
        return None


def _number(raw: str, name: str, errors: list[str], *, integer: bool) -> Decimal | None:
    if not raw:
        return None
    if not raw.isascii() or len(raw) > 40:  # Decimal reads other scripts' digits and huge exponents
        errors.append(f"the {name} value is not a number")
        return None
    try:
        value = Decimal(raw.rstrip("%").strip())
    except InvalidOperation:
        errors.append(f"the {name} value is not a number")
        return None
    if not value.is_finite():  # NaN, sNaN, Infinity: Decimal accepts them, no measurement is one
        errors.append(f"the {name} value is not a number")
        return None
    if integer and value != value.to_integral_value():
        errors.append(f"the {name} value is not a whole number")
        return None
    low, high = RANGES[name]
    if not (low <= value <= high):
        errors.append(f"the {name} value is outside the plausible range {low}-{high}")
        return None
    return value
