"""Benchmark of the readers' bounded work (issue 11): CPU time and peak memory per input byte for CSV
templates (valid rows, and tiny junk rows), a roster of tiny rows, XLSX (a sheet declaring
A1:XFD1048576, and a sheet of real rows), a zip of 20,000 junk QRDA members and QRDA-I observation
linking (28k encounters x 28k observations). Each case runs in a fresh process, so "peak RSS" is that
case's own ``ru_maxrss`` (minus the process's baseline after imports).

    python bench/bench_ingest.py            # full sizes (a few minutes)
    python bench/bench_ingest.py --quick    # small sizes (seconds)
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "layers" / "common"))
sys.path.insert(0, str(HERE.parent / "src"))

TIN = "123456789"
HEADER = (
    "measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,npi\n"
)
ROW = "M236,CQM,Ann{n},Lee,1950-02-03,F,2025-03-01,MET,1234567893\n"


def template_csv(size: int) -> bytes:
    rows, total, n = [HEADER], len(HEADER), 0
    while total < size:
        row = ROW.format(n=n)
        rows.append(row)
        total += len(row)
        n += 1
    return "".join(rows).encode()


def tiny_rows(size: int, header: str) -> bytes:
    return (header + "x\n" * ((size - len(header)) // 2)).encode()


def xlsx_dimension_bomb() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["npi", "name"])
    workbook.active.append(["1234567893", "Dr A"])
    out = io.BytesIO()
    workbook.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    result = io.BytesIO()
    with zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b'<dimension ref="A1:B2"', b'<dimension ref="A1:XFD1048576"')
            target.writestr(item.filename, content)
    return result.getvalue()


def xlsx_rows(rows: int) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER.strip().split(","))
    for n in range(rows):
        sheet.append(ROW.format(n=n).strip().split(","))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def junk_zip(members: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(members):
            archive.writestr(f"junk{n}.xml", f"not xml {n}".encode())
    return out.getvalue()


def demo_qrda_zip(size: int) -> bytes:
    """A zip of distinct CMS IG 2025-style QRDA-I documents (the demo generator's, each made unique by a
    trailing comment) of about ``size`` bytes of documents."""
    import tempfile

    from aco_sync_local.demo_data import write_demo_aco

    with tempfile.TemporaryDirectory() as folder:
        write_demo_aco(Path(folder))
        documents = [p.read_bytes() for p in sorted(Path(folder).rglob("*.xml"))]
    out, total, n = io.BytesIO(), 0, 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        while total < size:
            body = documents[n % len(documents)] + f"<!-- copy {n} -->".encode()
            archive.writestr(f"patient_{n}.xml", body)
            total, n = total + len(body), n + 1
    return out.getvalue()


def run_clinic_sync(case: str, size: int) -> dict[str, object]:
    """The whole member-clinic sync (``sync_member_clinic``: read, diff, encounters, snapshot) of one
    clinic whose only quality file is this input, on in-memory stores: its peak memory per input byte is
    what the per-clinic input budget (``ingest.clinic.InputBudget``) is derived from."""
    import json as _json

    from aco_sync.adapters.environment import Stores
    from aco_sync.adapters.keys import StaticPseudonymKey
    from aco_sync.adapters.memory import (
        InMemoryObjectStore,
        InMemorySyncStateStore,
        InMemoryWorkflowStarter,
    )
    from aco_sync.domain.dedup import PseudonymKey
    from aco_sync.service.clinic_sync import sync_member_clinic

    if case == "clinic_csv":
        name, data = "templates/t.csv", template_csv(size)
    elif case == "clinic_xlsx":
        name, data = "templates/t.xlsx", xlsx_rows(size)
    else:
        name, data = "qrda/batch.zip", demo_qrda_zip(size)
    stores = Stores(
        objects=InMemoryObjectStore(),
        state=InMemorySyncStateStore(),
        workflows=InMemoryWorkflowStarter(),
        pseudonym_keys=StaticPseudonymKey(PseudonymKey(secret=b"bench-key-0123456789abcdef012345")),
        aco_sync_state_machine_arn="arn:main",
        mcqm_state_machine_arn="arn:mcqm",
    )
    settings = {"aco_id": "B1", "performance_year": 2025, "clinic_input_limit_mb": 100_000}
    stores.objects.put("config/acos/B1.json", _json.dumps(settings).encode())
    stores.objects.put(f"members/B1/{TIN}/{name}", data)
    baseline = resource.getrusage(resource.RUSAGE_SELF)
    result = sync_member_clinic(stores, aco_id="B1", sync_id="s1", tin=TIN)
    after = resource.getrusage(resource.RUSAGE_SELF)
    note = f"{result.get('rows_read')} read, {result.get('rows_accepted')} accepted"
    note += f", {result.get('records')} records"
    return _figures(case, len(data), baseline, after, note)


def run_case(case: str, size: int) -> dict[str, object]:
    """In this (fresh) process: build the input, then measure the reader on it."""
    if case.startswith("clinic_"):
        return run_clinic_sync(case, size)
    from aco_sync.domain.catalog import default_catalog
    from aco_sync.ingest.clinic import read_clinic_files
    from aco_sync.ingest.roster import read_roster
    from aco_sync.ingest.templates import read_template

    catalog = default_catalog()
    if case == "link":
        from datetime import UTC, datetime, timedelta

        from aco_sync.ecqm.codes import Code
        from aco_sync.ecqm.model import ClinicalEntry, EntryKind
        from aco_sync.ecqm.qrda import link_observations_to_encounters

        base, code = datetime(2025, 1, 1, tzinfo=UTC), frozenset({Code("1", "x")})
        entries = [
            ClinicalEntry(kind=EntryKind.ENCOUNTER, codes=code, id=f"e{n}", status="finished",
                          start=base + timedelta(hours=n), end=base + timedelta(hours=n, minutes=30))
            for n in range(size)
        ] + [
            ClinicalEntry(kind=EntryKind.OBSERVATION, codes=code, id=f"o{n}",
                          start=base + timedelta(hours=n, minutes=10),
                          end=base + timedelta(hours=n, minutes=11))
            for n in range(size)
        ]  # fmt: skip
        baseline = resource.getrusage(resource.RUSAGE_SELF)
        linked = link_observations_to_encounters(entries, frozenset({"EMER"}))
        after = resource.getrusage(resource.RUSAGE_SELF)
        assert sum(1 for e in linked if e.encounter_id) == size
        return _figures(case, 0, baseline, after, f"{size} encounters x {size} observations, all linked")
    if case == "template":
        data = template_csv(size)
    elif case == "template_tiny":
        data = tiny_rows(size, HEADER)
    elif case == "roster_tiny":
        data = tiny_rows(size, "mbi,first_name,last_name,birth_date,gender\n")
    elif case == "xlsx_dimension":
        data = xlsx_dimension_bomb()
    elif case == "xlsx":
        data = xlsx_rows(size)
    elif case == "zip_junk":
        data = junk_zip(size)
    else:
        raise SystemExit(f"unknown case {case}")
    baseline = resource.getrusage(resource.RUSAGE_SELF)
    if case == "roster_tiny":
        roster = read_roster("roster.csv", data, catalog=catalog)
        note = f"{roster.rows_total} rows read, {roster.rows_rejected} rejected"
        note += f", {len(roster.issues)} issues kept"
    elif case == "zip_junk":
        from aco_sync.ecqm import calculate_qrda

        upload = [("qrda/junk.zip", data)]
        clinic = read_clinic_files(
            TIN, upload, performance_year=2025, catalog=catalog, calculate_qrda=calculate_qrda
        )
        [account] = clinic.files
        note = f"{account.read} documents read, {account.rejected} rejected, {len(clinic.issues)} issues kept"
    else:
        name = "t.xlsx" if case.startswith("xlsx") else "t.csv"
        result = read_template(name, data, tin=TIN, performance_year=2025, catalog=catalog)
        note = (
            f"{result.rows_total} rows read, {result.rows_accepted} accepted, {result.rows_rejected} rejected"
            + (f", refused: {result.issues[0].code}" if result.refused else "")
            + f", {len(result.issues)} issues kept"
        )
    after = resource.getrusage(resource.RUSAGE_SELF)
    return _figures(case, len(data), baseline, after, note)


def _figures(
    case: str, size: int, before: resource.struct_rusage, after: resource.struct_rusage, note: str
) -> dict[str, object]:
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_growth = max(0, after.ru_maxrss - before.ru_maxrss) * 1024  # ru_maxrss is in KiB on Linux
    return {
        "case": case,
        "bytes": size,
        "cpu_s": round(cpu, 2),
        "peak_rss_growth_mb": round(peak_growth / 1_048_576, 1),
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),
        "memory_per_input_byte": round(peak_growth / size, 1) if size else None,
        "note": note,
    }


CASES_FULL = [
    ("template", 5_000_000),
    ("template", 25_000_000),
    ("template", 50_000_000),
    ("template_tiny", 25_000_000),
    ("roster_tiny", 8_000_000),
    ("xlsx_dimension", 0),
    ("xlsx", 100_000),
    ("zip_junk", 20_000),
    ("link", 28_000),
    ("clinic_csv", 20_000_000),
    ("clinic_xlsx", 50_000),
    ("clinic_qrda", 10_000_000),
]
CASES_QUICK = [
    ("template", 1_000_000),
    ("template_tiny", 1_000_000),
    ("roster_tiny", 1_000_000),
    ("xlsx_dimension", 0),
    ("xlsx", 5_000),
    ("zip_junk", 2_000),
    ("link", 5_000),
    ("clinic_csv", 1_000_000),
    ("clinic_xlsx", 2_000),
    ("clinic_qrda", 500_000),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case")
    parser.add_argument("--size", type=int, default=0)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.size)))
        return 0
    print(f"{'case':<15} {'input MB':>9} {'CPU s':>7} {'peak RSS +MB':>12} {'bytes/byte':>10}  note")
    for case, size in CASES_QUICK if args.quick else CASES_FULL:
        done = subprocess.run(
            [sys.executable, __file__, "--case", case, "--size", str(size)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"{case:<15} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        per_byte = "-" if row["memory_per_input_byte"] is None else f"{row['memory_per_input_byte']:.1f}"
        print(
            f"{case:<15} {int(row['bytes']) / 1_000_000:>9.2f} {row['cpu_s']:>7.2f} "
            f"{row['peak_rss_growth_mb']:>12.1f} {per_byte:>10}  {row['note']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
