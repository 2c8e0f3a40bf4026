"""Full local sync: ``run_local_sync`` of a synthetic ACO folder through the real template, ASL and
handlers in moto (what ``aco-sync run`` does), at growing sizes, each size in a fresh process.

The folder: T member TINs, P patients (a fifth of them seen at a second TIN), each patient with one
to three CQM template rows for three measures at each TIN that sees them, a provider list per TIN and
a roster with every patient. Prints wall time per phase (deploy, upload, roster ingest, executions,
clinic stats, collect), the slowest states of the execution, and peak RSS.

Usage: python bench/bench_local_sync.py [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "common"), str(REPO / "src")]

QUICK_SIZES = [(4, 200), (8, 1_000)]
FULL_SIZES = [(4, 200), (8, 1_000), (20, 5_000), (40, 20_000)]
MEASURES = ["M001", "M236", "M134"]
PERFORMANCES = ["MET", "MET", "NOT_MET", "DENOMINATOR_EXCLUSION", "DENOMINATOR_EXCEPTION"]
FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Katherine", "Niklaus"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Johnson", "Wirth"]


def write_folder(folder: Path, tins: int, patients: int, seed: int = 7) -> tuple[str, int]:
    """Write the synthetic ACO; returns (aco_id, template rows)."""
    rng = random.Random(seed)
    aco_id = "BENCH"
    tin_ids = [f"{500000000 + i}" for i in range(tins)]
    people = []
    for number in range(patients):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 40))
        people.append(
            {
                "mbi": f"{number + 1}EG4TE5MK{number % 100:02d}",
                "first_name": f"{rng.choice(FIRST)}{number}",
                "last_name": rng.choice(LAST),
                "birth_date": birth.isoformat(),
                "gender": rng.choice("FM"),
            }
        )
    config = folder / "config" / "acos"
    config.mkdir(parents=True)
    settings = {
        "aco_id": aco_id,
        "name": "Benchmark ACO",
        "performance_year": 2025,
        "member_clinics": [{"tin": tin, "name": f"Clinic {tin}"} for tin in tin_ids],
        "roster_required": True,
        "mcqm_opt_in": False,
    }
    (config / f"{aco_id}.json").write_text(json.dumps(settings))
    roster = folder / "rosters" / aco_id / "2025"
    roster.mkdir(parents=True)
    with (roster / "roster.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["mbi", "first_name", "last_name", "birth_date", "gender"])
        writer.writeheader()
        writer.writerows(people)
    rows_by_tin: dict[str, list[dict[str, str]]] = defaultdict(list)
    for index, person in enumerate(people):
        seen_at = [tin_ids[index % tins]]
        if rng.random() < 0.2 and tins > 1:
            seen_at.append(tin_ids[(index + 1) % tins])
        for tin in seen_at:
            for measure in MEASURES:
                for _ in range(rng.randint(1, 3)):
                    performed = date(2025, 1, 1) + timedelta(days=rng.randrange(360))
                    rows_by_tin[tin].append(
                        {
                            "measure_id": measure,
                            "collection_type": "CQM",
                            "first_name": person["first_name"],
                            "last_name": person["last_name"],
                            "birth_date": person["birth_date"],
                            "gender": person["gender"],
                            "performance_date": performed.isoformat(),
                            "performance": rng.choice(PERFORMANCES),
                            "npi": "1234567893",
                        }
                    )
    total = 0
    for tin in tin_ids:
        clinic = folder / "members" / aco_id / tin
        (clinic / "templates").mkdir(parents=True)
        (clinic / "providers.csv").write_text("npi,name,active\n1234567893,Dr Bench,Y\n")
        rows = rows_by_tin[tin]
        total += len(rows)
        with (clinic / "templates" / "cqm.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return aco_id, total


def run_one(tins: int, patients: int) -> dict[str, object]:
    import io
    import logging
    from contextlib import redirect_stdout

    from aco_sync_local.runner import run_local_sync

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "aco"
        aco_id, rows = write_folder(folder, tins, patients)
        started = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            result = run_local_sync(
                folder, aco_id=aco_id, state_dir=Path(tmp) / "state", handler_log_level="ERROR"
            )
        wall = time.perf_counter() - started
    states: dict[str, float] = defaultdict(float)
    for execution in result.executions:
        for row in execution["history"]:
            if row.get("depth", 0) == 0 and row.get("duration_ms") is not None:
                states[row["state"]] += row["duration_ms"] / 1000
    slowest = sorted(states.items(), key=lambda item: -item[1])[:3]
    return {
        "tins": tins,
        "patients": patients,
        "rows": rows,
        "status": (result.sync or {}).get("status"),
        "wall_s": round(wall, 2),
        "timings": result.extra.get("timings", {}),
        "slowest": [(name, round(seconds, 2)) for name, seconds in slowest],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--one", nargs=2, type=int, metavar=("TINS", "PATIENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return 0
    print(
        "| TINs | patients | template rows | status | total | deploy | upload | executions | collect "
        "| slowest states | peak RSS |"
    )
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|")
    for tins, patients in QUICK_SIZES if args.quick else FULL_SIZES:
        output = subprocess.run(
            [sys.executable, __file__, "--one", str(tins), str(patients)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        figures = json.loads(output.strip().splitlines()[-1])
        timings = figures["timings"]
        slowest = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in figures["slowest"])
        print(
            f"| {tins} | {patients:,} | {figures['rows']:,} | {figures['status']} "
            f"| {figures['wall_s']:.2f} s "
            f"| {timings.get('deploy_s', 0):.2f} s | {timings.get('upload_s', 0):.2f} s "
            f"| {timings.get('executions_s', 0):.2f} s | {timings.get('collect_s', 0):.2f} s | {slowest} "
            f"| {figures['peak_rss_mb']} MB |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
