"""Read everything one member clinic (TIN) uploaded: ``providers.csv``, ``templates/*.csv|xlsx`` and
``qrda/*.xml|zip`` (paths relative to ``members/<aco_id>/<tin>/``). QRDA-I documents become eCQM
records through the QRDA-I calculator the caller passes (the service and ``validate`` pass
``aco_sync.ecqm.calculate_qrda``): the ingest package never imports the eCQM engine."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Protocol

from aws_lambda_powertools import Logger

from aco_sync.domain.catalog import MeasureCatalog
from aco_sync.domain.qrda_document import QrdaDocument
from aco_sync.domain.records import ClinicData, IngestIssue, PerformanceRecord
from aco_sync.ingest.providers import read_providers
from aco_sync.ingest.qrda import read_qrda_upload
from aco_sync.ingest.templates import read_template

PROVIDERS_FILE = "providers.csv"
TEMPLATE_SUFFIXES = (".csv", ".xlsx", ".xls")  # .xls: read_table explains how to convert it
QRDA_SUFFIXES = (".xml", ".zip")

logger = Logger(child=True)


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


def read_clinic_files(
    tin: str,
    files: Iterable[tuple[str, bytes]],
    *,
    performance_year: int,
    catalog: MeasureCatalog,
    calculate_qrda: QrdaCalculator,
) -> ClinicData:
    """Read one member clinic's files (paths relative to ``members/<aco_id>/<tin>/``), in path order;
    QRDA-I documents go through ``calculate_qrda``."""
    data = ClinicData(tin=tin)
    qrda = _QrdaFiles(tin, performance_year, catalog, calculate_qrda)
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
        if kind == "providers":
            providers = read_providers(path, content, tin=tin)
            data.providers.extend(providers.providers)
            data.issues.extend(providers.issues)
        elif kind == "template":
            template = read_template(
                path, content, tin=tin, performance_year=performance_year, catalog=catalog
            )
            data.records.extend(template.records)
            data.denominator_counts.extend(template.denominator_counts)
            data.issues.extend(template.issues)
        else:
            qrda.read(path, content, data)
    _drop_duplicate_keys(data)
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


def _drop_duplicate_keys(data: ClinicData) -> None:
    """The same source record twice in one clinic (e.g. an encounter id repeated in two template files):
    keep the first (files are read in path order) and report the others."""
    first: dict[str, PerformanceRecord] = {}
    kept: list[PerformanceRecord] = []
    for record in data.records:
        earlier = first.get(record.source_key)
        if earlier is None:
            first[record.source_key] = record
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
    data.records = kept


class _QrdaFiles:
    """QRDA-I uploads of one clinic -> eCQM records through the given calculator."""

    def __init__(
        self, tin: str, performance_year: int, catalog: MeasureCatalog, calculator: QrdaCalculator
    ) -> None:
        self.tin = tin
        self.performance_year = performance_year
        self.catalog = catalog
        self.calculator = calculator

    def read(self, path: str, content: bytes, data: ClinicData) -> None:
        for item in read_qrda_upload(path, content, catalog=self.catalog):
            if isinstance(item, IngestIssue):
                data.issues.append(_with_tin(item, self.tin))
                continue
            data.issues.extend(_document_issues(item, self.tin))
            data.records.extend(self._calculate(item, data.issues))

    def _calculate(self, document: QrdaDocument, issues: list[IngestIssue]) -> list[PerformanceRecord]:
        tin = self.tin
        try:
            records, found = self.calculator(
                document, tin=tin, source_file=document.file_name, performance_year=self.performance_year
            )
        except Exception as exc:  # one document must not stop the clinic; reported, not hidden
            # no traceback/message in the log: they may quote patient data; the frame locates the bug
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            logger.error(
                "eCQM calculation failed",
                extra={
                    "tin": tin,
                    "error": type(exc).__name__,
                    "where": f"{frame.filename}:{frame.lineno}" if frame else None,
                },
            )
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
    return IngestIssue(issue.file, issue.reason, issue.line, issue.severity, issue.code, tin)


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
