"""A clinic whose raw files are byte-identical to those of its last successful sync is not read again:
nothing is written for it, its per-file accounting is carried (every file still shown), and anything
that changes what reading gives (a byte, a file, the performance year, the reader version) reads again."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace
from typing import Any

import pytest
from test_pipeline import run_sync

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.memory import InMemoryObjectStore, InMemorySyncStateStore
from aco_sync.ingest import clinic as ingest_clinic
from aco_sync.service import clinic_sync, clinic_uploads
from aco_sync.service.clinic_uploads import stored_key
from aco_sync.service.common import clinic_digest_key, clinic_raw_key
from aco_sync.service.roster_ingest import ingest_roster
from aco_sync.service.status import latest_sync_status
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

NOTE = " (unchanged since the last sync)"


@pytest.fixture
def stores() -> Stores:
    stores = memory_stores()
    write_small_aco(stores, roster_required=False)
    # one rejected row at North, so carried accounting has a rejection and an issue to carry
    stores.objects.put(
        f"members/A1/{NORTH}/templates/cqm.csv",
        (
            TEMPLATE_HEADER
            + "\n".join([*NORTH_ROWS, "M236,CQM,Eve,Kim,not-a-date,F,2025-03-01,MET,1234567893"])
            + "\n"
        ).encode(),
    )
    return stores


def _file_lines(stores: Stores, sync_id: str) -> list[tuple[str, str, str]]:
    return sorted(
        (e.tin or "", e.level, e.message.replace(NOTE, ""))
        for e in stores.state.list_log("A1", sync_id)
        if e.kind in ("file", "ingest_error", "ingest_warning")
    )


def _by_tin(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["tin"]: r for r in run["clinic_results"]}


def _clinic_figures(stores: Stores) -> dict[str, tuple[object, ...]]:
    return {
        c.tin: (c.status, c.rows_read, c.rows_accepted, c.rows_rejected, c.files_refused)
        for c in stores.state.list_clinic_statuses("A1")
    }


def test_an_unchanged_rerun_reads_and_writes_nothing_and_carries_the_accounting(stores: Stores) -> None:
    first = run_sync(stores)
    assert sorted(_by_tin(first)) == sorted([NORTH, SOUTH])  # both clinics synced (none is vacuous)
    assert not any(r["files_unchanged"] for r in first["clinic_results"])
    assert _by_tin(first)[NORTH]["rows_rejected"] == 1
    figures = _clinic_figures(stores)
    objects, state = stores.objects, stores.state
    assert isinstance(objects, InMemoryObjectStore) and isinstance(state, InMemorySyncStateStore)
    clinic_objects = {k: v for k, v in objects.objects.items() if k.startswith("store/A1/clinics/")}
    encounter_writes = state.encounter_writes
    read: list[str] = []
    real_read = clinic_sync.read_clinic_files
    clinic_sync.read_clinic_files = lambda tin, *a, **kw: (read.append(tin), real_read(tin, *a, **kw))[1]  # type: ignore[assignment]
    try:
        second = run_sync(stores)
    finally:
        clinic_sync.read_clinic_files = real_read  # type: ignore[assignment]

    assert read == []  # neither clinic's files were parsed
    assert sorted(_by_tin(second)) == sorted([NORTH, SOUTH])
    assert state.encounter_writes == encounter_writes
    assert {k: v for k, v in objects.objects.items() if k.startswith("store/A1/clinics/")} == clinic_objects
    for tin, result in _by_tin(second).items():
        before = _by_tin(first)[tin]
        assert result["files_unchanged"] and result["upserts"] == 0 and result["deletes"] == 0
        assert result["unchanged"] == before["upserts"]
        for figure in ("records", "rows_read", "rows_accepted", "rows_rejected", "files_refused", "issues"):
            assert result[figure] == before[figure], figure
    # the sync log shows every file with the first run's figures (and says they are carried)
    assert _file_lines(stores, second["sync_id"]) == _file_lines(stores, first["sync_id"])
    carried = [e for e in state.list_log("A1", second["sync_id"]) if e.kind == "file"]
    assert len(carried) == 4 and all(e.message.endswith(NOTE) for e in carried)
    summaries = [e.message for e in state.list_log("A1", second["sync_id"]) if e.kind == "clinic"]
    assert sorted(summaries) == [
        f"TIN {NORTH}: 3 records from 2 files; 0 added or changed, 0 removed, 3 unchanged; "
        "1 row rejected, 0 files refused; files unchanged since the last sync, not read again",
        f"TIN {SOUTH}: 2 records from 2 files; 0 added or changed, 0 removed, 2 unchanged; "
        "0 rows rejected, 0 files refused; files unchanged since the last sync, not read again",
    ]
    assert _clinic_figures(stores) == figures  # statuses: "Sync Complete (1 row rejected)" etc.
    status = latest_sync_status("A1", store=stores)
    assert status["sync"]["status"] == "Sync Complete"


def test_one_edited_row_is_read_and_found(stores: Stores) -> None:
    run_sync(stores)
    edited = [NORTH_ROWS[0].replace(",MET,", ",NOT_MET,"), *NORTH_ROWS[1:]]
    stores.objects.put(
        f"members/A1/{NORTH}/templates/cqm.csv", (TEMPLATE_HEADER + "\n".join(edited) + "\n").encode()
    )
    second = _by_tin(run_sync(stores))
    assert not second[NORTH]["files_unchanged"]
    # a row without an encounter id is identified by its content: the edit is one added, one removed
    assert (second[NORTH]["upserts"], second[NORTH]["deletes"], second[NORTH]["unchanged"]) == (1, 1, 2)
    assert second[SOUTH]["files_unchanged"]
    third = _by_tin(run_sync(stores))  # and the edited file is then the new baseline
    assert third[NORTH]["files_unchanged"] and third[NORTH]["unchanged"] == 3


def test_a_changed_clinic_reads_its_snapshot_digest_once_and_hashes_no_file_again(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw-file digest and the duplicate-file check take the hashes the uploads were stored under
    (ClinicFiles.sha256); the stored snapshot digest is read only by the snapshot write."""
    run_sync(stores)
    edited = [NORTH_ROWS[0].replace(",MET,", ",NOT_MET,"), *NORTH_ROWS[1:]]
    stores.objects.put(
        f"members/A1/{NORTH}/templates/cqm.csv", (TEMPLATE_HEADER + "\n".join(edited) + "\n").encode()
    )
    digest_key = clinic_digest_key("A1", NORTH)
    reads: list[str] = []
    real_get = stores.objects.get
    monkeypatch.setattr(stores.objects, "get", lambda key: (reads.append(key), real_get(key))[1])
    hashed: list[int] = []
    real_sha256 = hashlib.sha256
    for module in (clinic_sync, ingest_clinic):
        fake = SimpleNamespace(sha256=lambda data=b"": (hashed.append(len(data)), real_sha256(data))[1])
        monkeypatch.setattr(module, "hashlib", fake)
    taken = clinic_uploads.take_in_uploads(stores.objects, "A1", NORTH)  # the edit is taken in first
    reads.clear()
    result = clinic_sync.sync_member_clinic(stores, aco_id="A1", sync_id="s-edit", tin=NORTH)
    assert result["upserts"] == 1 and not result["files_unchanged"]
    assert reads.count(digest_key) == 1
    file_sizes = {len(content) for _, content in taken.files}
    assert not file_sizes & set(hashed)  # no file's bytes were hashed again (only records and digests)
    assert set(taken.sha256) == {name for name, _ in taken.files}
    assert all(real_sha256(content).hexdigest() == taken.sha256[name] for name, content in taken.files)


