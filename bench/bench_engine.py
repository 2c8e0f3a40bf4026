"""Benchmark of the aggregation engine alone: decode the encoded records, de-duplicate, apply the
measure rules and collection types, match the roster, compute the stats.

For each size a child process generates a synthetic ACO (bench/synthetic.py) and writes it to a temp
folder (not timed); a second, fresh child process then runs the two engine steps the workflow runs in
two Lambdas, each reading the records from bytes:
  finalize = decode + plan_measures + aggregate_members (incl. the probable-duplicates report)
  mcqm     = decode + roster load + aggregate_mcqm (roster matching, MCQM stats)
and reports wall time, records/s and the peak RSS of that process (resource.getrusage).

    python bench/bench_engine.py            # 100k, 250k, 500k, 1M records (200 TINs, records/4 patients)
    python bench/bench_engine.py --quick    # 20k and 50k records
    python bench/bench_engine.py --sizes 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "layers" / "common"))
sys.path.insert(0, str(HERE))

FULL_SIZES = [100_000, 250_000, 500_000, 1_000_000]
QUICK_SIZES = [20_000, 50_000]
TARGET_SECONDS = 8.0
TARGET_RSS_MB = 1024.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def generate(size: int, tins: int, folder: Path) -> None:
    from synthetic import generate_aco, write_encoded

    aco = generate_aco(records=size, tins=tins, patients=size // 4)
    write_encoded(aco, folder)
    roster = [
        [r.mbi, r.first_name, r.last_name, r.birth_date.toordinal(), r.gender.value] for r in aco.roster
    ]
    counts = [[c.tin, c.measure_id, c.collection_type.value, c.count] for c in aco.denominator_counts]
    (folder / "roster.json").write_text(json.dumps(roster), encoding="utf-8")
    (folder / "counts.json").write_text(json.dumps(counts), encoding="utf-8")
    (folder / "settings.json").write_text(aco.settings.model_dump_json(), encoding="utf-8")


def measure(folder: Path) -> dict[str, float]:
    from aco_sync.domain.bulk import gc_paused
    from aco_sync.domain.catalog import default_catalog
    from aco_sync.domain.collection_types import plan_measures, plan_submissions
    from aco_sync.domain.dedup import PseudonymKey
    from aco_sync.domain.engine import aggregate_mcqm, aggregate_members
    from aco_sync.domain.record_codec import decode_batch
    from aco_sync.domain.records import CollectionType, DenominatorCount, Gender, RosterEntry
    from aco_sync.domain.settings import AcoSettings

    bench_key = PseudonymKey(b"bench: a fixed pseudonym key, not a secret......")

    catalog = default_catalog()
    settings = AcoSettings.model_validate_json((folder / "settings.json").read_text(encoding="utf-8"))
    data = (folder / "records.bin").read_bytes()
    baseline_mb = _peak_rss_mb()

    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    batch = decode_batch(data)
    decoded = time.perf_counter()
    counts = [
        DenominatorCount(tin=t, measure_id=m, collection_type=CollectionType(c), count=n)
        for t, m, c, n in json.loads((folder / "counts.json").read_text(encoding="utf-8"))
    ]
    plan = plan_measures(
        plan_submissions(batch, counts), has_active_roster=True, settings=settings, catalog=catalog
    )
    members = aggregate_members(batch, plan, catalog=catalog, pseudonym_key=bench_key)
    finalize_done = time.perf_counter()
    del batch, members

    start_mcqm = time.perf_counter()
    batch = decode_batch(data)
    genders = {g.value: g for g in Gender}
    with gc_paused():  # a roster reader builds ~160k records; the GC has nothing to collect there
        roster = [
            RosterEntry(
                mbi=m, first_name=f, last_name=last, birth_date=date.fromordinal(b), gender=genders[g]
            )
            for m, f, last, b, g in json.loads((folder / "roster.json").read_text(encoding="utf-8"))
        ]
    mcqm = aggregate_mcqm(
        batch, counts, plan, roster, settings=settings, catalog=catalog, pseudonym_key=bench_key
    )
    mcqm_done = time.perf_counter()
    cpu_total = _cpu_seconds() - cpu_start
    peak_engine_mb = _peak_rss_mb()
    outcomes_start = time.perf_counter()
    outcome_count = len(mcqm.outcomes)
    outcomes_s = time.perf_counter() - outcomes_start
    return {
        "cpu_s": cpu_total,
        "outcomes_s": outcomes_s,
        "mcqm_outcomes": outcome_count,
        "records": len(batch),
        "decode_s": decoded - start,
        "finalize_s": finalize_done - start,
        "mcqm_s": mcqm_done - start_mcqm,
        "total_s": (finalize_done - start) + (mcqm_done - start_mcqm),
        "peak_rss_mb": peak_engine_mb,
        "baseline_rss_mb": baseline_mb,
        "patients": mcqm.counts["patients"],
        "copied": mcqm.counts["patients_copied"],
        "skipped": mcqm.counts["patients_skipped_ambiguous"],
    }


def run_size(size: int, tins: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench_engine_") as tmp:
        script = str(Path(__file__).resolve())
        subprocess.run(
            [sys.executable, script, "--generate", str(size), "--tins", str(tins), "--folder", tmp],
            check=True,
        )
        out = subprocess.run(
            [sys.executable, script, "--measure", "--folder", tmp], check=True, capture_output=True, text=True
        )
        return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description="Aggregation engine benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--sizes", type=int, nargs="*", help="record counts to run")
    parser.add_argument("--tins", type=int, default=200)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.tins, args.folder)
        return 0
    if args.measure:
        print(json.dumps(measure(args.folder)))
        return 0

    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    ok = True
    load = os.getloadavg()[0]
    print(f"engine benchmark: {os.cpu_count()} CPUs, load average {load:.1f} at start, {args.tins} TINs")
    print(
        f"{'records':>10} {'patients':>9} {'finalize s':>11} {'mcqm s':>7} {'total s':>8} "
        f"{'CPU s':>6} {'records/s':>10} {'peak RSS MB':>12} {'MCQM outcomes s':>16}"
    )
    for size in sizes:
        r = run_size(size, args.tins)
        rate = r["records"] / r["total_s"]
        print(
            f"{r['records']:>10,} {r['patients']:>9,} {r['finalize_s']:>11.2f} "
            f"{r['mcqm_s']:>7.2f} {r['total_s']:>8.2f} {r['cpu_s']:>6.2f} {rate:>10,.0f} "
            f"{r['peak_rss_mb']:>12.0f} {r['outcomes_s']:>16.2f}",
            flush=True,
        )
        if size >= 1_000_000:
            ok = r["total_s"] < TARGET_SECONDS and r["peak_rss_mb"] < TARGET_RSS_MB
            print(
                f"target at 1M records: < {TARGET_SECONDS:.0f} s and < {TARGET_RSS_MB:.0f} MB: "
                f"{'met' if ok else 'NOT met'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
