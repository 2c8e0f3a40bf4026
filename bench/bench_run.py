"""``aco-sync run`` end to end on a seeded synthetic ACO of N records and T member TINs (issue 13's shape).

For each (N, T): a seeded generator (``bench/synthetic.py``: ``generate_aco`` + ``write_bucket_folder``)
writes the ACO as real input files (one CQM template CSV and one provider list per TIN, MCQM counts, the
roster, the settings); then, each in a fresh process, exactly what ``aco-sync run FOLDER`` does
(``run_local_sync``: template.yaml on the local Step Functions interpreter, the real ASL and handlers,
the SQLite state file and the bucket folder in a new state folder):
  1. **initial** run (every record added),
  2. **unchanged** re-run of the same folder with the same state folder (nothing added or changed),
  3. **changed**: one row of one TIN's template edited (its performance date), then a re-run (1 changed).
Printed per run: wall time, CPU time (user + system, the Map's worker processes included) and peak RSS
of that process (or of its largest worker); "engine alone" is
``bench/bench_engine.py``'s measurement of the finalize + MCQM engine steps on the same records (same
generator and seed, fresh process); ratio = run wall / engine wall. At the end: the log-log slope of
the initial run's wall time against records (first to last size) and the fixed cost per member TIN
(difference of wall time between the smallest and largest TIN count at a fixed record count, divided
by the TIN difference). The machine is shared: the load average is printed at the start and end.

Usage: python bench/bench_run.py [--quick] [--records N ...] [--tins T] [--tin-sweep T ...]
       [--tin-sweep-records N] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "common"), str(REPO / "src"), str(REPO / "bench")]

FULL_RECORDS = [10_000, 50_000, 200_000, 1_000_000]
QUICK_RECORDS = [10_000]
FULL_TIN_SWEEP = [20, 200, 2_000]
TIMEOUT_SECONDS = 3600.0


def generate(records: int, tins: int, folder: Path) -> None:
    from synthetic import generate_aco, write_bucket_folder

    write_bucket_folder(generate_aco(records=records, tins=tins), folder)


def run_once(folder: Path, state: Path) -> dict[str, Any]:
    """One ``aco-sync run`` in this (fresh) process: wall, CPU, peak RSS and what the sync counted."""
    import io
    from contextlib import redirect_stdout

    from aco_sync_local.commands._common import quiet_handler_logs
    from aco_sync_local.runner import run_local_sync

    quiet_handler_logs(False)
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        result = run_local_sync(folder, state_dir=state, handler_log_level="ERROR", timeout=TIMEOUT_SECONDS)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # the Map's worker processes (aco_sync_local.local_stack), reaped when the local stack stops
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    added = sum(
        int(entry["message"].split(" added or changed")[0].rsplit(" ", 1)[1])
        for entry in result.status.get("log", [])
        if entry.get("kind") == "clinic" and " added or changed" in entry.get("message", "")
    )
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime + workers.ru_utime + workers.ru_stime,
        "peak_rss_mb": max(usage.ru_maxrss, workers.ru_maxrss) / 1024,
        "status": (result.sync or {}).get("status"),
        "error": (result.sync or {}).get("error"),
        "added_or_changed": added,
        "timings": result.extra.get("timings", {}),
    }


def edit_one_row(folder: Path) -> None:
    """Change the performance date of the first data row of the first TIN's template (1 record changed)."""
    path = sorted(folder.glob("members/*/*/templates/*.csv"))[0]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    column = lines[0].strip().split(",").index("performance_date")  # the column order varies per file
    fields = lines[1].split(",")
    fields[column] = "2025-01-02" if fields[column] != "2025-01-02" else "2025-01-03"
    lines[1] = ",".join(fields)
    path.write_text("".join(lines), encoding="utf-8")


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def engine_alone(records: int, tins: int) -> float:
    from bench_engine import run_size

    return float(run_size(records, tins)["total_s"])