def test_the_raw_digest_is_the_same_from_known_hashes() -> None:
    files = [("templates/a.csv", b"a,b\n"), ("providers.csv", b"npi,name\n")]
    known = {name: hashlib.sha256(content).hexdigest() for name, content in files}
    computed = clinic_sync.raw_files_digest(files, performance_year=2025)
    assert clinic_sync.raw_files_digest(files, performance_year=2025, sha256=known) == computed
    assert (
        clinic_sync.raw_files_digest(
            files, performance_year=2025, sha256={"templates/a.csv": known["templates/a.csv"]}
        )
        == computed
    )
    assert clinic_sync.raw_files_digest(files[:1], performance_year=2025) != computed


def test_a_deleted_file_is_cleaned_up_and_the_clinic_read_again(stores: Stores) -> None:
    stores.objects.put(
        f"members/A1/{SOUTH}/templates/extra.csv",
        (TEMPLATE_HEADER + "M134,CQM,Gil,Orr,1961-01-02,M,2025-05-01,MET,1245319599\n").encode(),
    )
    run_sync(stores)
    stores.objects.delete(
        stored_key(stores.objects, "A1", SOUTH, "templates/extra.csv")
    )  # the user removes it
    second = run_sync(stores)
    south = _by_tin(second)[SOUTH]
    assert not south["files_unchanged"] and south["records"] == 2 and south["upserts"] == 0
    assert len(stores.state.aggregate_encounters("A1", SOUTH)) == 2
    removed = [e.message for e in stores.state.list_log("A1", second["sync_id"]) if e.kind == "removal"]
    assert f"Removed 1 aggregate encounters: their source files were deleted from TIN {SOUTH}" in removed
    assert _by_tin(second)[NORTH]["files_unchanged"]


