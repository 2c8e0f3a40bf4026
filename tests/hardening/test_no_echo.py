"""No patient data echoed anywhere (issue 12). Names, birth dates in every accepted format, SSN-, phone-
and MRN-shaped values and MBIs are put into every column and into the header of every reader (roster
CSV and XLSX, CQM/MCQM template, denominator-only counts, provider list, QRDA-I XML, well-formed and
broken): no issue reason quotes any of them. Then a whole local sync of a folder made of such files
runs with the handlers at DEBUG, and none of them appears in the sync log, ``aco-sync status`` (text
and JSON), ``aco-sync validate`` (text and JSON), the saved result, the HTML report, any result file
or any log line.

The rule (docs/SECURITY.md "No patient data in messages"): a reason names the file, the row, the
column (by position, or by the reader's own name for it) and the kind of problem. It may quote only
values that cannot be PHI by construction: a measure id of the catalog's shape (M001, 001SSP,
CMS122v13), a collection type keyword, the folder's TIN (configured by the ACO, not a cell) and the
file name the user chose (a file named after a patient shows that name: it is the user's label).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from test_phi_in_logs import _Everything, every_log_record  # noqa: F401 - the fixture

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.records import IngestIssue
from aco_sync.ecqm import calculate_qrda
from aco_sync.ingest.clinic import read_clinic_files
from aco_sync.ingest.providers import PROVIDERS as PROVIDERS_SPEC
from aco_sync.ingest.providers import read_providers
from aco_sync.ingest.roster import ROSTER as ROSTER_SPEC
from aco_sync.ingest.roster import read_roster
from aco_sync.ingest.tabular import _DATE_FORMATS
from aco_sync.ingest.templates import COUNT_COLUMNS, OPTIONAL_COLUMNS, TEMPLATE_COLUMNS, read_template
from aco_sync_local.cli import main as cli
from qrda_samples import HBA1C_ENTRY, qrda_document

CATALOG = default_catalog()
TIN = "123456789"
BORN = date(1950, 2, 3)

NAMES = ["Thomasina", "Okonkwo-Reyes", "Marie Dubois"]
BIRTH_DATES = sorted({BORN.strftime(fmt) for fmt in _DATE_FORMATS} | {"1950-02-03T08:30:00"})
SSNS = ["078-05-1120", "078051120"]
PHONES = ["555-867-5309", "(555) 867-5309", "5558675309"]
MRNS = ["MRN77812", "77812341", "A0048213"]
MBIS = ["4TW2QM6PX81", "4TW2-QM6-PX81"]  # (1EG4-TE5-MK73 is CMS's published example, shown in help)
PROBES = [*NAMES, *BIRTH_DATES, *SSNS, *PHONES, *MRNS, *MBIS]
XML_NAME_PROBES = [p for p in PROBES if re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", p)]

# the valid rows around the probes (other patients: their data must not appear either)
GOOD = {"first_name": "Wilhelmina", "last_name": "Achterberg", "birth_date": "1944-07-19", "gender": "F"}


def _hits(texts: list[str], probes: list[str] = PROBES) -> dict[str, str]:
    hits = {}
    for text in texts:
        for probe in probes:
            if re.search(rf"(?<![A-Za-z0-9]){re.escape(probe)}(?![A-Za-z0-9])", text):
                hits.setdefault(probe, text[:300])
    return hits


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    def cell(value: str) -> str:
        return f'"{value}"' if "," in value or " " in value else value

    return ("\n".join(",".join(cell(v) for v in line) for line in [header, *rows]) + "\n").encode()


def _xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in [header, *rows]:
        sheet.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Each tabular reader: its full header and one valid row (by canonical column).
ROSTER = {
    "mbi": "2EG4TE5MK74", **GOOD, "m001": "Y",
}  # fmt: skip
TEMPLATE = {
    "measure_id": "M001", "collection_type": "CQM", **GOOD, "performance_date": "2025-03-01",
    "performance": "MET", "npi": "1234567893", "encounter_id": "E1", "patient_id": "P1",
    "mbi": "2EG4TE5MK74", "hba1c": "7.1", "systolic": "120", "diastolic": "80", "tin": TIN,
}  # fmt: skip
COUNTS = {"measure_id": "001SSP", "collection_type": "MCQM", "denominator_only_count": "3"}
PROVIDERS = {"npi": "1234567893", "name": "Dr Grace Hopper", "active": "Y"}
assert set(TEMPLATE) == set(TEMPLATE_COLUMNS) | set(OPTIONAL_COLUMNS)
assert set(COUNTS) - {"collection_type"} == set(COUNT_COLUMNS)
assert set(PROVIDERS) == set(PROVIDERS_SPEC.columns)
assert set(ROSTER) - {"m001"} == set(ROSTER_SPEC.columns)


def _variants(columns: dict[str, str]) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) tables: every probe in every column (one row each), and every probe as a header
    cell: replacing each column's header, as an extra column, and twice (a duplicate header)."""
    header = list(columns)
    good = list(columns.values())
    rows = [good]
    for index in range(len(header)):
        for probe in PROBES:
            row = list(good)
            row[index] = probe
            rows.append(row)
    tables = [(header, rows)]
    for probe in PROBES:
        for index in range(len(header)):
            renamed = list(header)
            renamed[index] = probe
            tables.append((renamed, [good]))
        tables.append(([*header, probe], [[*good, probe]]))
        tables.append(([*header, probe, probe], [[*good, "x", "y"]]))
    return tables


