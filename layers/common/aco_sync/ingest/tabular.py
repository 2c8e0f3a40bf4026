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
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

from aco_sync.domain.records import Gender, IngestIssue
from aco_sync.domain.safe_echo import quoted_if_safe as quoted_if_safe  # re-exported for the readers
from aco_sync.ingest.xml_checks import xml_declares_dtd

MAX_TABLE_BYTES = 50 * 1024 * 1024
MAX_XLSX_BYTES = 15 * 1024 * 1024  # openpyxl reads ~0.1 MB of workbook per CPU second: ~150 s at 15 MB
MAX_XLSX_EXPANDED_BYTES = 200 * 1024 * 1024
MAX_XLSX_RATIO = 200
MAX_BAD_LINES_BEFORE_GIVING_UP = 20
MAX_COLUMNS = 200  # named header columns; cells beyond the last named column are only checked for values
MAX_ROWS = 1_000_000  # data rows of one file (a 50 MB template of real rows has ~600,000)
MAX_EMPTY_ROWS = 100_000  # blank rows of one XLSX sheet (rows a sheet declares but leaves empty)
MAX_RECORD_LINES = 20  # physical lines one CSV row may span (a quoted value with line breaks)
MAX_ISSUES_PER_FILE = 200  # listed one by one; further problems of the file are counted, not kept

_NOT_XML_PARTS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".emf", ".wmf", ".tif", ".tiff", ".bin")
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
    values: dict[str, str]  # normalised header -> stripped cell text (only the cells the row has)


class FileIssues:
    """The issues of one file, bounded: the first ``limit`` are kept, the others only counted, so a file
    of a million bad rows costs a counter, not a million objects. ``finish`` adds the counting line."""

    def __init__(self, file_name: str, *, tin: str | None = None, limit: int = MAX_ISSUES_PER_FILE) -> None:
        self.file_name = file_name
        self.tin = tin
        self.limit = limit
        self.items: list[IngestIssue] = []
        self.unlisted: dict[str, int] = {}

    def add(self, issue: IngestIssue) -> None:
        if len(self.items) < self.limit:
            self.items.append(issue)
        else:
            self.unlisted[issue.severity] = self.unlisted.get(issue.severity, 0) + 1

    def extend(self, issues: Iterable[IngestIssue]) -> None:
        for issue in issues:
            self.add(issue)

    def finish(self) -> list[IngestIssue]:
        if self.unlisted:
            errors, warnings = self.unlisted.get("error", 0), self.unlisted.get("warning", 0)
            self.items.append(
                IngestIssue(
                    file=self.file_name,
                    reason=f"{errors} more rejected rows and {warnings} more warnings are not listed "
                    f"(only the first {self.limit} problems of a file are listed; every row is counted).",
                    severity="error" if errors else "warning",
                    code="more_issues",
                    tin=self.tin,
                )
            )
            self.unlisted = {}
        return self.items


@dataclass(slots=True)
class Table:
    """A table read lazily: iterate ``rows`` once; while it runs, rows the table reader itself rejects
    (a broken quote, too many cells, invalid UTF-8) are counted in ``rows_rejected`` and reported in
    ``issues``. ``rows_read`` counts every non-blank data row, handed out or rejected.

    ``cells`` is the same iteration without a dict per row (for readers that go through every row of
    large files): each row's line and raw cells (not stripped; a row may have fewer cells than the
    header), the cell of a column at ``column_index[name]``. Iterate one of ``rows`` and ``cells``."""

    file_name: str
    header: list[str]  # normalised names, in file order
    original_header: list[str]
    rows: Iterator[TableRow] = field(default_factory=lambda: iter(()))
    cells: Iterator[tuple[int, list[str]]] = field(default_factory=lambda: iter(()))
    column_index: dict[str, int] = field(default_factory=dict)  # normalised header -> its first cell
    issues: FileIssues = field(default_factory=lambda: FileIssues(""))
    rows_read: int = 0
    rows_rejected: int = 0


def normalise_header(name: str) -> str:
    """``" First  Name "`` -> ``"first_name"``; ``"Date-of-Birth"`` -> ``"date_of_birth"``."""
    text = name.replace("\ufeff", "").strip().lower()
    text = re.sub(r"[\s\-./]+", "_", text)
    return re.sub(r"_+", "_", text).strip("_")


