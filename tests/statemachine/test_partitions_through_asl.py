"""Issue 13 item 4: the engine partitions (docs/PERFORMANCE.md "Scaling past one Lambda") through the real
ASL on the local interpreter (``aco-sync run``): a seeded synthetic ACO of 2,000 member TINs
(``bench/synthetic.py``: CQM and MCQM rows, denominator-only counts, a roster) whose records split into
16 partitions runs "Aggregate Member Partitions" and "Match Roster Partitions" as distributed Maps (one
child execution per partition, iterations in the worker processes), and their reduce steps give the
stats one engine run over all the records gives (tests/unit/service/test_engine_partitions.py compares
every report file of 1 and 16 partitions)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from aco_sync.adapters.environment import LOCAL_STATE_DIR_VARIABLE, build_stores
from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.engine import aggregate_mcqm, aggregate_members
from aco_sync.domain.partitions import PARTITION_BUCKETS
from aco_sync.service.aggregation_inputs import load_clinic_inputs, load_synced_tins
from aco_sync.service.artifacts import roster_from_json
from aco_sync.service.common import (
    MCQM_RESULT_FILE,
    MEMBERS_RESULT_FILE,
    load_aco_settings,
    sync_artifact_key,
)
from aco_sync.service.partitions import load_plan
from aco_sync.service.validation import roster_of_sync
from aco_sync.wire import stats_to_dict
from aco_sync_local.runner import run_local_sync
from support.bench_modules import bench_synthetic

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

RECORDS, TINS = 6_000, 2_000


def test_2000_tins_in_16_partitions_through_the_real_asl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synthetic = bench_synthetic()
    folder = tmp_path / "in"
    aco_id = synthetic.write_bucket_folder(synthetic.generate_aco(records=RECORDS, tins=TINS, seed=7), folder)
    config = folder / "config" / "acos" / f"{aco_id}.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "records_per_partition": 300}))

    result = run_local_sync(folder, state_dir=tmp_path / "state", handler_log_level="ERROR", timeout=300)
    sync = result.status["sync"]
    assert sync["status"] == "Sync Complete", sync
    assert sync["counts"]["records"] == RECORDS  # the TINs the generator gave no record have no files:
    assert sync["counts"]["synced_tins"] + sync["counts"]["failed_tins"] == TINS  # those are Sync Failed

    monkeypatch.setenv(LOCAL_STATE_DIR_VARIABLE, str(tmp_path / "state"))
    stores = build_stores()
    sync_id = sync["id"]
    partition_files = stores.objects.list_keys(f"store/{aco_id}/syncs/{sync_id}/partitions/")
    # each partition's sums, outcomes and report part per engine step, and its member patients (for MCQM)
    for step, files in (
        ("members", ("", "-outcomes", "-report", "-patients")),
        ("mcqm", ("", "-outcomes", "-report")),
    ):
        for part in files:
            named = [k for k in partition_files if re.fullmatch(rf".*/{step}-\d+{part}\.json", k)]
            assert len(named) == PARTITION_BUCKETS, (step, part)
    sums = [k for k in partition_files if re.fullmatch(r".*/(members|mcqm)-\d+\.json", k)]
    assert max(len(stores.objects.get(k)) for k in sums) < 64 * 1024  # the sums a reduce step reads are small

    # the reduce steps' stats are those of one engine run over every record
    settings = load_aco_settings(stores.objects, aco_id)
    synced, _failed = load_synced_tins(stores.objects, aco_id, sync_id)
    records, counts = load_clinic_inputs(stores.objects, aco_id, synced)
    plan = load_plan(stores.objects, aco_id, sync_id)
    key = stores.pseudonym_keys.pseudonym_key()
    catalog = default_catalog()
    members = aggregate_members(records, plan, catalog=catalog, pseudonym_key=key)
    active = roster_of_sync(stores, aco_id, sync_id, settings.performance_year)
    assert active is not None
    roster = roster_from_json(stores.objects.get(active.key))
    mcqm = aggregate_mcqm(
        records, counts, plan, roster, settings=settings, catalog=catalog, pseudonym_key=key
    )
    stored = {
        name: json.loads(stores.objects.get(sync_artifact_key(aco_id, sync_id, name)))
        for name in (MEMBERS_RESULT_FILE, MCQM_RESULT_FILE)
    }
    assert stored[MEMBERS_RESULT_FILE]["stats"] == [stats_to_dict(s) for s in members.stats]
    assert stored[MCQM_RESULT_FILE]["stats"] == [stats_to_dict(s) for s in mcqm.stats]
    assert any(s["roster_coverage"] for s in stored[MCQM_RESULT_FILE]["stats"])
    assert len(stored[MEMBERS_RESULT_FILE]["outcome_parts"]) == PARTITION_BUCKETS
    for name in (MEMBERS_RESULT_FILE, MCQM_RESULT_FILE):  # Update Aggregate Stats merged the report parts
        assert len(stored[name]["report_parts"]) == PARTITION_BUCKETS
    assert result.status["measures"] and os.path.isfile(
        Path(result.results_dir or "") / sync_id / "patients.csv"
    )
