"""Benchmark of the member-clinic Map state at scale: one whole local sync (template.yaml and the real
ASL deployed into moto, handlers in-process, ``LocalAws(fast_retries=True)``) of an ACO with N member
TINs, each with a provider list and a CQM template of R patient rows (a fifth of the patients seen at
two TINs, so de-duplication works across clinics). It reports the wall time of the sync (start ->
executions finished -> clinic stats job), the Map iterations, and the peak RSS of the process (moto,
the state machine interpreter and every handler run in it). The sync must complete with every clinic
``Sync Complete`` and no failed state, else the script exits 1.

Each size runs in a fresh child process (clean peak RSS).

    python bench/bench_map_scale.py            # 50 and 200 TINs
    python bench/bench_map_scale.py --quick    # 20 TINs
    python bench/bench_map_scale.py --tins 200 --rows 100
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "layers" / "common"))
sys.path.insert(0, str(HERE.parent / "src"))

from aco_sync.ingest.tabular import npi_with_check_digit  # noqa: E402  (after the path set-up)

FULL_TINS = [50, 200]
QUICK_TINS = [20]
ROWS_PER_TIN = 50
ACO_ID = "bench-aco"
HEADER = (
    "measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,npi\n"
)
MEASURES = ("M236", "M001", "M134", "M113")
KINDS = ("MET", "MET", "NOT_MET", "DENOMINATOR_EXCLUSION", "")


def _npi(seed: int) -> str:
    """A valid NPI."""
    return npi_with_check_digit(f"1{seed % 100_000_000:08d}")


def build_aco(tins: int, rows: int) -> dict[str, bytes]:
    rng = random.Random(tins * 1000 + rows)
    files: dict[str, bytes] = {}
    tin_ids = [f"{300000000 + i}" for i in range(tins)]
    config = {
        "aco_id": ACO_ID,
        "performance_year": 2025,
        "member_clinics": [{"tin": t, "name": f"Clinic {i}"} for i, t in enumerate(tin_ids)],
        "roster_required": False,
    }
    files[f"config/acos/{ACO_ID}.json"] = json.dumps(config).encode()
    patients = tins * rows * 4 // 5
    for index, tin in enumerate(tin_ids):
        npi = _npi(index)
        files[f"members/{ACO_ID}/{tin}/providers.csv"] = f"npi,name,active\n{npi},Dr {index},Y\n".encode()
        lines = [HEADER]
        for row in range(rows):
            patient = rng.randrange(patients) if row % 5 == 0 else (index * rows + row) % patients
            year = 1940 + patient % 45
            lines.append(
                f"{MEASURES[row % len(MEASURES)]},CQM,Given{patient},Family{patient % 997},"
                f"{year}-{1 + patient % 12:02d}-{1 + patient % 28:02d},{'FM'[patient % 2]},"
                f"2025-{1 + row % 12:02d}-{1 + row % 28:02d},{KINDS[row % len(KINDS)]},{npi}\n"
            )
        files[f"members/{ACO_ID}/{tin}/templates/cqm.csv"] = "".join(lines).encode()
    return files


def run_one(tins: int, rows: int) -> dict[str, object]:
    from aco_sync.service.status import latest_sync_status
    from aco_sync_local.local_aws import LocalAws

    files = build_aco(tins, rows)
    started = time.perf_counter()
    with LocalAws(fast_retries=True) as aws:
        deployed = time.perf_counter()
        s3 = aws.client("s3")
        for key, body in files.items():
            s3.put_object(Bucket=aws.bucket_name(), Key=key, Body=body)
        rss_before_sync = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sync_start = time.perf_counter()
        response = aws.invoke("StartSyncFunction", {"aco_id": ACO_ID, "trigger": "manual"})
        execution_arn = response["started"][0]["execution_arn"]
        executions = aws.wait_for_executions(timeout=3600)
        executions_done = time.perf_counter()
        aws.drain_queues()
        aws.wait_for_executions(timeout=600)
        sync_done = time.perf_counter()
        history = aws.execution_history(execution_arn)
        status = latest_sync_status(ACO_ID)
    clinic_statuses = [c["status"] for c in status["clinics"]]
    iterations = {row.iteration for row in history if row.iteration is not None}
    failed_states = [row.state for row in history if row.status == "Failed"]
    ok = (
        all(e.status == "SUCCEEDED" for e in executions)
        and status["sync"]["status"] == "Sync Complete"
        and clinic_statuses.count("Sync Complete") == tins
        and not failed_states
    )
    return {
        "tins": tins,
        "rows": tins * rows,
        "deploy_s": round(deployed - started, 2),
        "executions_s": round(executions_done - sync_start, 2),
        "sync_s": round(sync_done - sync_start, 2),
        "tins_per_s": round(tins / (executions_done - sync_start), 1),
        "map_iterations": len(iterations),
        "rss_before_sync_mb": round(rss_before_sync),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "clinics_complete": clinic_statuses.count("Sync Complete"),
        "sync_status": status["sync"]["status"],
        "ok": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK_TINS} TINs")
    parser.add_argument("--tins", type=int, nargs="*", help="member TIN counts to run")
    parser.add_argument("--rows", type=int, default=ROWS_PER_TIN, help="template rows per TIN")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_one(args.child, args.rows)))
        return 0
    sizes = args.tins or (QUICK_TINS if args.quick else FULL_TINS)
    print("| member TINs | template rows | sync s (wall) | of which executions s | TINs/s | Map iterations "
          "| RSS before sync MB | peak RSS MB | clinics complete | ok |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    failed = False
    for tins in sizes:
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(tins), "--rows", str(args.rows)],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in child.stdout.splitlines() if line.startswith('{"tins"')]
        if child.returncode != 0 or not lines:
            print(f"| {tins} | failed (exit {child.returncode}): {child.stderr.strip()[-500:]} |")
            failed = True
            continue
        r = json.loads(lines[-1])
        failed |= not r["ok"]
        print(
            f"| {r['tins']} | {r['rows']:,} | {r['sync_s']} | {r['executions_s']} | {r['tins_per_s']} "
            f"| {r['map_iterations']} | {r['rss_before_sync_mb']} | {r['peak_rss_mb']} "
            f"| {r['clinics_complete']} | {'yes' if r['ok'] else 'NO: ' + r['sync_status']} |",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
