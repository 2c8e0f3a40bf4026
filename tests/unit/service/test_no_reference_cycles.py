"""No workflow step leaves its data in reference cycles.

A step's records, parsed rows and engine structures must be freed by reference counting when the step
returns. Left in a cycle (a closure holding the object that holds it, a cache pointing back at its owner)
they stay in memory until a full collection of the garbage collector. In a warm Lambda container or a
local worker that serves hundreds of invocations, that collection then walks hundreds of thousands of
objects (measured at 1M records: ~0.9 s per collection, ~5 s of CPU per sync, and the worker's memory
grows by the records of dozens of clinics in the meantime; docs/PERFORMANCE.md).

Each step runs here with the automatic collector off; ``gc.collect()`` after it returns how many
unreachable objects the step left. A few are allowed (an exception's traceback, a class created once);
a cycle holding the records of even this small ACO is thousands."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from aco_sync.adapters.environment import Stores
from aco_sync.service.aggregate_stats import update_aggregate_stats
from aco_sync.service.cleanup import clean_up_removed_encounters
from aco_sync.service.clinic_sync import sync_member_clinic
from aco_sync.service.common import SyncStatus
from aco_sync.service.finalize import finalize_member_sync
from aco_sync.service.initial_sync import initial_sync
from aco_sync.service.lock import acquire_aco_lock
from aco_sync.service.mcqm_sync import combine_roster_matches, match_roster
from aco_sync.service.partitions import aggregate_member_partition, combine_member_partitions
from aco_sync.service.roster_ingest import ingest_roster
from aco_sync.service.start_sync import start_sync
from aco_sync.service.sync_status import record_sync_status
from aco_sync.service.validation import list_clinic_batch, validate_roster
from support.bench_modules import put_folder, write_synthetic_aco
from support.engine_steps import manifest_items
from support.stores import memory_stores

RECORDS, TINS = 3_000, 6
# the records of this ACO alone are 3,000 objects; the stdlib's json.dumps(indent=...) leaves ~33 per call
ALLOWED_UNREACHABLE = 100


@pytest.fixture(scope="module")
def aco_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_aco(tmp_path_factory.mktemp("aco"), records=RECORDS, tins=TINS, seed=29)


@pytest.fixture
def collector_off() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _stores(folder: Path) -> tuple[Stores, str]:
    stores = memory_stores()
    put_folder(stores.objects, folder)
    [config] = stores.objects.list_keys("config/acos/")
    aco_id = json.loads(stores.objects.get(config))["aco_id"]
    return stores, aco_id


def _left_in_cycles(step: Callable[[], Any]) -> tuple[Any, int]:
    gc.collect()
    result = step()
    return result, gc.collect()


@pytest.mark.usefixtures("collector_off")
def test_every_step_frees_its_data_without_the_garbage_collector(aco_folder: Path) -> None:
    stores, aco_id = _stores(aco_folder)
    left: dict[str, int] = {}

    def run(name: str, step: Callable[[], Any]) -> Any:
        result, unreachable = _left_in_cycles(step)
        left[name] = max(left.get(name, 0), unreachable)
        return result

    [roster] = stores.objects.list_keys(f"rosters/{aco_id}/")
    run("ingest_roster", lambda: ingest_roster(stores, key=roster, start=False))
    sync_id = start_sync(stores, aco_id=aco_id, trigger="manual")["sync_id"]
    ids = {"aco_id": aco_id, "sync_id": sync_id}
    assert acquire_aco_lock(stores, **ids, trigger="manual", execution_arn=f"arn:{sync_id}")["acquired"]
    validation = run("validate_roster", lambda: validate_roster(stores, **ids))
    run("initial_sync", lambda: initial_sync(stores, **ids))
    run("clean_up_removed_encounters", lambda: clean_up_removed_encounters(stores, **ids))
    clinics = [
        c
        for b in range(validation["batch_count"])
        for c in list_clinic_batch(stores, **ids, batch=b)["clinics"]
    ]
    assert len(clinics) == TINS
    for clinic in clinics:
        outcome = run(
            "sync_member_clinic",
            partial(sync_member_clinic, stores, **ids, tin=clinic["tin"], name=clinic["name"]),
        )
        assert outcome["status"] == SyncStatus.COMPLETE.value
    finalize = run("finalize_member_sync", lambda: finalize_member_sync(stores, **ids))
    items = manifest_items(stores, finalize)
    for item in items:
        run("aggregate_member_partition", partial(aggregate_member_partition, stores, **ids, **item))
    run("combine_member_partitions", lambda: combine_member_partitions(stores, **ids))
    assert finalize["mcqm_needed"]
    record_sync_status(stores, **ids, status=SyncStatus.MCQM_RUNNING, execution_arn=f"arn:{sync_id}-mcqm")
    for item in items:
        run("match_roster", partial(match_roster, stores, **ids, **item))
    run("combine_roster_matches", lambda: combine_roster_matches(stores, **ids))
    run("update_aggregate_stats", lambda: update_aggregate_stats(stores, **ids))

    cyclic = {name: count for name, count in left.items() if count > ALLOWED_UNREACHABLE}
    assert not cyclic, f"steps that left objects in reference cycles (unreachable objects): {cyclic}"
