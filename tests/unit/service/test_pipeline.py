"""Every workflow step in the order the state machines run them, on in-memory stores with the real
ingest, engine and reports: results, statuses, incremental writes, cleanup and roster ingest."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.memory import InMemorySyncStateStore
from aco_sync.contracts.store_clinic_stats import StoreClinicStatsInput
from aco_sync.domain.errors import InvalidInputError, NoClinicSyncedError
from aco_sync.service.aggregate_stats import update_aggregate_stats
from aco_sync.service.artifacts import roster_from_json
from aco_sync.service.cleanup import clean_up_removed_encounters
from aco_sync.service.clinic_stats import store_clinic_stats
from aco_sync.service.clinic_sync import record_clinic_failure, sync_member_clinic
from aco_sync.service.clinic_uploads import stored_key
from aco_sync.service.common import SyncStatus
from aco_sync.service.finalize import finalize_member_sync
from aco_sync.service.initial_sync import initial_sync
from aco_sync.service.lock import acquire_aco_lock, release_aco_lock
from aco_sync.service.mcqm_sync import combine_roster_matches, match_roster
from aco_sync.service.partitions import aggregate_member_partition, combine_member_partitions
from aco_sync.service.roster_ingest import ingest_roster
from aco_sync.service.start_sync import start_sync
from aco_sync.service.status import latest_sync_status
from aco_sync.service.sync_status import record_sync_status
from aco_sync.service.validation import list_clinic_batch, validate_roster
from support.engine_steps import manifest_items
from support.small_aco import (
    NORTH,
    NORTH_ROWS,
    ROSTER,
    SOUTH,
    TEMPLATE_HEADER,
    upload_roster,
    write_small_aco,
)
from support.stores import memory_stores


@pytest.fixture
def stores() -> Stores:
    return memory_stores()


def contracted(step: str, result: dict[str, Any]) -> dict[str, Any]:
    """``result`` as the step's output model takes it (undeclared keys refused)."""
    module = importlib.import_module(f"aco_sync.contracts.{step}")
    output = getattr(module, "".join(part.capitalize() for part in step.split("_")) + "Output")
    output.model_validate(result)
    return result