UNCLOSED_QUOTE = (
    'it has a quote (") that is not closed on its line, so it was rejected and the next line was read as '
    "the next row (a quote inside a value must be doubled)"
)

# A source row: its 1-based line and cells, or its line and the PHI-free reason it cannot be read.
SourceRow = tuple[int, "list[str] | str"]


def read_table(file_name: str, data: bytes, *, tin: str | None = None) -> Table:
    """Read a CSV or XLSX upload into rows keyed by normalised header. Raises :class:`TableError` when
    the file cannot be read at all; a row that cannot be read is rejected on its own."""
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
    issues = FileIssues(file_name, tin=tin)
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        if len(data) > MAX_XLSX_BYTES:
            raise TableError(
                f"The workbook is over {MAX_XLSX_BYTES // 1_048_576} MB and is refused; save the sheet as "
                "CSV UTF-8 (up to 50 MB) or split it.",
                code="file_too_large",
            )
        return _table_from_rows(file_name, _xlsx_rows(data), issues)
    if suffix not in ("", ".csv", ".txt", ".tsv"):
        raise TableError(
            f"Unsupported file type {suffix!r}: upload CSV (UTF-8) or XLSX.", code="unknown_file_type"
        )
    text, bad_lines, western = _decode_lines(data)
    if western:
        issues.add(
            IngestIssue(
                file=file_name,
                reason="The file is not UTF-8; its characters were read as Windows-1252 (Western European, "
                "Excel's 'CSV (Comma delimited)'). Check accented names, or save it as CSV UTF-8.",
                severity="warning",
                code="decoded_cp1252",
                tin=tin,
            )
        )
    dialect = _sniff_dialect(text, suffix)
    first_line = text.split("\n", 1)[0].strip().lower()
    if first_line.startswith("sep=") and len(first_line) == 5:  # Excel's "sep=;" hint line

        class Hinted(csv.excel):
            delimiter = first_line[4]

        dialect = Hinted
        text = "\n" + text.split("\n", 1)[1] if "\n" in text else ""  # keep row numbers
    return _table_from_rows(file_name, _csv_rows(text, dialect, bad_lines), issues)


def _csv_rows(
    text: str, dialect: type[csv.Dialect] | csv.Dialect, bad_lines: set[int]
) -> Iterator[SourceRow]:
    """The CSV's rows, resynchronising at the next physical line whenever a row cannot be read: a quote
    that is not closed within ``MAX_RECORD_LINES`` lines (or that swallows lines into a row of the wrong
    width) rejects only the line it starts on, never the rows after it.

    A line without a quote character (most lines of most files) is one record whatever follows it: its
    cells are the line split at the delimiter, exactly what the csv module gives for it, without a
    csv reader per line. Lines with a quote go through :func:`_one_record`."""
    source = iter(io.StringIO(text, newline=""))  # physical lines, terminators kept
    window: deque[str] = deque()
    number = 0  # physical line number of window[0], minus one
    width: int | None = None  # the header's width, once the header is read
    quote, delimiter = dialect.quotechar or '"', dialect.delimiter
    longest = csv.field_size_limit()
    while True:
        if not window:
            line = next(source, None)
            if line is None:
                return
            window.append(line)
        first = window[0]
        if quote not in first and len(first) <= longest and number + 1 not in bad_lines:
            window.popleft()
            number += 1
            body = first.rstrip("\r\n")
            split = body.split(delimiter) if body else []
            if width is None and any(c.strip() for c in split):
                width = len(split)
            yield number, split
            continue
        while len(window) < MAX_RECORD_LINES:
            line = next(source, None)
            if line is None:
                break
            window.append(line)
        if number + 1 in bad_lines:
            window.popleft()
            number += 1
            yield number, "it is not valid UTF-8 text; save the file as CSV UTF-8"
            continue
        cells, used = _one_record(window, dialect)
        if cells is not None and used > 1 and _not_one_row(cells, width, bad_lines, number, used):
            cells = None  # a stray quote closed by a later one: the lines between are rows, not a value
        if cells is None:
            window.popleft()
            number += 1
            yield number, UNCLOSED_QUOTE
            continue
        for _ in range(used):
            window.popleft()
        line_no, number = number + 1, number + used
        if width is None and any(c.strip() for c in cells):
            width = len(cells)
        yield line_no, cells


