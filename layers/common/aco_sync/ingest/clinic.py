"""Read everything one member clinic (TIN) uploaded: ``providers.csv``, ``templates/*.csv|xlsx`` and
``qrda/*.xml|zip`` (paths relative to ``members/<aco_id>/<tin>/``). QRDA-I documents become eCQM
records through the QRDA-I calculator the caller passes (the service and ``validate`` pass
``aco_sync.ecqm.calculate_qrda``): the ingest package never imports the eCQM engine."""

from __future__ import annotations

import dataclasses
import hashlib
import operator
from collections.abc import Iterable, Mapping
from itertools import compress, repeat
from operator import attrgetter
from pathlib import PurePosixPath
from typing import Protocol

from aws_lambda_powertools import Logger

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.errors import failure_facts
from aco_sync.domain.qrda_document import QrdaDocument
from aco_sync.domain.records import ClinicData, DenominatorCount, FileAccount, IngestIssue, PerformanceRecord
from aco_sync.ingest.providers import read_providers
from aco_sync.ingest.qrda import read_qrda_upload
from aco_sync.ingest.table_spec import TableReadResult
from aco_sync.ingest.templates import read_template

PROVIDERS_FILE = "providers.csv"
TEMPLATE_SUFFIXES = (".csv", ".xlsx", ".xls")  # .xls: read_table explains how to convert it
QRDA_SUFFIXES = (".xml", ".zip")

logger = Logger(child=True)


# ----- per-clinic input budget (issue 11 "bounded work") ---------------------------------------------
# Peak memory of one member-clinic sync (read, diff, encounters, snapshot) per input byte, by format,
# measured by `python bench/bench_ingest.py` (cases clinic_csv, clinic_xlsx, clinic_qrda; docs/
# PERFORMANCE.md "Per-clinic input limit"). A clinic's files are read one after another but their records
# are kept together, so the budget is per clinic. Costs are counted in template-CSV bytes: an XLSX or
# QRDA-I byte costs more memory than a CSV byte.
# Measured (2026-12-01): CSV 20.5 (+1 for the file's bytes), XLSX 50.4 (+1), a zip of CMS IG QRDA-I
# documents 12.7 per compressed byte (2.4 per document byte; one document's parse tree is transient and
# bounded by MAX_QRDA_BYTES); the zip factor assumes up to ~15x compression.
MEMORY_PER_INPUT_BYTE = {"csv": 22.0, "xlsx": 52.0, "xml": 4.0, "zip": 40.0}
BASELINE_MEMORY_MB = 256  # the function's runtime, imports and stores before any file is read
MEMORY_HEADROOM = 0.75  # the share of the rest the clinic's input may take (the rest: Python's slack)


@dataclasses.dataclass(frozen=True)
class InputBudget:
    """At most ``limit_bytes`` of input per clinic and sync, counted in template-CSV bytes."""

    limit_bytes: int

    @classmethod
    def for_memory(cls, memory_mb: int) -> InputBudget:
        """The budget that keeps a clinic sync inside a function of ``memory_mb`` MB."""
        usable = max(0.0, (memory_mb - BASELINE_MEMORY_MB) * MEMORY_HEADROOM) * 1_048_576
        return cls(int(usable / MEMORY_PER_INPUT_BYTE["csv"]))

    @classmethod
    def of_mb(cls, megabytes: float) -> InputBudget:
        return cls(int(megabytes * 1_048_576))

    @property
    def limit_mb(self) -> float:
        return self.limit_bytes / 1_048_576

    @staticmethod
    def weight(path: str) -> float:
        suffix = PurePosixPath(path).suffix.lower().lstrip(".")
        factor = MEMORY_PER_INPUT_BYTE.get(
            "xlsx" if suffix == "xls" else suffix, MEMORY_PER_INPUT_BYTE["csv"]
        )
        return factor / MEMORY_PER_INPUT_BYTE["csv"]

    def cost(self, path: str, size: int) -> int:
        return int(size * self.weight(path))


