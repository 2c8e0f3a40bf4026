"""CQM / MCQM template files (CSV or XLSX) of a member clinic: one row per patient encounter/performance
per measure, or (when the header has ``denominator_only_count``) denominator-only counts per measure."""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

from aco_sync.domain.bulk import gc_paused
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
    rows = _TemplateRows(table, columns, result, tin=tin, performance_year=performance_year, catalog=catalog)
    with gc_paused():  # a record per row, nothing cyclic: no full collections over the growing list
        for line, cells in table.cells:
            try:
                rows.read(line, cells)
            except Exception as exc:  # the per-row barrier: no cell value can stop the file or the clinic
                _reject(result, table, line, [unreadable_value(exc)], code="unreadable_row")


_Parsed = tuple[Any, str | None]  # a cell's value (None when blank or wrong) and its error, if any
CACHED_VALUES = 1 << 16  # distinct values of one column whose parse is remembered while a file is read


_ROW_CELLS = (
    "measure_id",
    "collection_type",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "performance",
    "performance_date",
    "npi",
    "mbi",
    "tin",
    "hba1c",
    "systolic",
    "diastolic",
    "patient_id",
    "encounter_id",
)


class _TemplateRows:
    """The rows of one template file, read straight from their cells (no dict per row). Each distinct
    text of a column is parsed once (dates, NPIs, genders, measure ids repeat on most rows): per file,
    dates once per process (module level); what a row gives, and the wording and order of its errors,
    is that of reading it on its own."""

    def __init__(
        self,
        table: Table,
        columns: dict[str, str],
        result: TemplateReadResult,
        *,
        tin: str,
        performance_year: int,
        catalog: MeasureCatalog,
    ) -> None:
        self.table, self.result, self.tin, self.year = table, result, tin, performance_year
        self.file_name = table.file_name
        self.first_row_of_key: dict[str, int] = {}
        index = {f: table.column_index[c] for f, c in columns.items()}
        # cells are padded past the header: a column the file does not have reads a blank cell there
        self.width = len(table.header)
        at = {name: index.get(name, self.width) for name in (*TEMPLATE_COLUMNS, *OPTIONAL_COLUMNS)}
        # a row's cells of these fields, in this order, taken in one C call per row
        self.cells_of_row = operator.itemgetter(*(at[name] for name in _ROW_CELLS))
        # the parsers below are closures kept on self: they must not refer to self (a cycle would keep
        # the file's records in memory until a full collection of the garbage collector)
        has_type = "collection_type" in columns

        def measure_and_type(
            measure_text: str, type_text: str
        ) -> tuple[str | None, CollectionType | None, str, tuple[str, ...]]:
            errors: list[str] = []
            values = {"m": measure_text, "t": type_text}
            where = {"measure_id": "m", "collection_type": "t"} if has_type else {"measure_id": "m"}
            measure_id, collection = _measure_and_type(
                values, where, catalog, errors, default=CollectionType.CQM
            )
            return measure_id, collection, str(collection) if collection else "", tuple(errors)

        self.measure_and_type = _cached(measure_and_type)
        # dates: shared by every file the process reads (see _PERFORMANCE_DATE); the rest per file
        self.birth_date = _birth_date_parser(date.today())
        self.performance_date = _PERFORMANCE_DATE
        self.gender = _field_parser("gender", parse_gender)
        self.npi = _field_parser("NPI", parse_npi)
        self.mbi = _field_parser("MBI", parse_mbi)
        self.row_tin = _field_parser("TIN", parse_tin)
        self.performance = _cached(_performance)
        self.hba1c = _cached(functools.partial(_number_of, name="hba1c", integer=False))
        self.systolic = _cached(functools.partial(_number_of, name="systolic", integer=True))
        self.diastolic = _cached(functools.partial(_number_of, name="diastolic", integer=True))

    def read(self, line: int, cells: list[str]) -> None:
        if len(cells) <= self.width:
            cells.extend([""] * (self.width + 1 - len(cells)))
        (
            measure_cell,
            collection_type_cell,
            first_name_cell,
            last_name_cell,
            birth_date_cell,
            gender_cell,
            performance_cell,
            performance_date_cell,
            npi_cell,
            mbi_cell,
            tin_cell,
            hba1c_cell,
            systolic_cell,
            diastolic_cell,
            patient_id_cell,
            encounter_id_cell,
        ) = self.cells_of_row(cells)
        errors: list[str] = []
        measure_id, collection, collection_text, measure_errors = self.measure_and_type(
            measure_cell.strip(), collection_type_cell.strip()
        )
        if measure_errors:
            errors.extend(measure_errors)
        first_name = " ".join(first_name_cell.split())
        if not first_name:
            errors.append("the first name is missing")
        last_name = " ".join(last_name_cell.split())
        if not last_name:
            errors.append("the last name is missing")
        raw = birth_date_cell.strip()
        birth, error = self.birth_date(raw) if raw else (None, "the birth date is missing")
        if error:
            errors.append(error)
        raw = gender_cell.strip()
        gender, error = self.gender(raw) if raw else (None, "the gender is missing")
        if error:
            errors.append(error)
        performance = self.performance(performance_cell.strip())
        if performance is None:
            errors.append(
                "the performance is not MET, NOT_MET, DENOMINATOR_EXCLUSION, DENOMINATOR_EXCEPTION or blank"
            )
        raw = performance_date_cell.strip()
        performance_date, date_text = None, ""
        if raw:
            parsed, error = self.performance_date(raw)
            if error:
                errors.append(error)
            elif parsed[0].year != self.year:
                errors.append(f"the performance date is not in performance year {self.year}")
            else:
                performance_date, date_text = parsed
        elif performance is not None and performance is not Performance.DENOMINATOR_ONLY:
            errors.append("the performance date is missing")
        raw = npi_cell.strip()
        npi, error = self.npi(raw) if raw else (None, "the NPI is missing")
        if error:
            errors.append(error)
        mbi = None
        raw = mbi_cell.strip()
        if raw:
            mbi, error = self.mbi(raw)
            if error:
                errors.append(error)
        raw = tin_cell.strip()
        if raw:
            row_tin, error = self.row_tin(raw)
            if error:
                errors.append(error)
            elif row_tin != self.tin:
                errors.append(f"the row's TIN is not {self.tin}, the TIN of the file's folder")
        hba1c = systolic = diastolic = None
        raw = hba1c_cell.strip()
        if raw:
            hba1c, error = self.hba1c(raw)
            if error:
                errors.append(error)
        raw = systolic_cell.strip()
        if raw:
            systolic, error = self.systolic(raw)
            if error:
                errors.append(error)
        raw = diastolic_cell.strip()
        if raw:
            diastolic, error = self.diastolic(raw)
            if error:
                errors.append(error)
        if errors or measure_id is None or collection is None or performance is None:
            _reject(self.result, self.table, line, errors)
            return
        assert birth is not None and isinstance(gender, Gender) and isinstance(npi, str)
        birth_date, birth_text = birth
        patient_id = patient_id_cell.strip()
        content = "|".join(
            (
                measure_id,
                collection,
                performance,
                date_text,
                first_name.casefold(),
                last_name.casefold(),
                birth_text,
                gender,
                mbi or "",
                npi,
                patient_id,
                str(hba1c) if hba1c is not None else "",
                str(systolic) if systolic is not None else "",
                str(diastolic) if diastolic is not None else "",
            )
        )
        tin = self.tin
        encounter_id = encounter_id_cell.strip()
        if encounter_id:
            source_key = f"{tin}:template:{encounter_id}:{measure_id}:{collection_text}"
        else:
            source_key = (
                f"{tin}:template:{hashlib.sha256(f'{self.file_name}|{content}'.encode()).hexdigest()[:32]}"
            )
        first_row_of_key = self.first_row_of_key
        if source_key in first_row_of_key:
            what = "encounter id and measure" if encounter_id else "content"
            duplicate = f"same {what} as row {first_row_of_key[source_key]} (duplicate)"
            _reject(self.result, self.table, line, [duplicate], code="duplicate_row")
            return
        first_row_of_key[source_key] = line
        self.result.records.append(
            PerformanceRecord(  # positionally, in field order (the fastest call; records only grow)
                tin,
                source_key,
                measure_id,
                collection,
                performance,
                performance_date,
                first_name,
                last_name,
                birth_date,
                gender,
                mbi,
                npi,
                patient_id or None,
                self.file_name,
                line,
                float(hba1c) if hba1c is not None else None,
                int(systolic) if systolic is not None else None,
                int(diastolic) if diastolic is not None else None,
                hashlib.sha256(content.encode()).hexdigest()[:32],
            )
        )