def test_a_change_of_what_reading_depends_on_reads_again(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_sync(stores)
    config = json.loads(stores.objects.get("config/acos/A1.json"))
    config["performance_year"] = 2026  # the rows' 2025 dates are now outside the performance year
    stores.objects.put("config/acos/A1.json", json.dumps(config).encode())
    south = clinic_sync.sync_member_clinic(stores, aco_id="A1", sync_id="s-2026", tin=SOUTH)
    assert south["status"] == "Sync Failed" and "2 rows read, all rejected" in south["reason"]  # read again

    config["performance_year"] = 2025
    stores.objects.put("config/acos/A1.json", json.dumps(config).encode())
    back = _by_tin(run_sync(stores))  # South's 2026 read dropped its digest; North's 2025 one holds
    assert not back[SOUTH]["files_unchanged"] and back[NORTH]["files_unchanged"]
    unchanged = run_sync(stores)["clinic_results"]
    assert len(unchanged) == 2 and all(r["files_unchanged"] for r in unchanged)
    monkeypatch.setattr(clinic_sync, "RAW_DIGEST_VERSION", "test-next")  # a new reader release
    released = run_sync(stores)["clinic_results"]
    assert len(released) == 2 and not any(r["files_unchanged"] for r in released)


def test_a_sync_that_reads_drops_the_digest_before_writing(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after some writes must not leave a digest standing for what was not completely written."""
    run_sync(stores)
    assert stores.objects.list_keys(clinic_raw_key("A1", NORTH))
    stores.objects.put(
        f"members/A1/{NORTH}/templates/cqm.csv", (TEMPLATE_HEADER + NORTH_ROWS[0] + "\n").encode()
    )

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("crash mid-way")

    monkeypatch.setattr(stores.state, "delete_aggregate_encounters", crash)
    with pytest.raises(RuntimeError):
        clinic_sync.sync_member_clinic(stores, aco_id="A1", sync_id="s-crash", tin=NORTH)
    assert stores.objects.list_keys(clinic_raw_key("A1", NORTH)) == []


# ----- nothing changed at all: no finalize, MCQM or report recomputation --------------------------------
def test_an_unchanged_sync_carries_the_results_of_the_last_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    from aco_sync.service import mcqm_sync, partitions

    stores = memory_stores()
    write_small_aco(stores, mcqm=True)
    ingest_roster(stores, key=upload_roster(stores), start=False)
    first = run_sync(stores)
    assert first["finalize"]["mcqm_needed"] and "results_of" not in first["finalize"]
    first_status = latest_sync_status("A1", store=stores)

    def no_engine(*args: object, **kwargs: object) -> None:
        raise AssertionError("the engine ran for an unchanged sync")

    monkeypatch.setattr(partitions, "aggregate_members", no_engine)
    monkeypatch.setattr(mcqm_sync, "aggregate_mcqm", no_engine)
    second = run_sync(stores)
    assert second["finalize"]["results_of"] == first["sync_id"]
    assert second["finalize"]["mcqm_needed"] is False
    status = latest_sync_status("A1", store=stores)
    assert status["sync"]["id"] == second["sync_id"] and status["sync"]["status"] == "Sync Complete"
    assert status["results_prefix"] == f"results/A1/{first['sync_id']}/"  # pointed to, not rewritten
    assert status["measures"] == first_status["measures"]  # CQM and MCQM instances
    assert any(m["collection_type"] == "MCQM" for m in status["measures"])
    assert stores.objects.list_keys(f"results/A1/{second['sync_id']}/") == []
    assert not [k for k in stores.objects.list_keys(f"store/A1/syncs/{second['sync_id']}/") if "members" in k]
    [line] = [e.message for e in stores.state.list_log("A1", second["sync_id"]) if e.kind == "results"]
    assert line.startswith(f"Nothing changed since sync {first['sync_id']}")
    assert status["sync"]["counts"]["records"] == first_status["sync"]["counts"]["records"]
    third = run_sync(stores)  # and again: still the first sync's results
    assert third["finalize"]["results_of"] == first["sync_id"]


@pytest.mark.parametrize("change", ["clinic", "settings", "decisions", "roster"])
def test_any_changed_input_computes_the_results_again(stores: Stores, change: str) -> None:
    first = run_sync(stores)
    assert "results_of" not in first["finalize"]
    assert "results_of" in run_sync(stores)["finalize"]
    if change == "clinic":
        stores.objects.put(
            f"members/A1/{SOUTH}/templates/cqm.csv",
            (TEMPLATE_HEADER + "M236,CQM,Dee,Fox,1955-09-10,F,2025-02-01,MET,1245319599\n").encode(),
        )
    elif change == "settings":
        config = json.loads(stores.objects.get("config/acos/A1.json"))
        stores.objects.put("config/acos/A1.json", json.dumps({**config, "name": "Renamed ACO"}).encode())
    elif change == "decisions":
        stores.objects.put(
            "reviews/A1/duplicate-decisions.csv",
            b"master_pat_id_a,master_pat_id_b,decision\nP1,P2,not_same\n",
        )
    else:
        ingest_roster(
            stores, key=upload_roster(stores, body=ROSTER + "3EG4TE5MK75,Cy,Poe,1960-07-08,M\n"), start=False
        )
    again = run_sync(stores)
    assert "results_of" not in again["finalize"], change
    status = latest_sync_status("A1", store=stores)
    assert status["results_prefix"] == f"results/A1/{again['sync_id']}/"
    assert f"results/A1/{again['sync_id']}/report.html" in stores.objects.list_keys("results/A1/")


def test_the_snapshot_digest_is_that_of_the_sorted_keys_and_hashes(stores: Stores) -> None:
    """Kept in raw.json and beside the snapshot: it must stay what earlier releases computed."""
    from aco_sync.domain.catalog import default_catalog
    from aco_sync.ecqm import calculate_qrda
    from aco_sync.ingest.clinic import read_clinic_files
    from aco_sync.service.artifacts import counts_to_json

    files = clinic_uploads.take_in_uploads(stores.objects, "A1", NORTH).files
    data = read_clinic_files(
        NORTH, files, performance_year=2025, catalog=default_catalog(), calculate_qrda=calculate_qrda
    )
    assert len(data.records) == 3
    expected = hashlib.sha256()
    for record in sorted(data.records, key=lambda r: r.source_key):
        expected.update(f"{record.source_key}\x1f{record.content_hash}\x1e".encode())
    expected.update(counts_to_json([]))
    assert clinic_sync.snapshot_digest(data.records, []) == expected.hexdigest()
