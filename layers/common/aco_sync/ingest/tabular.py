"""Reading tabular uploads (CSV, and XLSX through openpyxl) defensively, plus the field parsers the
roster, template and provider readers share.

Rules every reader follows: header names match case- and space-insensitively (``First Name``,
``first_name`` and ``FIRST-NAME`` are the same column); a UTF-8 byte order mark is accepted; a file
that is not UTF-8 but whose bytes are unambiguously Windows-1252/Latin-1 (charset detection) is decoded
as such with a warning; otherwise a line that is not UTF-8 is reported and skipped while the rest of
the file is read; reasons never contain patient data (names, birth dates, MBIs), only column names,
row numbers and non-PHI values. A header cell is never echoed either (a header-less file's first row
is patient data): unknown columns are named by position, with the known column they resemble.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath

from aco_sync.domain.records import Gender, IngestIssue
from aco_sync.domain.safe_echo import quoted_if_safe as quoted_if_safe  # re-exported for the readers

MAX_TABLE_BYTES = 50 * 1024 * 1024
MAX_XLSX_EXPANDED_BYTES = 200 * 1024 * 1024
MAX_XLSX_RATIO = 200
MAX_BAD_LINES_BEFORE_GIVING_UP = 20

_DOCTYPE_OR_ENTITY = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File Binary: .xls (and .doc)
_WESTERN_PUNCTUATION = set("\u00a0\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00b4\u00b7\u00ba\u00aa")


class TableError(Exception):
    """The file cannot be read as a table at all (reason says why, no PHI)."""

    def __init__(self, reason: str, *, line: int | None = None, code: str = "unreadable_file") -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.code = code


@dataclass(frozen=True, slots=True)
class TableRow:
    line: int  # 1-based row number in the file (the header is row 1)
    values: dict[str, str]  # normalised header -> stripped cell text


@dataclass(slots=True)
class Table:
    file_name: str
    header: list[str]  # normalised names, in file order
    original_header: list[str]
    rows: list[TableRow] = field(default_factory=list)
    issues: list[IngestIssue] = field(default_factory=list)


def normalise_header(name: str) -> str:
    """``" First  Name "`` -> ``"first_name"``; ``"Date-of-Birth"`` -> ``"date_of_birth"``."""
    text = name.replace("\ufeff", "").strip().lower()
    text = re.sub(r"[\s\-./]+", "_", text)
    return re.sub(r"_+", "_", text).strip("_")


def read_table(file_name: str, data: bytes) -> Table:
    """Read a CSV or XLSX upload into rows keyed by normalised header. Raises :class:`TableError`."""
    if len(data) > MAX_TABLE_BYTES:
        raise TableError(
            f"The file is over {MAX_TABLE_BYTES // 1_048_576} MB and is refused.", code="file_too_large"
        )
    suffix = PurePosixPath(file_name).suffix.lower()
    if suffix == ".xls" or data[:8] == _OLE_MAGIC:
        raise TableError(
            "The file is an Excel 97-2003 workbook (.xls), which ACO Sync does not read: open it in Excel "
            "and save it as Excel Workbook (.xlsx) or CSV UTF-8.",
            code="unsupported_xls",
        )
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        return _table_from_rows(file_name, _xlsx_rows(data), [])
    if suffix not in ("", ".csv", ".txt", ".tsv"):
        raise TableError(
            f"Unsupported file type {suffix!r}: upload CSV (UTF-8) or XLSX.", code="unknown_file_type"
        )
    text, issues = _decode_lines(file_name, data)
    dialect = _sniff_dialect(text, suffix)
    first_line = text.split("\n", 1)[0].strip().lower()
    if first_line.startswith("sep=") and len(first_line) == 5:  # Excel's "sep=;" hint line

        class Hinted(csv.excel):
            delimiter = first_line[4]

        dialect = Hinted
        text = "\n" + text.split("\n", 1)[1] if "\n" in text else ""  # keep row numbers
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)

    def numbered() -> Iterator[tuple[int, list[str]]]:
        previous_end = 0
        try:
            for cells in reader:
                yield previous_end + 1, cells
                previous_end = reader.line_num
        except csv.Error as exc:
            raise TableError(
                f"The file is not valid CSV: {exc}.", line=previous_end + 1, code="malformed_csv"
            ) from None

    return _table_from_rows(file_name, numbered(), issues)


def _sniff_dialect(text: str, suffix: str) -> type[csv.Dialect] | csv.Dialect:
    if suffix == ".tsv":
        return csv.excel_tab
    first_line = text.split("\n", 1)[0]
    if first_line.count(";") > first_line.count(",") and first_line.count(";") >= 2:

        class Semicolon(csv.excel):
            delimiter = ";"

        return Semicolon
    if first_line.count("\t") > first_line.count(",") and first_line.count("\t") >= 2:
        return csv.excel_tab
    return csv.excel


def _decode_lines(file_name: str, data: bytes) -> tuple[str, list[IngestIssue]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TableError(
            "The file is UTF-16 text; save it as CSV UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)').",
            code="bad_encoding",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    western = _western_text(data)
    if western is not None:
        return western, [
            IngestIssue(
                file=file_name,
                reason="The file is not UTF-8; its characters were read as Windows-1252 (Western European, "
                "Excel's 'CSV (Comma delimited)'). Check accented names, or save it as CSV UTF-8.",
                severity="warning",
                code="decoded_cp1252",
            )
        ]
    issues: list[IngestIssue] = []
    lines: list[str] = []
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            issues.append(
                IngestIssue(
                    file=file_name,
                    line=number,
                    reason=f"Row {number} is not valid UTF-8 text and was skipped; "
                    "save the file as CSV UTF-8.",
                    code="bad_encoding",
                )
            )
            lines.append("\n")  # keep row numbers stable
            if len(issues) > MAX_BAD_LINES_BEFORE_GIVING_UP:
                raise TableError(
                    "The file is not UTF-8 text (many rows have invalid characters); save it as CSV UTF-8 "
                    "(Excel: 'CSV UTF-8 (Comma delimited)').",
                    line=issues[0].line,
                    code="bad_encoding",
                ) from None
    return "".join(lines), issues


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _western_text(data: bytes) -> str | None:
    """``data`` decoded as CP1252 when the bytes say so unambiguously: no UTF-8 line among them, the whole
    file decodes as CP1252, every non-ASCII character it gives is a Latin letter or Western punctuation
    (``é``, ``ñ``, ``ü``, curly quotes, dashes), and charset detection (charset-normalizer) finds text,
    not binary. Else None (rows are then checked one by one and the bad ones reported)."""
    for line in data.splitlines():
        if not line.isascii() and _is_utf8(line):
            return None  # UTF-8 lines mixed with others: ambiguous, check the rows one by one
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None  # bytes CP1252 leaves undefined: not CP1252
    for char in set(text):
        if char.isascii():
            if not char.isprintable() and char not in "\t\r\n":
                return None  # control characters: binary, not text
        elif not (_is_latin_letter(char) or char in _WESTERN_PUNCTUATION):
            return None
    from charset_normalizer import from_bytes  # imported lazily: only non-UTF-8 uploads need it

    if from_bytes(data[:65536]).best() is None:
        return None  # the detector finds no text encoding at all
    return text


def _is_latin_letter(char: str) -> bool:
    return char.isalpha() and unicodedata.name(char, "").startswith("LATIN ")


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """Rows of the first worksheet. The package is checked first: size, expansion, no DTDs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TableError("The file is not a readable XLSX workbook.", code="unreadable_file") from None
    total = 0
    for member in members:
        total += member.file_size
        if member.compress_size and member.file_size / member.compress_size > MAX_XLSX_RATIO:
            raise TableError("The workbook's compression ratio is suspicious (a zip bomb?).", code="zip_bomb")
        if total > MAX_XLSX_EXPANDED_BYTES:
            raise TableError("The workbook expands to too much data and is refused.", code="zip_bomb")
    for member in members:
        if member.filename.lower().endswith((".xml", ".rels")):
            try:
                with archive.open(member) as stream:
                    content = stream.read(MAX_XLSX_EXPANDED_BYTES + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError):
                raise TableError(
                    "The workbook is damaged and cannot be read.", code="unreadable_file"
                ) from None
            if _DOCTYPE_OR_ENTITY.search(content):
                raise TableError(
                    "The workbook contains an XML DOCTYPE/ENTITY declaration and is refused for security.",
                    code="xml_doctype",
                )
    from openpyxl import load_workbook  # imported lazily: only XLSX uploads need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise TableError(
            f"The workbook cannot be read ({type(exc).__name__}).", code="unreadable_file"
        ) from None
    try:
        if not workbook.worksheets:
            raise TableError("The workbook has no worksheet.", code="empty_file")
        sheet = workbook.worksheets[0]
        rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        while True:
            try:
                number, row = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # openpyxl parses lazily: a damaged sheet fails while iterating
                raise TableError(
                    f"The workbook cannot be read ({type(exc).__name__}).", code="unreadable_file"
                ) from None
            yield number, [_cell_text(value) for value in row]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table_from_rows(
    file_name: str, rows: Iterable[tuple[int, list[str]]], issues: list[IngestIssue]
) -> Table:
    iterator = iter(rows)
    header_line, header_cells = 0, []
    for line, cells in iterator:
        if any(c.strip() for c in cells):
            header_line, header_cells = line, cells
            break
    if not header_cells:
        raise TableError("The file is empty: it has no header row.", code="empty_file")
    original = [c.replace("\ufeff", "").strip() for c in header_cells]
    header = [normalise_header(c) for c in original]
    table = Table(file_name=file_name, header=header, original_header=original, issues=issues)
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        if name and name in seen:
            table.issues.append(
                IngestIssue(
                    file=file_name,
                    line=header_line,
                    reason=f"The header of {column_label(index)} repeats the header of "
                    f"{column_label(seen[name])}; the first one is used.",
                    severity="warning",
                    code="duplicate_column",
                )
            )
        seen.setdefault(name, index)
    data_rows = 0
    for line, cells in iterator:
        if not any(c.strip() for c in cells):
            continue  # blank line
        data_rows += 1
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            table.issues.append(
                IngestIssue(
                    file=file_name,
                    line=line,
                    reason=f"Row {line} has {len(cells)} cells but the header has {len(header)} columns; "
                    "the row was rejected (a comma inside a value must be quoted).",
                    code="malformed_row",
                )
            )
            continue
        values: dict[str, str] = {}
        for index, name in enumerate(header):
            if name and name not in values:
                values[name] = cells[index].strip() if index < len(cells) else ""
        table.rows.append(TableRow(line=line, values=values))
    if not data_rows:
        table.issues.append(
            IngestIssue(
                file=file_name,
                line=header_line,
                reason="The file has a header but no data rows; nothing was read from it.",
                severity="warning",
                code="no_rows",
            )
        )
    return table


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def unknown_columns(header: list[str], known: Mapping[str, tuple[str, ...]]) -> list[int]:
    """0-based positions of the header's non-empty columns that no known field (or alias) names."""
    names = {name for canonical, aliases in known.items() for name in (canonical, *aliases)}
    return [i for i, name in enumerate(header) if name and name not in names]


