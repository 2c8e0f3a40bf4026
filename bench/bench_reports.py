"""Benchmark of scoring and reports: build_reports (scores, HTML, CSVs, QPP JSON, QRDA III) and the
clinic stats job (compute_clinic_stats) on a synthetic sync of N patient outcomes.

Outcomes spread over 7 measure instances (eCQM, CQM, MCQM) and 200 TINs, one in seven patients seen at
two TINs. Each size runs in a fresh child process; it reports wall time per step, the size of the
outputs and the peak RSS of that process.

    python bench/bench_reports.py            # 100k, 500k, 1M outcomes
    python bench/bench_reports.py --quick    # 20k, 100k outcomes
    python bench/bench_reports.py --sizes 250000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "layers" / "common"))

FULL_SIZES = [100_000, 500_000, 1_000_000]
QUICK_SIZES = [20_000, 100_000]
TINS = 200
INSTANCES = (
    ("M001", "eCQM"),
    ("M112", "eCQM"),
    ("M236", "eCQM"),
    ("M134", "CQM"),
    ("M113", "CQM"),
    ("M236", "MCQM"),
    ("M001", "MCQM"),
)


def run_one(size: int) -> dict[str, float | int]:
    from aco_sync.domain.catalog import default_catalog
    from aco_sync.domain.outcome_codes import PERFORMANCE_CODE
    from aco_sync.domain.records import CollectionType, PatientOutcome, Performance
    from aco_sync.domain.settings import AcoSettings
    from aco_sync.domain.stats import build_measure_stats
    from aco_sync.reports import ReportInputs, build_reports
    from aco_sync.scoring.clinic_stats import compute_clinic_stats

    rng = random.Random(size)
    tins = [f"{100000000 + i}" for i in range(TINS)]
    kinds = [Performance.MET] * 6 + [Performance.NOT_MET] * 3 + [Performance.DENOMINATOR_EXCLUSION]
    outcomes = []
    for index in range(size):
        measure_id, collection_type = INSTANCES[index % len(INSTANCES)]
        tin = tins[rng.randrange(TINS)]
        source = (tin,) if index % 7 else tuple(sorted({tin, tins[rng.randrange(TINS)]}))
        outcomes.append(
            PatientOutcome(
                master_pat_id=f"MP{index // 3:08d}",
                measure_id=measure_id,
                collection_type=CollectionType(collection_type),
                outcome=rng.choice(kinds),
                performance_date=date(2025, 1 + index % 12, 1 + index % 28),
                source_tins=source,
            )
        )
    catalog = default_catalog()
    stats = []
    for measure_id, collection_type in INSTANCES:
        mine = [o for o in outcomes if o.measure_id == measure_id and o.collection_type == collection_type]
        by_tin: dict[str, int] = {}
        for o in mine:
            for tin in o.source_tins:
                by_tin[tin] = by_tin.get(tin, 0) + 1
        counts = Counter(PERFORMANCE_CODE[o.outcome.value] for o in mine)
        instance = (measure_id, CollectionType(collection_type))
        inverse = catalog.get(measure_id).inverse
        stats.append(
            build_measure_stats(*instance, outcome_counts=counts, patients_by_tin=by_tin, inverse=inverse)
        )
    settings = AcoSettings(aco_id="BENCH", name="Benchmark ACO", performance_year=2025)

    start = time.perf_counter()
    clinic_stats = compute_clinic_stats(outcomes, catalog=catalog)
    clinic_seconds = time.perf_counter() - start

    start = time.perf_counter()
    files = build_reports(
        ReportInputs(
            settings=settings,
            sync_id="bench",
            generated_at=datetime.now(UTC),
            stats=stats,
            outcomes=outcomes,
            clinic_stats=clinic_stats,
            roster_size=size // 3,
        )
    )
    reports_seconds = time.perf_counter() - start
    return {
        "outcomes": size,
        "clinic_stats_s": round(clinic_seconds, 2),
        "build_reports_s": round(reports_seconds, 2),
        "outcomes_per_s": int(size / reports_seconds),
        "output_mb": round(sum(len(v) for v in files.values()) / 1e6, 1),
        "html_kb": round(len(files["report.html"]) / 1e3, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--sizes", type=int, nargs="*", help="numbers of patient outcomes")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    print(f"{'outcomes':>10} {'clinic stats s':>15} {'build_reports s':>16} {'outcomes/s':>11} "
          f"{'outputs MB':>11} {'HTML kB':>8} {'peak RSS MB':>12}")  # fmt: skip
    for size in sizes:
        result = subprocess.run(
            [sys.executable, __file__, "--one", str(size)], check=True, capture_output=True, text=True
        )
        row = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"{row['outcomes']:>10,} {row['clinic_stats_s']:>15} {row['build_reports_s']:>16} "
            f"{row['outcomes_per_s']:>11,} {row['output_mb']:>11} {row['html_kb']:>8} "
            f"{row['peak_rss_mb']:>12}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