def measure(records: int, tins: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench_run_") as tmp:
        folder, state = Path(tmp) / "aco", Path(tmp) / "state"
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--generate",
                str(records),
                str(tins),
                str(folder),
            ],
            check=True,
        )
        initial = _child("--run", str(folder), str(state))
        unchanged = _child("--run", str(folder), str(state))
        edit_one_row(folder)
        changed = _child("--run", str(folder), str(state))
    engine = engine_alone(records, tins)
    return {
        "records": records,
        "tins": tins,
        "initial": initial,
        "unchanged": unchanged,
        "changed": changed,
        "engine_s": engine,
    }


def _row(r: dict[str, Any], which: str) -> str:
    run = r[which]
    return (
        f"{r['records']:>10,} {r['tins']:>6,} {which:>9} {run['wall_s']:>8.1f} {run['cpu_s']:>7.1f} "
        f"{run['peak_rss_mb']:>9.0f} {run['timings'].get('deploy_s', 0):>8.1f} "
        f"{run['timings'].get('executions_s', 0):>8.1f} {r['engine_s']:>8.2f} "
        f"{run['wall_s'] / r['engine_s']:>7.0f}x {run['added_or_changed']:>9,} {run['status']}"
        + (f" ({run['error']})" if run.get("error") else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="aco-sync run end to end (issue 13's benchmark)")
    parser.add_argument("--quick", action="store_true", help="10,000 records at 200 TINs only")
    parser.add_argument("--records", type=int, nargs="*", help="record counts (at --tins TINs)")
    parser.add_argument("--tins", type=int, default=200)
    parser.add_argument("--tin-sweep", type=int, nargs="*", help="TIN counts at --tin-sweep-records")
    parser.add_argument("--tin-sweep-records", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="also print every measurement as JSON")
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--run", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(int(args.generate[0]), int(args.generate[1]), Path(args.generate[2]))
        return 0
    if args.run:
        print(json.dumps(run_once(*args.run)))
        return 0

    records = args.records or (QUICK_RECORDS if args.quick else FULL_RECORDS)
    sweep = [] if args.quick else (args.tin_sweep if args.tin_sweep is not None else FULL_TIN_SWEEP)
    print(f"aco-sync run benchmark: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(
        f"{'records':>10} {'TINs':>6} {'run':>9} {'wall s':>8} {'CPU s':>7} {'RSS MB':>9} {'deploy s':>8} "
        f"{'execs s':>8} {'engine s':>8} {'ratio':>8} {'added':>9} status"
    )
    by_records: list[dict[str, Any]] = []
    for n in records:
        r = measure(n, args.tins)
        by_records.append(r)
        print(_row(r, "initial"), flush=True)
        print(_row(r, "unchanged"), flush=True)
        print(_row(r, "changed"), flush=True)
    by_tins: list[dict[str, Any]] = []
    for t in sweep:
        r = measure(args.tin_sweep_records, t)
        by_tins.append(r)
        print(_row(r, "initial"), flush=True)
        print(_row(r, "unchanged"), flush=True)
    if len(by_records) >= 2:
        a, b = by_records[0], by_records[-1]
        slope = math.log(b["initial"]["wall_s"] / a["initial"]["wall_s"]) / math.log(
            b["records"] / a["records"]
        )
        print(f"log-log slope of wall time vs records ({a['records']:,} -> {b['records']:,}): {slope:.2f}")
    for r in by_records:
        share = r["unchanged"]["wall_s"] / r["initial"]["wall_s"]
        cpu = r["unchanged"]["cpu_s"] / r["initial"]["cpu_s"]
        print(f"unchanged re-run / initial run at {r['records']:,} records: {share:.0%} wall, {cpu:.0%} CPU")
    if len(by_tins) >= 2:
        a, b = by_tins[0], by_tins[-1]
        per_tin = (b["initial"]["wall_s"] - a["initial"]["wall_s"]) / (b["tins"] - a["tins"])
        print(f"fixed cost per member TIN ({a['tins']} -> {b['tins']} TINs): {per_tin * 1000:.0f} ms")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        print(json.dumps({"by_records": by_records, "by_tins": by_tins}))
    failed = [
        r
        for r in by_records + by_tins
        if any(r[run]["status"] != "Sync Complete" for run in ("initial", "unchanged", "changed") if run in r)
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
