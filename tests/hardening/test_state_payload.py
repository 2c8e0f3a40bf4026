"""Issue 11, item 8: neither the state payload nor an execution's history grows with the number of
member TINs. 5,000 member TINs (``ACO_SYNC_PAYLOAD_TINS`` to change it) run through the real ASL on the
local Step Functions interpreter (``aco_sync_local.local_stack.LocalStack``: template.yaml's state
machines, the real handlers): the clinic batches are the items of a distributed Map read from the batch
manifest in the bucket (ItemReader), each batch a child execution with its own history. Every state's
input and output in every history is measured and stays far below Step Functions' 256 KB limit, and
every execution's history stays far below the 25,000 events an execution may have. The synced clinic's
records are split into 16 engine partitions (``records_per_partition``), each a child execution of the
partition Map whose sums and outcomes go to the bucket: the payloads do not grow with the partitions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from aco_sync.adapters.environment import build_stores
from aco_sync.domain.partitions import PARTITION_BUCKETS
from aco_sync.service.status import latest_sync_status
from aco_sync.service.validation import CLINIC_BATCH_SIZE
from aco_sync_local.local_stack import LocalStack

N_TINS = int(os.environ.get("ACO_SYNC_PAYLOAD_TINS", "5000"))
STATE_LIMIT = 256 * 1024
HISTORY_LIMIT = 25_000  # events per execution (Step Functions quota)
SYNCED_TIN = "100000000"
# the synced clinic's patients: one per birth year 1930-1969 and gender, so that its records fill every
# engine partition (records_per_partition 1: 16 partitions), each a child execution of its own
TEMPLATE = (
    "measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,npi\n"
    + "".join(
        f"M236,CQM,Ann{year},Lee,{year}-02-03,{gender},2025-03-01,MET,1234567893\n"
        for year in range(1930, 1970)
        for gender in ("F", "M")
    )
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _payload_sizes(events: list[dict[str, Any]]) -> list[int]:
    sizes = []
    for event in events:
        for details in event.values():
            if isinstance(details, dict):
                for name in ("input", "output"):
                    if isinstance(details.get(name), str):
                        sizes.append(len(details[name].encode()))
    return sizes


def test_5000_member_tins_run_through_the_real_asl_with_small_states_and_histories(tmp_path: Path) -> None:
    tins = [f"{100_000_000 + n}" for n in range(N_TINS)]
    config = {
        "aco_id": "BIG",
        "performance_year": 2025,
        "roster_required": False,
        "records_per_partition": 1,
        "member_clinics": [{"tin": t, "name": f"Clinic {t}"} for t in tins],
    }
    with LocalStack(
        state_dir=tmp_path, fast_retries=True, env_overrides={"POWERTOOLS_LOG_LEVEL": "ERROR"}
    ) as stack:
        stack.put_object("config/acos/BIG.json", json.dumps(config))
        # one clinic with data; the others have no files, so each of them goes through the Map's Catch
        stack.put_object(f"members/BIG/{SYNCED_TIN}/templates/cqm.csv", TEMPLATE)
        started = stack.invoke("StartSyncFunction", {"aco_id": "BIG"})["started"][0]
        stack.wait_for_executions(timeout=800)
        arn = started["execution_arn"]
        assert stack.describe_execution(arn).status == "SUCCEEDED"
        children = stack.child_executions(arn)
        histories = {arn: stack.raw_history(arn), **{child: stack.raw_history(child) for child in children}}
        status = latest_sync_status("BIG", store=build_stores())
    batches = -(-N_TINS // CLINIC_BATCH_SIZE)
    # one child execution per batch of the batch manifest, and one per engine partition
    assert len(children) == batches + PARTITION_BUCKETS
    sizes = [size for events in histories.values() for size in _payload_sizes(events)]
    largest = max(sizes)
    events = {name: len(history) for name, history in histories.items()}
    print(
        f"\n{N_TINS} member TINs: largest state input/output {largest} bytes over {len(sizes)} payloads; "
        f"history events: parent {events[arn]}, largest child {max(events[c] for c in children)}"
    )
    assert largest < 16 * 1024, f"largest state payload {largest} bytes"  # 256 KB is the limit
    # the parent's history does not grow with the TINs (the map run's events only); a child's grows
    # with its batch of at most CLINIC_BATCH_SIZE clinics (~12 events per clinic, failing ones included)
    assert events[arn] < 100, events[arn]
    assert max(events[c] for c in children) < 20 * CLINIC_BATCH_SIZE + 100 < HISTORY_LIMIT // 10
    clinics = {c["tin"]: c["status"] for c in status["clinics"]}
    assert len(clinics) == N_TINS and clinics[SYNCED_TIN] == "Sync Complete"
    assert sum(1 for s in clinics.values() if s == "Sync Failed") == N_TINS - 1
    assert (
        status["sync"]["status"] == "Sync Complete" and len(status["sync"]["incomplete_tins"]) == N_TINS - 1
    )
