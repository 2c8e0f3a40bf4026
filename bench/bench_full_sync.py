"""Full local sync of a synthetic ACO (bench/synthetic.py written as real input files) through the real
template.yaml, ASL and handlers in moto, at several sizes, each size in a fresh process.

For each size, in ONE local stack (LocalAws, as ``aco_sync_local.runner.run_local_sync`` uses it):
  1. **initial** sync: upload the folder, ingest the roster, start the sync through StartSyncFunction,
     wait for every execution (main + MCQM), deliver the clinic-stats queue;
  2. **unchanged** sync: start again on the same input;
  3. **1% changed** sync: change the performance of ~1% of the template rows (same encounter ids),
     re-upload the folder, start again.
Reported per sync: wall time (start-sync to the last execution and clinic-stats message done), records
per second (input records / that wall time), peak RSS of the process (psutil, sampled every 50 ms), the
per-state durations from the execution histories, and the writes:
  - what the workflow itself counts: each member clinic's sync log line ("TIN t: n records from f
    files; w added or changed, d removed, u unchanged; ...") -> records upserted / deleted in the
    aggregate-encounter store, and the clinic's encoded snapshot rewrites;
  - what the bench counts at the boto3 boundary (a botocore event hook on the handlers' default
    session): DynamoDB items put/deleted, grouped by item kind (PK/SK prefix: ENC# = the aggregate
    encounter buckets), and S3 objects written under store/ and results/.

Usage: python bench/bench_full_sync.py [--quick] [--sizes N ...] [--tins T] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "common"), str(REPO / "src"), str(REPO / "bench")]

QUICK_SIZES = [10_000]
FULL_SIZES = [10_000, 50_000, 200_000]
CHANGED_SHARE = 0.01
TIMEOUT_SECONDS = 3600.0
CLINIC_LINE = re.compile(
    r"TIN (?P<tin>\d+): (?P<records>\d+) records from (?P<files>\d+) files; (?P<upserts>\d+) added or "
    r"changed, (?P<deletes>\d+) removed, (?P<unchanged>\d+) unchanged"
)


def tins_for(records: int) -> int:
    """Member clinics per size: ~2,500 records per clinic, at least 4, at most 200."""
    return max(4, min(200, records // 2_500))


class WriteCounter:
    """Counts the write calls the handlers make through boto3 (DynamoDB items, S3 objects), by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def install(self) -> None:
        import boto3

        session = boto3._get_default_session()  # the session the adapters' boto3.client() calls use
        session.events.register("provide-client-params.dynamodb", self._dynamodb)
        session.events.register("provide-client-params.s3", self._s3)

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    def _add(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind] += n

    @staticmethod
    def _item_kind(item: dict[str, Any]) -> str:
        pk, sk = str(item.get("PK", "")), str(item.get("SK", ""))
        if pk.startswith("ACO#"):
            return "ACO#" + re.split(r"[#]", sk, maxsplit=1)[0]
        return pk.split("#", 1)[0] + "#"

    def _dynamodb(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        if operation in ("PutItem", "UpdateItem"):
            self._add(f"ddb put {self._item_kind(params.get('Item') or params.get('Key') or {})}")
        elif operation == "DeleteItem":
            self._add(f"ddb delete {self._item_kind(params.get('Key') or {})}")
        elif operation == "BatchWriteItem":
            for requests in params.get("RequestItems", {}).values():
                for request in requests:
                    if "PutRequest" in request:
                        self._add(f"ddb put {self._item_kind(request['PutRequest']['Item'])}")
                    else:
                        self._add(f"ddb delete {self._item_kind(request['DeleteRequest']['Key'])}")
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                for action, body in entry.items():
                    if action != "ConditionCheck":
                        item = body.get("Item") or body.get("Key") or {}
                        self._add(f"ddb {action.lower()} {self._item_kind(item)}")

    def _s3(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("PutObject", "DeleteObject", "CopyObject", "CompleteMultipartUpload"):
            key = str(params.get("Key", ""))
            parts = key.split("/")
            kind = "/".join(parts[:1] + parts[2:3]) if parts[0] == "store" else parts[0]
            self._add(f"s3 {model.name} {kind}/")


class PeakRss:
    """Peak resident set size of this process between start() and stop() (psutil, sampled)."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.peak = 0

    def start(self) -> None:
        self.peak = self._process.memory_info().rss
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)
        return self.peak


def change_rows(aco: Any, share: float, seed: int = 99) -> int:
    """Change the performance of ``share`` of the records in place (same encounter ids); returns how many."""
    rng = random.Random(seed)
    performance = aco.records.columns["performance"]
    indexes = rng.sample(range(len(performance)), k=max(1, int(len(performance) * share)))
    flip = {
        "MET": "NOT_MET",
        "NOT_MET": "MET",
        "DENOMINATOR_EXCLUSION": "MET",
        "DENOMINATOR_EXCEPTION": "MET",
    }
    for i in indexes:
        performance[i] = flip.get(performance[i], "MET")
    return len(indexes)


def state_durations(executions: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per state: total seconds over all visits (Map iterations summed), visits, and the longest visit."""
    states: dict[str, dict[str, float]] = defaultdict(lambda: {"total_s": 0.0, "visits": 0, "max_s": 0.0})
    for execution in executions:
        prefix = "MCQM: " if execution["state_machine"] != "AcoSyncStateMachine" else ""
        for row in execution["history"]:
            if row.get("duration_ms") is None:
                continue
            name = prefix + ("  " * row.get("depth", 0)) + row["state"]
            seconds = row["duration_ms"] / 1000
            entry = states[name]
            entry["total_s"] = round(entry["total_s"] + seconds, 3)
            entry["visits"] += 1
            entry["max_s"] = round(max(entry["max_s"], seconds), 3)
    return dict(states)


def one_sync(aws: Any, aco_id: str, counter: WriteCounter, *, upload: Path | None) -> dict[str, Any]:
    """Start one sync (after uploading ``upload`` when given) and collect its figures."""
    from aco_sync.service.status import latest_sync_status
    from aco_sync_local.runner import ingest_uploaded_rosters

    before_arns = {e.execution_arn for e in aws.list_executions()}
    rss = PeakRss()
    rss.start()
    started = time.perf_counter()
    phases: dict[str, float] = {}
    if upload is not None:
        keys = aws.upload_folder(upload)
        phases["upload_s"] = round(time.perf_counter() - started, 3)
        ingest_uploaded_rosters(keys, aco_id)
        phases["roster_ingest_s"] = round(time.perf_counter() - started - phases["upload_s"], 3)
    writes_before = counter.snapshot()
    sync_started = time.perf_counter()
    aws.invoke("StartSyncFunction", {"aco_id": aco_id, "trigger": "manual"})
    aws.wait_for_executions(timeout=TIMEOUT_SECONDS)
    phases["executions_s"] = round(time.perf_counter() - sync_started, 3)
    aws.drain_queues()
    summaries = aws.wait_for_executions(timeout=TIMEOUT_SECONDS)
    sync_wall = time.perf_counter() - sync_started
    phases["clinic_stats_s"] = round(sync_wall - phases["executions_s"], 3)
    writes = counter.snapshot()
    writes.subtract(writes_before)
    peak = rss.stop()
    executions = [
        {**s.to_dict(), "history": [r.to_dict() for r in aws.execution_history(s.execution_arn)]}
        for s in summaries
        if s.execution_arn not in before_arns
    ]
    status = latest_sync_status(aco_id)
    clinic_lines = [
        m.groupdict() for e in status["log"] if (m := CLINIC_LINE.search(str(e.get("message", ""))))
    ]
    return {
        "status": (status.get("sync") or {}).get("status"),
        "executions": [(e["state_machine"], e["status"]) for e in executions],
        "wall_s": round(sync_wall, 3),
        "phases": phases,
        "peak_rss_mb": round(peak / 2**20),
        "states": state_durations(executions),
        "clinics_logged": len(clinic_lines),
        "logged_upserts": sum(int(c["upserts"]) for c in clinic_lines),
        "logged_deletes": sum(int(c["deletes"]) for c in clinic_lines),
        "logged_unchanged": sum(int(c["unchanged"]) for c in clinic_lines),
        "logged_records": sum(int(c["records"]) for c in clinic_lines),
        "writes": {k: v for k, v in sorted(writes.items()) if v},
        "measures": len(status.get("measures") or []),
    }


def run_size(records: int, tins: int | None = None) -> dict[str, Any]:
    from aco_sync_local.local_aws import LocalAws
    from synthetic import generate_aco, write_bucket_folder

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    tins = tins or tins_for(records)
    counter = WriteCounter()
    started = time.perf_counter()
    aco = generate_aco(records=records, tins=tins)
    result: dict[str, Any] = {"records": records, "tins": tins, "patients": aco.patients}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "aco"
        aco_id = write_bucket_folder(aco, folder)
        result["write_folder_s"] = round(time.perf_counter() - started, 2)
        result["input_mb"] = round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 1)
        with (
            redirect_stdout(io.StringIO()),
            LocalAws(fast_retries=True, env_overrides={"POWERTOOLS_LOG_LEVEL": "ERROR"}) as aws,
        ):
            counter.install()  # moto replaces boto3's default session while the mock runs
            result["initial"] = one_sync(aws, aco_id, counter, upload=folder)
            result["unchanged"] = one_sync(aws, aco_id, counter, upload=None)
            result["changed_rows"] = change_rows(aco, CHANGED_SHARE)
            write_bucket_folder(aco, folder)
            result["changed"] = one_sync(aws, aco_id, counter, upload=folder)
    result["process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def _aggregate_writes(writes: dict[str, int]) -> str:
    """ENC# bucket items written + deleted, and the snapshot objects."""
    items = sum(v for k, v in writes.items() if k.startswith("ddb") and k.endswith(" ENC#"))
    markers = sum(v for k, v in writes.items() if k.startswith("ddb") and "ENCTIN" in k)
    snapshots = sum(v for k, v in writes.items() if k.startswith("s3") and k.endswith("store/clinics/"))
    return f"{items} ENC# items, {markers} ENCTIN markers, {snapshots} snapshot objects"


def print_tables(results: list[dict[str, Any]]) -> None:
    print(
        "| records | TINs | sync | status | wall s | records/s | peak RSS MB "
        "| upserts / deletes / unchanged (sync log) | aggregate-store writes (boto3) "
        "| all DynamoDB item writes |"
    )
    print("|---:|---:|---|---|---:|---:|---:|---|---|---:|")
    for r in results:
        for name in ("initial", "unchanged", "changed"):
            s = r[name]
            ddb = sum(v for k, v in s["writes"].items() if k.startswith("ddb"))
            label = name if name != "changed" else f"{r['changed_rows']:,} rows changed"
            print(
                f"| {r['records']:,} | {r['tins']} | {label} | {s['status']} | {s['wall_s']:.1f} "
                f"| {r['records'] / s['wall_s']:,.0f} | {s['peak_rss_mb']} "
                f"| {s['logged_upserts']:,} / {s['logged_deletes']:,} / {s['logged_unchanged']:,} "
                f"| {_aggregate_writes(s['writes'])} | {ddb:,} |"
            )
    print()
    syncs = ("initial", "unchanged", "changed")
    for r in results:
        print(
            f"Per-state durations, {r['records']:,} records: seconds summed over visits (indented: "
            "Map iterations, which run one at a time in-process, so each includes its wait)"
        )
        print(f"  {'state':<46} " + " ".join(f"{name:>10}" for name in syncs))
        names = sorted(
            {name for sync in syncs for name in r[sync]["states"]},
            key=lambda name: -max(r[sync]["states"].get(name, {"total_s": 0.0})["total_s"] for sync in syncs),
        )
        for name in names[:12]:
            cells = [r[sync]["states"].get(name, {}).get("total_s") for sync in syncs]
            print(f"  {name:<46} " + " ".join("         -" if c is None else f"{c:10.2f}" for c in cells))
        print(
            f"  initial sync phases: {r['initial']['phases']}; "
            f"folder written in {r['write_folder_s']} s ({r['input_mb']} MB)"
        )
        print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the smallest size")
    parser.add_argument("--sizes", nargs="+", type=int, help="record counts (default 10k, 50k, 200k)")
    parser.add_argument("--tins", type=int, default=None, help="member clinics (default ~2,500 records each)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one, args.tins)))
        return 0
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    results = []
    for records in sizes:
        command = [sys.executable, __file__, "--one", str(records)]
        if args.tins:
            command += ["--tins", str(args.tins)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        print(f"{records:,} records done", file=sys.stderr, flush=True)
    print_tables(results)
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