def closest_field(
    name: str, known: Mapping[str, tuple[str, ...]], fields: Iterable[str] | None = None
) -> str | None:
    """The known field whose name or alias ``name`` most resembles (a misspelling), or None."""
    best, score = None, 0.0
    for canonical in fields if fields is not None else known:
        for candidate in (canonical, *known.get(canonical, ())):
            ratio = _similarity(name, candidate)
            if ratio > score:
                best, score = canonical, ratio
    return best if score >= 0.8 else None


def did_you_mean(header: list[str], known: Mapping[str, tuple[str, ...]], missing: Iterable[str]) -> str:
    """For missing fields: `` Did you mean `performance_date`? An unknown column (column 4) looks like
    a misspelling of it.`` (or ""). Columns are named by position: a header cell may be PHI."""
    unknown = unknown_columns(header, known)
    hints = []
    for field_name in missing:
        matches = [i for i in unknown if closest_field(header[i], known, [field_name]) == field_name]
        if matches:
            hints.append(
                f" Did you mean `{field_name}`? An unknown column (column {matches[0] + 1}) looks like a "
                "misspelling of it."
            )
    return "".join(hints)


def find_columns(header: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Map each canonical field to the header column that names it (first alias found)."""
    present = set(header)
    found: dict[str, str] = {}
    for canonical, names in aliases.items():
        for name in (canonical, *names):
            if name in present:
                found[canonical] = name
                break
    return found


# -- field parsers (raise ValueError with a PHI-free message) ------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%m-%d-%Y", "%Y/%m/%d", "%m/%d/%y")
DATE_FORMATS_HELP = "YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD"


def parse_date(text: str) -> date:
    value = text.strip()
    if "T" in value or " " in value:  # a datetime: keep the date part
        value = re.split(r"[T ]", value, maxsplit=1)[0]
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if fmt == "%m/%d/%y" and parsed > date.today():  # two-digit years: never in the future
            parsed = parsed.replace(year=parsed.year - 100)
        return parsed
    raise ValueError(f"is not a valid date (use {DATE_FORMATS_HELP})")


def parse_birth_date(text: str, *, today: date | None = None) -> date:
    born = parse_date(text)
    if born > (today or date.today()):
        raise ValueError("is in the future")
    if born.year < 1900:
        raise ValueError("is before 1900")
    return born


_GENDERS = {
    "F": Gender.FEMALE,
    "FEMALE": Gender.FEMALE,
    "W": Gender.FEMALE,
    "2": Gender.FEMALE,  # CMS BENE_SEX_CD
    "M": Gender.MALE,
    "MALE": Gender.MALE,
    "1": Gender.MALE,  # CMS BENE_SEX_CD
    "U": Gender.UNKNOWN,
    "UN": Gender.UNKNOWN,
    "UNKNOWN": Gender.UNKNOWN,
    "0": Gender.UNKNOWN,
}


def parse_gender(text: str) -> Gender:
    try:
        return _GENDERS[text.strip().upper()]
    except KeyError:
        raise ValueError("is not a gender (use F or M; U for unknown)") from None


_TRUE = {"Y", "YES", "TRUE", "T", "1", "X", "ACTIVE"}
_FALSE = {"N", "NO", "FALSE", "F", "0", "", "INACTIVE"}


def parse_flag(text: str) -> bool:
    value = text.strip().upper()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("is not Y/N (also accepted: 1/0, TRUE/FALSE, YES/NO)")


# The no-echo rule (docs/SECURITY.md "No patient data in messages"): an issue reason names the file,
# the row, the column and the kind of problem, never a cell's value or a header cell's text. The only
# values a reason may quote are those that cannot be PHI by construction: a measure id of the catalog's
# shape (M001, 001SSP, CMS122v13; not bare digits, which could be an age, a date or an identifier).
# Digits are never echoed: a birth date (19500203), an SSN, a phone number, an MRN or an NPI-looking
# number all have the shape of "digits".
def column_label(index: int) -> str:
    """How a reason names a column without its header text: ``"column 3 (C)"`` for index 2."""
    letters, number = "", index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return f"column {index + 1} ({letters})"


def normalise_name(text: str) -> str:
    """Collapse internal and surrounding whitespace; keep the user's spelling and case."""
    return " ".join(text.split())


_MBI = re.compile(
    r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]{2}\d{2}$"
)


def parse_mbi(text: str) -> str:
    """Normalise (upper case, no dashes/spaces) and validate a Medicare Beneficiary Identifier."""
    value = re.sub(r"[\s-]", "", text).upper()
    if not _MBI.match(value):
        raise ValueError("is not a valid Medicare Beneficiary Identifier (11 characters, e.g. 1EG4-TE5-MK73)")
    return value


def parse_npi(text: str) -> str:
    """Validate a National Provider Identifier: 10 digits with a valid Luhn check digit."""
    value = text.strip()
    if not re.fullmatch(r"\d{10}", value):
        raise ValueError("is not an NPI (10 digits)")
    if not npi_check_digit_ok(value):
        raise ValueError("is not a valid NPI (its check digit is wrong)")
    return value


def npi_check_digit_ok(npi: str) -> bool:
    digits = [int(d) for d in "80840" + npi]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def parse_tin(text: str) -> str:
    value = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"\d{9}", value):
        raise ValueError("is not a TIN (9 digits)")
    return value
