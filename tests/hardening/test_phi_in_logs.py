"""No PHI in any log line: a whole local sync of the demo ACO (roster, CQM/MCQM templates, QRDA-I
files and zip, with deliberate input errors) runs with the handlers logging at DEBUG; every log record
(message, extra fields, exception text) and everything written to stdout/stderr is searched for every
patient first/last name, birth date (as written in the input, ISO, MM/DD/YYYY and YYYYMMDD) and MBI
found in the input files. The sync log shown by ``aco-sync status`` is checked the same way."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.errors import QrdaRejectedError
from aco_sync.ingest.qrda import parse_qrda
from aco_sync.ingest.tabular import normalise_header, parse_birth_date
from aco_sync_local.demo_data import write_demo_aco
from aco_sync_local.runner import run_local_sync

pytestmark = pytest.mark.slow

NAME_COLUMNS = {"first_name", "last_name"}
DATE_COLUMNS = {"birth_date"}
MBI_COLUMNS = {"mbi"}
# The AWS SDK and the in-process AWS emulator log request bodies at DEBUG (that is the emulator, not a
# log a deployed function writes: in Lambda those loggers stay at WARNING). Their INFO+ records count.
SDK_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "moto", "werkzeug", "aws_xray_sdk")


def _date_forms(value: date) -> set[str]:
    return {value.isoformat(), value.strftime("%m/%d/%Y"), value.strftime("%Y%m%d")}


def _phi_from_table(data: bytes, phi: set[str]) -> None:
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = [normalise_header(h) for h in next(reader)]
    for row in reader:
        for column, raw in zip(header, row, strict=False):
            raw = raw.strip()
            if not raw:
                continue
            if column in NAME_COLUMNS or column in MBI_COLUMNS:
                phi.update({raw, raw.upper()})
            elif column in DATE_COLUMNS:
                phi.add(raw)
                with contextlib.suppress(ValueError):
                    phi.update(_date_forms(parse_birth_date(raw)))


def _phi_from_qrda(data: bytes, phi: set[str]) -> None:
    try:
        document = parse_qrda(data, file_name="x.xml", catalog=default_catalog())
    except QrdaRejectedError:
        return
    phi.update(n for n in (*document.given_names, document.family_name, document.mbi) if n)
    if document.birth_date:
        phi.update(_date_forms(document.birth_date))


def collect_phi(folder: Path) -> set[str]:
    phi: set[str] = set()
    for path in folder.rglob("*"):
        if path.suffix == ".csv" and ("rosters" in path.parts or "templates" in path.parts):
            _phi_from_table(path.read_bytes(), phi)
        elif path.suffix == ".xml":
            _phi_from_qrda(path.read_bytes(), phi)
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    _phi_from_qrda(archive.read(member), phi)
    return {p for p in phi if len(p) >= 2}


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(SDK_LOGGERS) and record.levelno < logging.INFO:
            return
        fields = {k: v for k, v in record.__dict__.items() if k not in ("args", "msg", "exc_info")}
        text = json.dumps(fields, default=str)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.getMessage()} {text}")


@pytest.fixture
def every_log_record(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Everything]:
    """Every record any logger emits (the Powertools service loggers at the handlers' DEBUG level,
    third-party loggers at INFO), whatever handlers those loggers have."""
    handler = _Everything()
    real_call_handlers = logging.Logger.callHandlers

    def call_handlers(self: logging.Logger, record: logging.LogRecord) -> None:
        handler.handle(record)
        real_call_handlers(self, record)

    monkeypatch.setattr(logging.Logger, "callHandlers", call_handlers)
    # Loggers created before this test (modules imported by other tests while POWERTOOLS_LOG_LEVEL was
    # INFO) keep their level: put every service logger at DEBUG, as in a Lambda started at DEBUG.
    service_loggers = [
        logging.getLogger(name)
        for name in list(logging.Logger.manager.loggerDict)
        if name.startswith(("aco-sync", "aco_sync"))
    ]
    saved = {logger: logger.level for logger in [logging.getLogger(), *service_loggers]}
    logging.getLogger().setLevel(logging.INFO)
    for logger in service_loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in saved.items():
            logger.setLevel(level)


def _found(phi: set[str], lines: list[str]) -> dict[str, str]:
    hits: dict[str, str] = {}
    for line in lines:
        for value in phi:
            if value in line and re.search(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", line):
                hits.setdefault(value, line[:300])
    return hits


def test_a_whole_sync_at_debug_logs_no_patient_name_birth_date_or_mbi(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    every_log_record: _Everything,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every handler in this process (no Map worker processes), so that every record reaches the
    # recording handler above
    monkeypatch.setenv("ACO_SYNC_LOCAL_WORKERS", "0")
    folder = tmp_path / "demo"
    write_demo_aco(folder)
    phi = collect_phi(folder)
    assert len(phi) > 100, "the demo input should hold many patients"

    result = run_local_sync(folder, state_dir=tmp_path / "state", handler_log_level="DEBUG")
    assert result.succeeded, json.dumps(result.executions, default=str)[:3000]
    out, err = capfd.readouterr()

    lines = [*out.splitlines(), *err.splitlines(), *every_log_record.lines]
    debug_lines = [line for line in lines if '"level":"DEBUG"' in line or '"levelname": "DEBUG"' in line]
    assert debug_lines, "the handlers did not log at DEBUG: the test would prove nothing"
    assert any("Clinic synced" in line for line in every_log_record.lines), "handler logs not captured"
    assert _found(phi, lines) == {}

    sync_log = [json.dumps(entry, default=str) for entry in result.status["log"]]
    assert any("rejected" in line or "error" in line for line in sync_log)  # the demo's input errors
    assert _found(phi, sync_log) == {}