def _not_one_row(cells: list[str], width: int | None, bad_lines: set[int], number: int, used: int) -> bool:
    """A record spanning ``used`` lines is one row only when it has the header's width and no line of it
    was undecodable."""
    if width is not None and len(cells) != width:
        return True
    return any(number + k in bad_lines for k in range(2, used + 1))


def _one_record(window: deque[str], dialect: type[csv.Dialect] | csv.Dialect) -> tuple[list[str] | None, int]:
    """The first record of ``window`` and the number of physical lines it used; ``None`` when a quoted
    value is still open at the end of the window (or of the file)."""
    for strict in (True, False):
        reader = csv.reader(iter(window), dialect=dialect, strict=strict)
        try:
            cells = next(reader, [])
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                return None, len(window)
            if "field larger than field limit" in str(exc):
                return ["\x00" * (csv.field_size_limit() + 1)], 1  # rejected by the row reader below
            continue  # e.g. text after a closing quote: read it the lenient way, as Excel does
        used = max(reader.line_num, 1)
        if not strict and used == len(window) and _still_quoted(window, dialect):
            return None, used
        return cells, used
    return None, 1


def _still_quoted(window: deque[str], dialect: type[csv.Dialect] | csv.Dialect) -> bool:
    """After a lenient read that used the whole window: did it end inside a quoted value?"""
    reader = csv.reader(iter(["".join(window)]), dialect=dialect, strict=True)
    try:
        next(reader, None)
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


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


def _decode_lines(data: bytes) -> tuple[str, set[int], bool]:
    """The text, the physical lines that are not UTF-8 (each replaced by an empty line), and whether the
    whole file was decoded as Windows-1252 instead (see :func:`_western_text`)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise TableError(
            "The file is UTF-16 text; save it as CSV UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)').",
            code="bad_encoding",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), set(), False
    except UnicodeDecodeError:
        pass
    western = _western_text(data)
    if western is not None:
        return western, set(), True
    bad: set[int] = set()
    lines: list[str] = []
    for number, raw in enumerate(_physical_lines(data), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.add(number)
            lines.append("\n")  # keep row numbers stable
            if len(bad) > MAX_BAD_LINES_BEFORE_GIVING_UP:
                raise TableError(
                    "The file is not UTF-8 text (many rows have invalid characters); save it as CSV UTF-8 "
                    "(Excel: 'CSV UTF-8 (Comma delimited)').",
                    line=min(bad),
                    code="bad_encoding",
                ) from None
    return "".join(lines), bad, False


def _physical_lines(data: bytes) -> list[bytes]:
    """Lines as the CSV reader counts them (``\\r\\n``, ``\\n`` or ``\\r`` end a line), terminators kept."""
    return [line for line in re.split(rb"(?<=\r\n)|(?<=\n)|(?<=\r)(?!\n)", data) if line]


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


def _xlsx_rows(data: bytes) -> Iterator[SourceRow]:
    """Rows of the first worksheet. The package is checked first: size, expansion, no DTDs in any part
    (whatever its name or encoding). Rows are read from the sheet's own cells, never from its declared
    dimension; at most ``MAX_COLUMNS`` columns and ``MAX_EMPTY_ROWS`` empty rows are accepted."""
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
        if member.is_dir() or member.filename.lower().endswith(_NOT_XML_PARTS):
            continue
        try:
            with archive.open(member) as stream:
                content = stream.read(MAX_XLSX_EXPANDED_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError):
            raise TableError("The workbook is damaged and cannot be read.", code="unreadable_file") from None
        declares = xml_declares_dtd(content)
        if declares is None:
            raise TableError(
                "The workbook has a part in an encoding that cannot be read, and it is refused.",
                code="bad_encoding",
            )
        if declares:
            raise TableError(
                "The workbook contains an XML DOCTYPE/ENTITY declaration and is refused for security.",
                code="xml_doctype",
            )
    from openpyxl import load_workbook  # imported lazily: only XLSX uploads need it
    from openpyxl.worksheet._reader import WorkSheetParser

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise TableError(
            f"The workbook cannot be read ({type(exc).__name__}).", code="unreadable_file"
        ) from None
    try:
        if not workbook.worksheets:
            raise TableError("The workbook has no worksheet.", code="empty_file")
        sheet: Any = workbook.worksheets[0]
        book: Any = workbook  # the read-only sheet's own parser settings (openpyxl keeps them private)
        try:
            source = sheet._get_source()
            parser = WorkSheetParser(
                source,
                sheet._shared_strings,
                data_only=True,
                epoch=book.epoch,
                date_formats=book._date_formats,
                timedelta_formats=book._timedelta_formats,
            )
        except Exception as exc:
            raise TableError(
                f"The workbook cannot be read ({type(exc).__name__}).", code="unreadable_file"
            ) from None
        with source:
            yield from _sheet_rows(parser.parse())
    finally:
        workbook.close()


def _sheet_rows(parsed: Iterator[tuple[int, list[dict[str, Any]]]]) -> Iterator[SourceRow]:
    """openpyxl's parsed rows (only the cells the sheet has) as cell lists of at most ``MAX_COLUMNS``."""
    previous = 0
    empty = 0
    while True:
        try:
            number, cells = next(parsed)
        except StopIteration:
            return
        except Exception as exc:  # openpyxl parses lazily: a damaged sheet fails while iterating
            raise TableError(
                f"The workbook cannot be read ({type(exc).__name__}).", code="unreadable_file"
            ) from None
        if number <= previous:
            raise TableError("The worksheet's rows are out of order; the workbook is damaged.", line=number)
        empty += number - previous - 1
        previous = number
        values = {c["column"]: c["value"] for c in cells if c.get("value") not in (None, "")}
        if not values:
            empty += 1
        if empty > MAX_EMPTY_ROWS:
            raise TableError(
                f"The worksheet has over {MAX_EMPTY_ROWS:,} empty rows and is refused; delete them in Excel "
                "(or save the sheet as CSV UTF-8).",
                line=number,
                code="too_many_rows",
            )
        if not values:
            continue
        if max(values) > MAX_COLUMNS:
            yield (
                number,
                f"it has a value beyond column {MAX_COLUMNS} (at most {MAX_COLUMNS} columns are read)",
            )
            continue
        row = [""] * max(values)
        for column, value in values.items():
            row[column - 1] = _cell_text(value)
        yield number, row


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