def run_sync(
    stores: Stores, aco_id: str = "A1", *, failing_tins: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The main machine (and the MCQM machine when needed), step by step, as the ASL runs them; every
    step's result is checked against its step contract (as its handler does)."""
    sync_id = start_sync(stores, aco_id=aco_id, trigger="manual")["sync_id"]
    ids = {"aco_id": aco_id, "sync_id": sync_id}
    assert acquire_aco_lock(stores, **ids, trigger="manual", execution_arn=f"arn:{sync_id}")["acquired"]
    validation = contracted("validate_roster", validate_roster(stores, **ids))
    contracted("initial_sync", initial_sync(stores, **ids))
    contracted("clean_up_removed_encounters", clean_up_removed_encounters(stores, **ids))
    results = []
    clinics = [
        c
        for b in range(validation["batch_count"])
        for c in list_clinic_batch(stores, **ids, batch=b)["clinics"]
    ]
    for clinic in clinics:
        if clinic["tin"] in failing_tins:
            results.append(
                record_clinic_failure(
                    stores, **ids, tin=clinic["tin"], error="InvalidInputError", cause="boom"
                )
            )
        else:
            results.append(sync_member_clinic(stores, **ids, tin=clinic["tin"], name=clinic["name"]))
        contracted(
            "record_clinic_failure" if clinic["tin"] in failing_tins else "sync_member_clinic", results[-1]
        )
    finalize = finalize_member_sync(stores, **ids)  # as the ASL: outcomes read from the clinic statuses
    contracted("finalize_member_sync", finalize)
    for item in manifest_items(stores, finalize):
        contracted("aggregate_member_partition", aggregate_member_partition(stores, **ids, **item))
    contracted("combine_member_partitions", combine_member_partitions(stores, **ids))
    if finalize["mcqm_needed"]:
        record_sync_status(stores, **ids, status=SyncStatus.MCQM_QUEUED, execution_arn=f"arn:{sync_id}-mcqm")
        record_sync_status(stores, **ids, status=SyncStatus.MCQM_RUNNING, execution_arn=f"arn:{sync_id}-mcqm")
        for item in manifest_items(stores, finalize):
            contracted("match_roster", match_roster(stores, **ids, **item))
        contracted("combine_roster_matches", combine_roster_matches(stores, **ids))
    contracted("update_aggregate_stats", update_aggregate_stats(stores, **ids))
    contracted("store_clinic_stats", store_clinic_stats(stores, StoreClinicStatsInput(**ids)))
    record_sync_status(stores, **ids, status=SyncStatus.COMPLETE)
    release_aco_lock(stores, **ids)
    return {"sync_id": sync_id, "clinic_results": results, "finalize": finalize}


def measure(status: dict[str, Any], measure_id: str, collection_type: str) -> dict[str, Any]:
    found = [
        m
        for m in status["measures"]
        if m["measure_id"] == measure_id and m["collection_type"] == collection_type
    ]
    assert len(found) == 1, status["measures"]
    return found[0]


def test_cqm_sync_aggregates_deduplicated_patients(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    run = run_sync(stores)
    status = latest_sync_status("A1", store=stores)
    assert status["sync"]["status"] == "Sync Complete" and run["finalize"]["mcqm_needed"] is False
    m236 = measure(status, "M236", "CQM")
    # Ann (both TINs, most recent NOT_MET), Bob NOT_MET, Dee MET -> 3 patients, 1 met, 2 not met
    assert (m236["eligible_population"], m236["performance_met"], m236["performance_not_met"]) == (3, 1, 2)
    assert {c["tin"]: c["status"] for c in status["clinics"]} == {
        NORTH: "Sync Complete",
        SOUTH: "Sync Complete",
    }
    assert all(c["last_synced"] for c in status["clinics"])
    assert stores.state.get_lock("A1") is None
    keys = stores.objects.list_keys(f"results/A1/{run['sync_id']}/")
    assert f"results/A1/{run['sync_id']}/measures.json" in keys
    assert f"results/A1/{run['sync_id']}/report.html" in keys
    clinic_stats = json.loads(stores.objects.get(f"results/A1/{run['sync_id']}/clinic_stats.json"))
    assert {c["tin"] for c in clinic_stats} == {NORTH, SOUTH}
    assert {p.npi for p in stores.state.list_providers("A1")} == {"1234567893", "1245319599"}


def test_second_sync_of_unchanged_data_writes_no_encounters(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    first = run_sync(stores)
    assert sum(r["upserts"] for r in first["clinic_results"]) == 5
    state = stores.state
    assert isinstance(state, InMemorySyncStateStore)
    before = state.encounter_writes
    objects_before = dict(stores.objects.objects)  # type: ignore[attr-defined]
    second = run_sync(stores)
    assert state.encounter_writes == before
    assert all(
        r["upserts"] == 0 and r["deletes"] == 0 and r["unchanged"] > 0 for r in second["clinic_results"]
    )
    assert not any(r["snapshot_written"] for r in second["clinic_results"])
    clinic_store = [k for k in objects_before if k.startswith("store/A1/clinics/")]
    assert all(stores.objects.get(k) == objects_before[k] for k in clinic_store)


def test_changed_and_removed_rows_are_the_only_writes(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    run_sync(stores)
    changed = [NORTH_ROWS[0].replace("MET,", "NOT_MET,", 1), NORTH_ROWS[1]]  # row 3 removed, row 1 changed
    stores.objects.put(
        f"members/A1/{NORTH}/templates/cqm.csv", (TEMPLATE_HEADER + "\n".join(changed) + "\n").encode()
    )
    second = run_sync(stores)
    north = next(r for r in second["clinic_results"] if r["tin"] == NORTH)
    assert north["deletes"] >= 1 and north["upserts"] <= 1 and north["upserts"] + north["deletes"] <= 3
    south = next(r for r in second["clinic_results"] if r["tin"] == SOUTH)
    assert south["upserts"] == 0 and south["deletes"] == 0
    status = latest_sync_status("A1", store=stores)
    assert not [m for m in status["measures"] if m["measure_id"] == "M134"]


def test_cleanup_removes_encounters_of_deleted_files_and_departed_clinics(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    run_sync(stores)
    stores.objects.delete(stored_key(stores.objects, "A1", NORTH, "templates/cqm.csv"))  # the user removes it
    sync_id = start_sync(stores, aco_id="A1", trigger="manual")["sync_id"]
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id=sync_id) == {"encounters_removed": 3}
    assert stores.state.aggregate_encounters("A1", NORTH) == []
    assert any("Removed 3 aggregate encounters" in e.message for e in stores.state.list_log("A1", sync_id))

    stores.objects.put(
        "config/acos/A1.json",
        json.dumps({"aco_id": "A1", "performance_year": 2025, "member_clinics": [{"tin": NORTH}]}).encode(),
    )
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id=sync_id)["encounters_removed"] == 2
    assert stores.objects.list_keys(f"store/A1/clinics/{SOUTH}/") == []


def test_a_failed_clinic_is_excluded_and_named(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    run = run_sync(stores, failing_tins=frozenset({SOUTH}))
    status = latest_sync_status("A1", store=stores)
    clinics = {c["tin"]: c for c in status["clinics"]}
    assert clinics[NORTH]["status"] == "Sync Complete"
    assert clinics[SOUTH]["status"] == "Sync Failed" and clinics[SOUTH]["reason"] == "InvalidInputError: boom"
    assert run["finalize"]["failed_tins"] == [SOUTH]
    assert measure(status, "M236", "CQM")["eligible_population"] == 2  # North's Ann and Bob only
    assert any(e["kind"] == "missing_tins" and SOUTH in e["message"] for e in status["log"])


def test_every_clinic_failing_fails_finalize(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    with pytest.raises(NoClinicSyncedError):
        finalize_member_sync(
            stores, aco_id="A1", sync_id="s", clinic_results=[{"tin": NORTH, "status": "Sync Failed"}]
        )


def test_clinic_without_files_fails_with_a_clear_reason(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    with pytest.raises(InvalidInputError, match="No files uploaded for TIN 333333333"):
        sync_member_clinic(stores, aco_id="A1", sync_id="s", tin="333333333")


def test_roster_ingest_activates_valid_rosters_only_and_reports_rows(stores: Stores) -> None:
    write_small_aco(stores)
    result = ingest_roster(stores, key=upload_roster(stores), start=False)
    assert result["activated"] and result["rows_accepted"] == 2
    active = stores.state.get_active_roster("A1", 2025)
    assert active is not None and active.file_name == "roster.csv"

    bad = "mbi,first_name,last_name,birth_date,gender\nnot-an-mbi,X,Y,not-a-date,Q\n"
    stores.objects.put("rosters/A1/2025/bad.csv", bad.encode())
    result = ingest_roster(stores, key="rosters/A1/2025/bad.csv", start=False)
    assert not result["activated"] and result["rows_rejected"] == 1
    assert stores.state.get_active_roster("A1", 2025) == active  # the previous one stays active
    report = json.loads(stores.objects.get(result["report_key"]))
    assert report["issues"] and report["issues"][0]["line"] == 2


def test_an_active_rosters_accepted_rows_are_its_stored_entries(stores: Stores) -> None:
    """Update Aggregate Stats reports the roster's size from its record (rows_accepted), not its file."""
    write_small_aco(stores)
    uploads = [
        ROSTER,
        ROSTER + "not-an-mbi,X,Y,not-a-date,Q\n3EG4TE5MK75,Eve,Ng,1960-01-01,F\n",  # a rejected row
        ROSTER + "3EG4TE5MK75,Eve,Ng,1960-01-01,F\n1EG4TE5MK73,Ann,Lee,1950-02-03,F\n",  # a repeated row
    ]
    for number, body in enumerate(uploads):
        stores.objects.put(f"rosters/A1/2025/roster-{number}.csv", body.encode())
        result = ingest_roster(stores, key=f"rosters/A1/2025/roster-{number}.csv", start=False)
        active = stores.state.get_active_roster("A1", 2025)
        assert active is not None and active.file_name == f"roster-{number}.csv"
        assert active.rows_accepted == len(roster_from_json(stores.objects.get(active.key)))
        assert result["rows_accepted"] == active.rows_accepted
        assert result["rows_rejected"] == min(number, 1)  # the bad row; the repeated one


def test_roster_ingest_starts_a_guarded_sync_and_logs_the_roster(stores: Stores) -> None:
    write_small_aco(stores)
    result = ingest_roster(stores, key=upload_roster(stores))
    sync = result["sync"]
    assert sync["trigger"] == "roster_upload"
    assert any(e.kind == "roster" for e in stores.state.list_log("A1", sync["sync_id"]))


def test_roster_outside_the_layout_is_refused(stores: Stores) -> None:
    write_small_aco(stores)
    stores.objects.put("rosters/A1/roster.csv", b"x")
    with pytest.raises(InvalidInputError, match="rosters/<aco_id>/<performance_year>/<file>"):
        ingest_roster(stores, key="rosters/A1/roster.csv")


def test_mcqm_sync_matches_the_roster(stores: Stores) -> None:
    write_small_aco(stores, mcqm=True)
    ingest_roster(stores, key=upload_roster(stores), start=False)
    run = run_sync(stores)
    assert run["finalize"]["mcqm_needed"] is True
    status = latest_sync_status("A1", store=stores)
    mcqm = measure(status, "M236", "MCQM")
    # Ann and Dee are on the roster; Bob is not
    assert mcqm["eligible_population"] == 2
    assert not [m for m in status["measures"] if m["measure_id"] == "M236" and m["collection_type"] == "CQM"]
    assert status["sync"]["status"] == "Sync Complete"


def test_cleanup_keeps_zip_members_while_their_archive_exists(stores: Stores) -> None:
    from aco_sync.adapters.ports import AggregateEncounter
    from aco_sync.service.clinic_sources import EncounterRefs
    from pseudonym_keys import TEST_KEY

    refs = EncounterRefs(TEST_KEY)  # the table holds refs of source keys and of the uploads
    write_small_aco(stores, roster_required=False)
    stores.objects.put(f"members/A1/{NORTH}/qrda/batch.zip", b"PK")
    member = refs.source_file("qrda/batch.zip!p1.xml")
    assert member == refs.source_file("qrda/batch.zip")  # a zip member's upload is the zip
    stores.state.put_aggregate_encounters(
        "A1",
        [
            AggregateEncounter(
                NORTH,
                refs.source_key(f"{NORTH}:qrda:qrda/batch.zip!p1.xml:M236"),
                "h",
                member,
                "M236",
                "eCQM",
            ),
            AggregateEncounter(
                NORTH,
                refs.source_key(f"{NORTH}:qrda:qrda/gone.xml:M236"),
                "h",
                refs.source_file("qrda/gone.xml"),
                "M236",
                "eCQM",
            ),
        ],
    )
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s")["encounters_removed"] == 1
    assert [e.source_file for e in stores.state.aggregate_encounters("A1", NORTH)] == [member]
    stores.objects.delete(f"members/A1/{NORTH}/qrda/batch.zip")
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s")["encounters_removed"] == 1


def test_roster_folder_markers_are_ignored(stores: Stores) -> None:
    assert ingest_roster(stores, key="rosters/A1/2025/")["ignored"] == "rosters/A1/2025/"


def test_status_lists_the_member_clinics_of_the_latest_sync_only(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    run_sync(stores)
    config = {
        "aco_id": "A1",
        "performance_year": 2025,
        "roster_required": False,
        "member_clinics": [{"tin": NORTH}],
    }
    stores.objects.put("config/acos/A1.json", json.dumps(config).encode())
    run_sync(stores)
    assert [c["tin"] for c in latest_sync_status("A1", store=stores)["clinics"]] == [NORTH]


def test_repeated_encounter_ids_are_logged_not_lost_silently(stores: Stores) -> None:
    write_small_aco(stores, roster_required=False)
    header = TEMPLATE_HEADER.rstrip("\n") + ",encounter_id\n"
    rows = [NORTH_ROWS[0] + ",E1", NORTH_ROWS[1] + ",E1"]
    stores.objects.put(f"members/A1/{NORTH}/templates/cqm.csv", (header + "\n".join(rows) + "\n").encode())
    result = sync_member_clinic(stores, aco_id="A1", sync_id="s", tin=NORTH)
    log = stores.state.list_log("A1", "s")
    assert result["upserts"] == 1
    # the reader rejects the repeat with its row; the clinic sync's own check is the backstop
    assert any(e.level != "info" and "encounter id" in e.message for e in log), log