def _megabytes(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value >= 0.01 else f"{value:.2g}"


def input_limit_issue(path: str, size: int, budget: InputBudget, tin: str | None) -> IngestIssue:
    xlsx, xml, zipped = (InputBudget.weight(f"f.{kind}") for kind in ("xlsx", "xml", "zip"))
    return IngestIssue(
        file=path,
        reason=f"File not read: with it ({_megabytes(size / 1_048_576)} MB) this clinic's files exceed the "
        f"per-clinic input limit of {_megabytes(budget.limit_mb)} MB per sync (counted as template CSV "
        f"bytes; XLSX bytes count {xlsx:.1f}x, QRDA-I XML {xml:.1f}x, zip {zipped:.1f}x). The clinic's "
        "other files were read. Move some of its data to a later sync, or raise clinic_input_limit_mb "
        "in the ACO's settings together with the clinic sync function's memory.",
        code="clinic_input_limit",
        tin=tin,
    )


class QrdaCalculator(Protocol):
    """Turns one QRDA-I document into eCQM records and issues (``aco_sync.ecqm.calculate_qrda``)."""

    def __call__(
        self, doc: QrdaDocument, *, tin: str, source_file: str, performance_year: int
    ) -> tuple[list[PerformanceRecord], list[IngestIssue]]: ...


def classify(path: str) -> str | None:
    """``"providers"``, ``"template"``, ``"qrda"`` or None (not a file ACO Sync reads)."""
    parts = PurePosixPath(path).parts
    suffix = PurePosixPath(path).suffix.lower()
    if len(parts) == 1 and parts[0].lower() == PROVIDERS_FILE:
        return "providers"
    if len(parts) >= 2 and parts[0].lower() == "templates" and suffix in TEMPLATE_SUFFIXES:
        return "template"
    if len(parts) >= 2 and parts[0].lower() == "qrda" and suffix in QRDA_SUFFIXES:
        return "qrda"
    return None


def _table_account(path: str, kind: str, result: TableReadResult, accepted: int, tin: str) -> FileAccount:
    """A table file's accounting: rows read, ``accepted`` and rejected, or the file refused."""
    return FileAccount(
        file=path,
        kind=kind,
        read=result.rows_total,
        accepted=accepted,
        rejected=result.rows_rejected,
        refused=result.refused,
        tin=tin,
    )


def read_clinic_files(
    tin: str,
    files: Iterable[tuple[str, bytes]],
    *,
    performance_year: int,
    catalog: MeasureCatalog,
    calculate_qrda: QrdaCalculator,
    input_budget: InputBudget | None = None,
    sha256: Mapping[str, str] | None = None,
) -> ClinicData:
    """Read one member clinic's files (paths relative to ``members/<aco_id>/<tin>/``), in path order;
    QRDA-I documents go through ``calculate_qrda``. With ``input_budget``, a file that would take the
    clinic's input past it is refused with a file-level error (the files after it that fit are read).
    ``sha256``: the hex SHA-256 of files' contents by path where the caller knows it already."""
    known = sha256 or {}
    data = ClinicData(tin=tin)
    used = 0
    qrda = _QrdaFiles(tin, performance_year, catalog, calculate_qrda)
    seen: dict[str, str] = {}  # sha256 of a file's bytes -> the first file (or zip member) with them
    for path, content in sorted(files, key=lambda item: item[0]):
        name = PurePosixPath(path).name
        if not name or name.startswith(".") or path.endswith("/"):
            continue  # folder markers and OS metadata
        kind = classify(path)
        if kind is None:
            data.issues.append(
                IngestIssue(
                    file=path,
                    reason="Not a file ACO Sync reads here (expected providers.csv, templates/*.csv|.xlsx "
                    "or qrda/*.xml|.zip); it was ignored.",
                    severity="warning",
                    code="unknown_file",
                    tin=tin,
                )
            )
            continue
        data.files_read += 1
        earlier = seen.setdefault(known.get(path) or hashlib.sha256(content).hexdigest(), path)
        if earlier != path:
            data.files.append(FileAccount(file=path, kind=kind, duplicate_of=earlier, tin=tin))
            data.issues.append(duplicate_file_issue(path, earlier, tin))
            continue
        if input_budget is not None:
            cost = input_budget.cost(path, len(content))
            if used + cost > input_budget.limit_bytes:
                data.files.append(FileAccount(file=path, kind=kind, refused=True, tin=tin))
                data.issues.append(input_limit_issue(path, len(content), input_budget, tin))
                continue
            used += cost
        if kind == "providers":
            providers = read_providers(path, content, tin=tin)
            data.providers.extend(providers.providers)
            data.issues.extend(providers.issues)
            data.files.append(_table_account(path, kind, providers, len(providers.providers), tin))
        elif kind == "template":
            template = read_template(
                path, content, tin=tin, performance_year=performance_year, catalog=catalog
            )
            data.records.extend(template.records)
            data.denominator_counts.extend(template.denominator_counts)
            data.issues.extend(template.issues)
            data.files.append(_table_account(path, kind, template, template.rows_accepted, tin))
        else:
            data.files.append(qrda.read(path, content, data, seen))
    _drop_duplicate_keys(data)
    _drop_duplicate_counts(data)
    logger.info(
        "Clinic files read",
        extra={
            "tin": tin,
            "files_read": data.files_read,
            "records": len(data.records),
            "denominator_counts": len(data.denominator_counts),
            "providers": len(data.providers),
            "errors": sum(1 for i in data.issues if i.severity == "error"),
            "warnings": sum(1 for i in data.issues if i.severity != "error"),
        },
    )
    return data


def duplicate_file_issue(path: str, earlier: str, tin: str | None) -> IngestIssue:
    return IngestIssue(
        file=path,
        reason=f"The same file as {earlier} (identical content); it was counted once, as {earlier}.",
        severity="warning",
        code="duplicate_file",
        tin=tin,
    )


def _drop_duplicate_keys(data: ClinicData) -> None:
    """The same source record twice in one clinic (an encounter id repeated in two template files, or
    the same row in two files): keep the first (files are read in path order) and report the others."""
    if not _any_repeated_identity(data.records):
        return  # (nearly always) every record is the first with its key and content
    first: dict[str, PerformanceRecord] = {}
    kept: list[PerformanceRecord] = []
    accounts = {f.file: f for f in data.files}
    for record in data.records:
        key = record.source_key
        content = None
        if record.source_line is not None and record.content_hash:  # a template row
            content = _content_identity(record.measure_id, str(record.collection_type), record.content_hash)
        earlier = first.get(key)
        if earlier is None and content is not None:
            earlier = first.get(content)
        if earlier is None:
            first[key] = record
            if content is not None:
                first[content] = record
            kept.append(record)
            continue
        where = f"{earlier.source_file}" + (f" row {earlier.source_line}" if earlier.source_line else "")
        data.issues.append(
            IngestIssue(
                file=record.source_file,
                line=record.source_line,
                reason=(f"Row {record.source_line} rejected: " if record.source_line else "Rejected: ")
                + f"the same encounter and measure as {where} (duplicate).",
                code="duplicate_row",
                tin=data.tin,
            )
        )
        _move_to_rejected(accounts.get(record.source_file))
    data.records = kept


# a template row's identity by content (beside its source key): same measure instance, same content
_content_identity = "content:{}:{}:{}".format


def _any_repeated_identity(records: list[PerformanceRecord]) -> bool:
    """Whether :func:`_drop_duplicate_keys` can find a duplicate: some two of the records' source keys
    and template rows' content identities are equal (tested in C-level passes, not per record)."""
    has_content = map(
        operator.and_,
        map(operator.is_not, map(attrgetter("source_line"), records), repeat(None)),
        map(operator.truth, map(attrgetter("content_hash"), records)),
    )
    rows = list(compress(records, has_content))
    contents = map(
        _content_identity,
        map(attrgetter("measure_id"), rows),
        map(str, map(attrgetter("collection_type"), rows)),
        map(attrgetter("content_hash"), rows),
    )
    identities = set(map(attrgetter("source_key"), records))
    identities.update(contents)
    return len(identities) != len(records) + len(rows)


def _drop_duplicate_counts(data: ClinicData) -> None:
    """Two denominator-only counts of one measure instance in one clinic (e.g. the counts file uploaded
    again under another name): the first counts, the other is rejected and reported."""
    first: dict[tuple[str, str], DenominatorCount] = {}
    kept: list[DenominatorCount] = []
    accounts = {f.file: f for f in data.files}
    for count in data.denominator_counts:
        key = (count.measure_id, str(count.collection_type))
        earlier = first.get(key)
        if earlier is None:
            first[key] = count
            kept.append(count)
            continue
        data.issues.append(
            IngestIssue(
                file=count.source_file,
                line=count.source_line,
                reason=f"Row {count.source_line} rejected: {count.measure_id} {count.collection_type} "
                f"already has a denominator-only count in {earlier.source_file} row {earlier.source_line} "
                "(duplicate; it was counted once).",
                code="duplicate_row",
                tin=data.tin,
            )
        )
        _move_to_rejected(accounts.get(count.source_file))
    data.denominator_counts = kept


def _move_to_rejected(account: FileAccount | None) -> None:
    if account is not None and account.accepted > 0:
        account.accepted -= 1
        account.rejected += 1


class _QrdaFiles:
    """QRDA-I uploads of one clinic -> eCQM records through the given calculator."""

    def __init__(
        self, tin: str, performance_year: int, catalog: MeasureCatalog, calculator: QrdaCalculator
    ) -> None:
        self.tin = tin
        self.performance_year = performance_year
        self.catalog = catalog
        self.calculator = calculator

    def read(self, path: str, content: bytes, data: ClinicData, seen: dict[str, str]) -> FileAccount:
        """Read one upload (an .xml document or a .zip of them); its documents are what is counted."""
        account = FileAccount(file=path, kind="qrda", tin=self.tin)
        for item in read_qrda_upload(path, content, catalog=self.catalog, seen=seen):
            if isinstance(item, IngestIssue):
                data.issues.append(_with_tin(item, self.tin))
                if item.code == "duplicate_file" or item.severity != "error":
                    continue
                if item.file == path and item.code != "more_issues" and not path.lower().endswith(".xml"):
                    account.refused = True  # the zip itself cannot be read
                    continue
                account.read += item.covers
                account.rejected += item.covers
                continue
            account.read += 1
            data.issues.extend(_document_issues(item, self.tin))
            errors_before = len(data.issues)
            data.records.extend(self._calculate(item, data.issues))
            failed = any(i.code == "ecqm_failed" for i in data.issues[errors_before:])
            if failed:
                account.rejected += 1
            else:
                account.accepted += 1
        return account

    def _calculate(self, document: QrdaDocument, issues: list[IngestIssue]) -> list[PerformanceRecord]:
        tin = self.tin
        try:
            records, found = self.calculator(
                document, tin=tin, source_file=document.file_name, performance_year=self.performance_year
            )
        except Exception as exc:  # one document must not stop the clinic; reported, not hidden
            logger.error("eCQM calculation failed", extra={"tin": tin, **failure_facts(exc)})
            issues.append(
                IngestIssue(
                    file=document.file_name,
                    reason=f"eCQM calculation failed for this file ({type(exc).__name__}); "
                    "it produced no records.",
                    code="ecqm_failed",
                    tin=tin,
                )
            )
            return []
        issues.extend(_with_tin(i, tin) for i in found)
        return list(records)


def _with_tin(issue: IngestIssue, tin: str) -> IngestIssue:
    if issue.tin == tin:
        return issue
    return dataclasses.replace(issue, tin=tin)


def _document_issues(document: QrdaDocument, tin: str) -> list[IngestIssue]:
    """The reader's warnings as issues. The folder decides the TIN (a mismatch is reported); the eCQM
    engine reports measures and reporting periods it cannot use, so those are left to it."""
    left_to_ecqm = {"unknown_measure", "no_measure"}
    issues = [
        IngestIssue(
            file=document.file_name,
            reason=warning.message,
            line=warning.line,
            severity="warning",
            code=warning.code or "qrda_warning",
            tin=tin,
        )
        for warning in document.warnings
        if warning.code != "invalid_tin" and warning.code not in left_to_ecqm
    ]
    if document.tins and tin not in document.tins:
        issues.append(
            IngestIssue(
                file=document.file_name,
                reason=f"The file names another TIN than {tin}, the TIN of its folder; "
                f"it is counted for TIN {tin}.",
                severity="warning",
                code="tin_mismatch",
                tin=tin,
            )
        )
    return issues