def _table_from_rows(file_name: str, rows: Iterable[SourceRow], issues: FileIssues) -> Table:
    iterator = iter(rows)
    header_line, header_cells = 0, []
    for line, cells in iterator:
        if isinstance(cells, str):
            raise TableError(f"The header row (row {line}) cannot be read: {cells}.", line=line)
        if any(c.strip() for c in cells):
            header_line, header_cells = line, cells
            break
    if not header_cells:
        raise TableError("The file is empty: it has no header row.", code="empty_file")
    while header_cells and not header_cells[-1].strip():
        header_cells = header_cells[:-1]  # trailing empty header cells (Excel exports them)
    if len(header_cells) > MAX_COLUMNS:
        raise TableError(
            f"The header has {len(header_cells)} columns; at most {MAX_COLUMNS} are read.",
            line=header_line,
            code="too_many_columns",
        )
    original = [c.replace("\ufeff", "").strip() for c in header_cells]
    header = [normalise_header(c) for c in original]
    table = Table(file_name=file_name, header=header, original_header=original, issues=issues)
    first_index: dict[str, int] = {}
    for index, name in enumerate(header):
        if name and name in first_index:
            table.issues.add(
                IngestIssue(
                    file=file_name,
                    line=header_line,
                    reason=f"The header of {column_label(index)} repeats the header of "
                    f"{column_label(first_index[name])}; the first one is used.",
                    severity="warning",
                    code="duplicate_column",
                    tin=issues.tin,
                )
            )
        first_index.setdefault(name, index)
    used = [(index, name) for index, name in enumerate(header) if name and first_index[name] == index]

    def reject(line: int, reason: str, code: str) -> None:
        table.rows_rejected += 1
        table.issues.add(
            IngestIssue(
                file=file_name, line=line, reason=f"Row {line} rejected: {reason}.", code=code, tin=issues.tin
            )
        )

    limit = csv.field_size_limit()
    columns = len(header)

    def data_cells() -> Iterator[tuple[int, list[str]]]:
        for line, cells in iterator:
            if isinstance(cells, str):
                table.rows_read += 1
                reject(
                    line, cells, "malformed_row" if "quote" in cells or "column" in cells else "bad_encoding"
                )
                continue
            joined = "".join(cells)
            if not joined.strip():
                continue  # blank line
            table.rows_read += 1
            if table.rows_read > MAX_ROWS:
                raise TableError(
                    f"The file has over {MAX_ROWS:,} rows and is refused; split it into several files.",
                    line=line,
                    code="too_many_rows",
                )
            if len(joined) > limit and any(len(c) > limit for c in cells):
                reject(line, f"a value is longer than {limit // 1024} kB", "malformed_csv")
                continue
            if len(cells) > columns and "".join(cells[columns:]).strip():
                reject(
                    line,
                    f"it has {len(cells)} cells but the header has {columns} columns "
                    "(a comma inside a value must be quoted)",
                    "malformed_row",
                )
                continue
            yield line, cells
        if not table.rows_read:
            table.issues.add(
                IngestIssue(
                    file=file_name,
                    line=header_line,
                    reason="The file has a header but no data rows; nothing was read from it.",
                    severity="warning",
                    code="no_rows",
                    tin=issues.tin,
                )
            )

    table.column_index = {name: index for index, name in used}
    table.cells = data_cells()
    # rows over the same cells, holding no reference to the table: a reader iterates one of the two, and
    # the other, never started, would otherwise keep the table (and what its reader built) in a cycle
    table.rows = _rows_of(table.cells, used)
    return table