def _date_and_text(raw: str) -> tuple[date, str]:
    parsed = parse_date(raw)
    return parsed, str(parsed)


def _performance(text: str) -> Performance | None:
    return PERFORMANCE_SYNONYMS.get(text.upper().replace(" ", "_").replace("-", "_"))


def _number_of(raw: str, *, name: str, integer: bool) -> _Parsed:
    errors: list[str] = []
    value = _number(raw, name, errors, integer=integer)
    return value, (errors[0] if errors else None)


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


def _field_parser(label: str, parser: Callable[[str], object]) -> Callable[[str], _Parsed]:
    """A cell's (value, None), or (None, why not) in the template's wording; each distinct text is
    parsed once (up to :data:`CACHED_VALUES` of them) by the parser returned."""

    def parse(raw: str) -> _Parsed:  # raw is not blank
        try:
            return parser(raw), None
        except ValueError as exc:
            return None, f"the {label} {exc}"

    return _cached(parse)


_F = TypeVar("_F", bound=Callable[..., Any])


def _cached(parse: _F) -> _F:
    """``parse`` remembering the result of each distinct text (up to :data:`CACHED_VALUES` of them)."""
    return cast("_F", functools.lru_cache(maxsize=CACHED_VALUES)(parse))


# Dates are parsed once per process, not per file (a worker reads many clinics, and their birth and
# performance dates are mostly the same few thousand days): the parse of a date's text is pure.
_PERFORMANCE_DATE = _field_parser("performance date", _date_and_text)


@functools.lru_cache(maxsize=2)  # today's (and, across midnight, yesterday's)
def _birth_date_parser(today: date) -> Callable[[str], _Parsed]:
    """The birth-date cell parser of the day: the date and its text (the record's content uses it)."""
    return _field_parser("birth date", functools.partial(_birth_date_and_text, today=today))


def _birth_date_and_text(raw: str, *, today: date) -> tuple[date, str]:
    parsed = parse_birth_date(raw, today=today)
    return parsed, str(parsed)
