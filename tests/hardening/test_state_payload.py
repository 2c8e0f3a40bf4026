"""Issue 11, item 8: the state payload does not grow with the number of member TINs. Member TINs (250
by default: three batches of clinics; ``ACO_SYNC_PAYLOAD_TINS=5000`` for the 5,000-TIN run, see
docs/PERFORMANCE.md) run through the real ASL: template.yaml deployed into moto, whose Step Functions
interpreter runs the ASL and invokes the real handlers in-process. Every state's input and output in the
execution history is measured and stays far below Step Functions' 256 KB limit."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from aco_sync_local.local_aws import LocalAws

N_TINS = int(os.environ.get("ACO_SYNC_PAYLOAD_TINS", "250"))  # 5000: see docs/PERFORMANCE.md
STATE_LIMIT = 256 * 1024
SYNCED_TIN = "100000000"
TEMPLATE = (
    "measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,npi\n"
    "M236,CQM,Ann,Lee,1950-02-03,F,2025-03-01,MET,1234567893\n"
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def _payload_sizes(events: list[dict[str, Any]]) -> list[int]:
    sizes = []
    for event in events:
        for details in event.values():
            if isinstance(details, dict):
                for name in ("input", "output"):
                    if isinstance(details.get(name), str):
                        sizes.append(len(details[name].encode()))
    return sizes


def test_5000_member_tins_run_through_the_real_asl_with_small_state_payloads() -> None:
    tins = [f"{100_000_000 + n}" for n in range(N_TINS)]
    config = {
        "aco_id": "BIG",
        "performance_year": 2025,
        "roster_required": False,
        "member_clinics": [{"tin": t, "name": f"Clinic {t}"} for t in tins],
    }
    with LocalAws(fast_retries=True, env_overrides={"POWERTOOLS_LOG_LEVEL": "ERROR"}) as aws:
        s3 = aws.client("s3")
        bucket = aws.bucket_name()
        s3.put_object(Bucket=bucket, Key="config/acos/BIG.json", Body=json.dumps(config).encode())
        # one clinic with data; the others have no files, so each of them goes through the Map's Catch
        s3.put_object(
            Bucket=bucket, Key=f"members/BIG/{SYNCED_TIN}/templates/cqm.csv", Body=TEMPLATE.encode()
        )
        started = aws.invoke("StartSyncFunction", {"aco_id": "BIG"})["started"][0]
        aws.wait_for_executions(timeout=3000)
        arn = started["execution_arn"]
        assert aws.describe_execution(arn).status == "SUCCEEDED"
        sizes = _payload_sizes(aws.raw_history(arn))
        from aco_sync.adapters.environment import build_stores
        from aco_sync.service.status import latest_sync_status

        status = latest_sync_status("BIG", store=build_stores())
    largest = max(sizes)
    print(f"\n{N_TINS} member TINs: largest state input/output {largest} bytes over {len(sizes)} payloads")
    assert largest < 16 * 1024, f"largest state payload {largest} bytes"  # 256 KB is the limit
    assert largest < STATE_LIMIT
    clinics = {c["tin"]: c["status"] for c in status["clinics"]}
    assert len(clinics) == N_TINS and clinics[SYNCED_TIN] == "Sync Complete"
    assert sum(1 for s in clinics.values() if s == "Sync Failed") == N_TINS - 1
    assert (
        status["sync"]["status"] == "Sync Complete" and len(status["sync"]["incomplete_tins"]) == N_TINS - 1
    )
