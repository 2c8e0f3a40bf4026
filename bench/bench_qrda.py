"""Benchmark of the QRDA-I reader: files per second over the real fixture files, and the ratio to a
bare lxml parse of the same bytes (the floor: what parsing alone costs).

- ``parse_qrda``: bytes -> QrdaDocument (security checks, demographics, measures, every entry).
- bare lxml: ``etree.fromstring`` with the same hardened parser settings, nothing else.
- ``read_qrda_upload`` on a zip of all the files (zip handling + the above).
- the demo generator's CMS IG 2025-style files (small, typical of one patient-year).

    python bench/bench_qrda.py            # full: more repetitions
    python bench/bench_qrda.py --quick    # about a second
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "layers" / "common"))
sys.path.insert(0, str(HERE.parent / "src"))
SHARED = Path(os.environ.get("ACO_SYNC_SHARED_DIR", HERE.parent.parent / "shared"))


def timed(rounds: int, work: Callable[[], None]) -> float:
    work()  # warm-up
    best = float("inf")
    for _ in range(3):  # best of three batches: least disturbed by other processes on the machine
        started = time.perf_counter()
        for _ in range(rounds):
            work()
        best = min(best, time.perf_counter() - started)
    return best


def fixture_files() -> list[tuple[str, bytes]]:
    folder = SHARED / "fixtures" / "qrda"
    if not folder.is_dir():
        print(f"shared fixtures missing ({folder}); only the demo files are measured")
        return []
    # 33_ is not well-formed XML: it is rejected early and would flatter the numbers
    return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.xml")) if not p.name.startswith("33_")]


def demo_files() -> list[tuple[str, bytes]]:
    from aco_sync_local.demo_data import write_demo_aco

    with tempfile.TemporaryDirectory() as folder:
        write_demo_aco(Path(folder))
        return [(p.name, p.read_bytes()) for p in sorted(Path(folder).rglob("patient_*.xml"))]


def measure(label: str, files: list[tuple[str, bytes]], rounds: int) -> None:
    from lxml import etree

    from aco_sync.ingest.qrda import parse_qrda
    from aco_sync.ingest.qrda_safety import new_parser

    if not files:
        return
    megabytes = sum(len(d) for _, d in files) / 1_048_576

    def reader() -> None:
        for name, data in files:
            parse_qrda(data, file_name=name)

    def bare() -> None:
        for _, data in files:
            etree.fromstring(data, parser=new_parser())

    reader_seconds = timed(rounds, reader)
    bare_seconds = timed(rounds, bare)
    count = len(files) * rounds
    print(
        f"{label:<34} {len(files):>3} files {megabytes:6.2f} MB  "
        f"parse_qrda {count / reader_seconds:8.0f} files/s "
        f"({megabytes * rounds / reader_seconds:5.1f} MB/s)  "
        f"bare lxml {count / bare_seconds:8.0f} files/s  ratio {reader_seconds / bare_seconds:4.1f}x"
    )


def measure_zip(files: list[tuple[str, bytes]], rounds: int) -> None:
    from aco_sync.ingest.qrda import read_qrda_upload

    if not files:
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    data = buffer.getvalue()
    seconds = timed(rounds, lambda: read_qrda_upload("all.zip", data))
    print(
        f"{'read_qrda_upload(zip of the fixtures)':<34} {len(files):>3} files  "
        f"{len(files) * rounds / seconds:8.0f} files/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (about a second)")
    args = parser.parse_args()
    rounds = 3 if args.quick else 30
    print(
        f"QRDA-I reader benchmark: python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{rounds} rounds x best of 3"
    )
    fixtures = fixture_files()
    measure("real fixture files (QRDA R1..STU5.3)", fixtures, rounds)
    measure("demo CMS IG 2025-style files", demo_files(), rounds * 4)
    measure_zip(fixtures, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