def _rows_of(cells: Iterator[tuple[int, list[str]]], used: list[tuple[int, str]]) -> Iterator[TableRow]:
    for line, row_cells in cells:
        width = len(row_cells)
        yield TableRow(
            line=line, values={name: row_cells[index].strip() for index, name in used if index < width}
        )


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
    if not value.isascii() or len(value) > 40:
        raise ValueError(f"is not a valid date (use {DATE_FORMATS_HELP})")
    if "T" in value or " " in value:  # a datetime: keep the date part
        value = re.split(r"[T ]", value, maxsplit=1)[0]
    if (
        len(value) == 10
        and value[4] == value[7] == "-"
        and value[:4].isdigit()
        and value[5:7].isdigit()
        and value[8:].isdigit()
    ):
        try:  # the common YYYY-MM-DD without strptime (~10x faster; same result as its first format)
            return date(int(value[:4]), int(value[5:7]), int(value[8:]))
        except ValueError:
            pass  # e.g. 2025-13-01 or "2025-0x-01": the formats below say so
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


def collapse_whitespace(text: str) -> str:
    """Collapse internal and surrounding whitespace; keep the user's spelling and case."""
    return " ".join(text.split())


_MBI = re.compile(
    r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]{2}\d{2}$",
    re.ASCII,
)


def parse_mbi(text: str) -> str:
    """Normalise (upper case, no dashes/spaces) and validate a Medicare Beneficiary Identifier."""
    # letters and digits only (nearly every MBI a file holds): no space or dash to remove
    value = (text if text.isalnum() else re.sub(r"[\s-]", "", text)).upper()
    if not _MBI.match(value):
        raise ValueError("is not a valid Medicare Beneficiary Identifier (11 characters, e.g. 1EG4-TE5-MK73)")
    return value


def parse_npi(text: str) -> str:
    """Validate a National Provider Identifier: 10 digits with a valid Luhn check digit."""
    value = text.strip()
    if not re.fullmatch(r"[0-9]{10}", value):
        raise ValueError("is not an NPI (10 digits)")
    if not npi_check_digit_ok(value):
        raise ValueError("is not a valid NPI (its check digit is wrong)")
    return value


def npi_check_digit(first_nine: str) -> str:
    """The check digit of an NPI's first nine digits: Luhn over the card-issuer prefix 80840 and them
    (CMS, "Requirements for constructing the NPI check digit")."""
    total = 0
    for index, char in enumerate(reversed("80840" + first_nine)):
        digit = int(char)
        if index % 2 == 0:  # every second digit from the right, the check digit not yet there
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def npi_with_check_digit(first_nine: str) -> str:
    """The 10-digit NPI that starts with ``first_nine`` (demo, test and benchmark data)."""
    return first_nine + npi_check_digit(first_nine)


def npi_check_digit_ok(npi: str) -> bool:
    return len(npi) == 10 and npi.isascii() and npi.isdigit() and npi_check_digit(npi[:9]) == npi[9]


def parse_tin(text: str) -> str:
    value = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"[0-9]{9}", value):
        raise ValueError("is not a TIN (9 digits)")
    return value