def _reader_reasons(read, columns: dict[str, str], *, xlsx: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    reasons = []
    for number, (header, rows) in enumerate(_variants(columns)):
        data = _xlsx(header, rows) if xlsx else _csv(header, rows)
        issues: list[IngestIssue] = read(f"file{number}.{'xlsx' if xlsx else 'csv'}", data).issues
        reasons.extend(issue.reason for issue in issues)
    return reasons


def test_the_tabular_readers_echo_no_probe_from_any_cell_or_header() -> None:
    readers = {
        "roster": (lambda name, data: read_roster(name, data, catalog=CATALOG), ROSTER),
        "template": (
            lambda name, data: read_template(name, data, tin=TIN, performance_year=2025, catalog=CATALOG),
            TEMPLATE,
        ),
        "counts": (
            lambda name, data: read_template(name, data, tin=TIN, performance_year=2025, catalog=CATALOG),
            COUNTS,
        ),
        "providers": (lambda name, data: read_providers(name, data, tin=TIN), PROVIDERS),
    }
    for reader, (read, columns) in readers.items():
        reasons = _reader_reasons(read, columns)
        assert len(reasons) > len(PROBES) * len(columns), f"{reader}: the probes were not rejected"
        assert _hits(reasons) == {}, reader
        assert _hits(reasons, [GOOD["first_name"], GOOD["last_name"], GOOD["birth_date"]]) == {}, reader


def test_xlsx_uploads_echo_no_probe_either() -> None:
    reasons = _reader_reasons(lambda name, data: read_roster(name, data, catalog=CATALOG), ROSTER, xlsx=True)
    assert reasons and _hits(reasons) == {}


def _qrda_variants() -> list[str]:
    documents = []
    for probe in PROBES:
        documents += [
            qrda_document(tin=probe),
            qrda_document(npi=probe),
            qrda_document(mbi=probe),
            qrda_document(birth_time=probe),
            qrda_document(given=probe, family=probe),
            qrda_document(period=(probe, probe)),
            qrda_document(measure_title=probe, measure_set_id=probe),
            qrda_document(
                entries=HBA1C_ENTRY.replace("20250", probe, 1).replace('value="', f'value="{probe}', 1)
            ),
            qrda_document(name_xml=f"<name><given>{probe}</giv></name>"),  # tag mismatch around the name
            qrda_document(name_xml=f"<name><given>{probe}<</given></name>"),  # a stray "<" in the text
            qrda_document(prolog=f'<?xml version="1.0" encoding="{probe}"?>\n'),
        ]
    for probe in XML_NAME_PROBES:  # probes that are valid XML names: as element and attribute names
        documents += [
            f'<{probe} xmlns="urn:hl7-org:v3"><x/></{probe}>',
            qrda_document(name_xml=f"<name><{probe}>x</{probe}x></name>"),
            qrda_document(name_xml=f"<name><given {probe}>x</given></name>"),
        ]
    return documents


def test_the_qrda_reader_and_the_ecqm_calculation_echo_no_probe() -> None:
    files = [(f"qrda/doc{i}.xml", d.encode()) for i, d in enumerate(_qrda_variants())]
    data = read_clinic_files(
        TIN, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )
    reasons = [issue.reason for issue in data.issues]
    assert len(reasons) > len(PROBES) * 5
    assert _hits(reasons) == {}


def _write_folder(folder: Path) -> None:
    aco = "PHI1"
    config = {
        "aco_id": aco,
        "name": "Probe ACO",
        "performance_year": 2025,
        "member_clinics": [{"tin": TIN, "name": "Probe Clinic"}],
        "roster_required": True,
        "mcqm_opt_in": True,
    }
    (folder / "config" / "acos").mkdir(parents=True)
    (folder / "config" / "acos" / f"{aco}.json").write_text(json.dumps(config))
    roster_dir = folder / "rosters" / aco / "2025"
    roster_dir.mkdir(parents=True)
    [(header, rows)] = _variants(ROSTER)[:1]
    probes_as_headers = [*header, *PROBES[:4]]
    (roster_dir / "roster.csv").write_bytes(_csv(probes_as_headers, [r + ["Y"] * 4 for r in rows]))
    clinic = folder / "members" / aco / TIN
    (clinic / "templates").mkdir(parents=True)
    (clinic / "qrda").mkdir()
    [(header, rows)] = _variants(PROVIDERS)[:1]
    (clinic / "providers.csv").write_bytes(_csv(header, rows))
    [(header, rows)] = _variants(TEMPLATE)[:1]
    (clinic / "templates" / "cqm.csv").write_bytes(_csv(header, rows[:150]))
    (clinic / "templates" / "cqm_more.csv").write_bytes(_csv(header, [rows[0], *rows[150:]]))
    (clinic / "templates" / "mcqm.csv").write_bytes(
        _csv(header, [[v.replace("CQM", "MCQM") for v in r] for r in rows[:80]])
    )
    (clinic / "templates" / "probe_header.csv").write_bytes(
        _csv([*header, PROBES[0], PROBES[0]], [rows[0] + ["a", "b"]])
    )
    [(header, rows)] = _variants(COUNTS)[:1]
    (clinic / "templates" / "counts.csv").write_bytes(_csv(header, rows))
    good = qrda_document(given=GOOD["first_name"], family=GOOD["last_name"], birth_time="19440719", tin=TIN)
    (clinic / "qrda" / "good.xml").write_text(good)
    for index, document in enumerate(_qrda_variants()[::7]):
        (clinic / "qrda" / f"probe_{index:03d}.xml").write_text(document)


def test_a_whole_sync_of_probe_files_shows_no_probe_anywhere(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    every_log_record: _Everything,  # noqa: F811
) -> None:
    from aco_sync_local.runner import run_local_sync

    folder, state = tmp_path / "aco", tmp_path / "state"
    folder.mkdir()
    _write_folder(folder)

    result = run_local_sync(folder, state_dir=state, handler_log_level="DEBUG", timeout=240)
    assert result.status["sync"]["status"] == "Sync Complete", result.status["sync"]
    sync_log = [json.dumps(entry, default=str) for entry in result.status["log"]]
    assert sum("rejected" in line for line in sync_log) > 10, "the probes were not rejected"

    texts = [*sync_log, *every_log_record.lines]
    for command in (
        ["status", "--state-dir", str(state)],
        ["status", "--state-dir", str(state), "--json"],
        ["validate", str(folder)],
        ["validate", str(folder), "--json"],
    ):
        cli(command)
    out, err = capfd.readouterr()
    assert "rejected" in out  # validate printed the problems
    texts += [*out.splitlines(), *err.splitlines()]
    uploads_and_store = [state / "bucket" / p for p in ("config", "rosters", "members", "store")]
    for path in state.rglob("*"):
        if any(path.is_relative_to(p) for p in uploads_and_store):
            continue  # the uploaded files themselves and the normalised roster (as in S3), not outputs
        if path.is_file() and path.suffix in (".json", ".csv", ".html", ".xml"):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    assert result.report_html and Path(result.report_html).is_file()
    assert _hits(texts) == {}
    assert _hits(texts, [GOOD["first_name"], GOOD["last_name"], GOOD["birth_date"], "19440719"]) == {}
    shutil.rmtree(state)
