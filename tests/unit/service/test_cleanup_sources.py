"""Cleanup reads the source files each clinic sync records, not every aggregate encounter: a sync with
nothing removed reads no encounter; a deleted file or a departed clinic is removed and counted as
before; a clinic sync that crashes mid-way never leaves an encounter whose file cleanup cannot see."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from aco_sync.adapters.environment import Stores
from aco_sync.domain.errors import TransientStoreError
from aco_sync.service.cleanup import clean_up_removed_encounters
from aco_sync.service.clinic_sources import EncounterRefs, read_clinic_sources
from aco_sync.service.clinic_sync import sync_member_clinic
from aco_sync.service.clinic_uploads import stored_key
from aco_sync.service.common import clinic_sources_key
from pseudonym_keys import OTHER_DEPLOYMENT_KEY, TEST_KEY
from support.small_aco import CLINICS, NORTH, SOUTH, write_small_aco
from support.stores import memory_stores, write_config

NORTH_FILE = "templates/cqm.csv"


class ReadCounter:
    """Counts the aggregate encounters cleanup reads, per TIN."""

    def __init__(self, stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read: dict[str | None, int] = {}
        real: Callable[..., Any] = stores.state.aggregate_encounters

        def counted(aco_id: str, tin: str | None = None) -> Any:
            found = real(aco_id, tin)
            self.read[tin] = self.read.get(tin, 0) + len(found)
            return found

        monkeypatch.setattr(stores.state, "aggregate_encounters", counted)


REFS = EncounterRefs(TEST_KEY)


@pytest.fixture
def stores() -> Stores:
    stores = memory_stores()
    write_small_aco(stores, roster_required=False)
    for clinic in CLINICS:
        sync_member_clinic(stores, aco_id="A1", sync_id="s1", tin=clinic["tin"])
    return stores


def removal_log(stores: Stores, sync_id: str) -> list[tuple[str | None, str]]:
    return [(e.tin, e.message) for e in stores.state.list_log("A1", sync_id) if e.kind == "removal"]


def test_the_clinic_sync_records_the_source_files_of_its_encounters(stores: Stores) -> None:
    for tin in (NORTH, SOUTH):
        files = {e.source_file for e in stores.state.aggregate_encounters("A1", tin)}
        assert files == {REFS.source_file("templates/cqm.csv")}
        assert read_clinic_sources(stores.objects, "A1", tin) == files


def test_the_table_holds_refs_not_file_names_or_source_keys(stores: Stores) -> None:
    """A QRDA-I file named after its patient, a template row keyed by a typed encounter id: neither the
    name nor the id reaches the table or the recorded sources (keyed refs instead)."""
    named = f"members/A1/{NORTH}/templates/Thomasina_Okonkwo_19500203.csv"
    stores.objects.put(
        named,
        b"measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,"
        b"npi,encounter_id\nM236,CQM,Eve,Ng,1952-01-02,F,2025-08-01,MET,1234567893,MRN77812\n",
    )
    sync_member_clinic(stores, aco_id="A1", sync_id="s2", tin=NORTH)
    encounters = stores.state.aggregate_encounters("A1", NORTH)
    stored = json.dumps([dataclasses.asdict(e) for e in encounters])
    stored += stores.objects.get(clinic_sources_key("A1", NORTH)).decode()
    for text in ("Thomasina", "Okonkwo", "19500203", "MRN77812", "cqm.csv", ":template:"):
        assert text not in stored
    assert REFS.source_file("templates/Thomasina_Okonkwo_19500203.csv") in stored
    assert len(encounters) == 4
    other = EncounterRefs(OTHER_DEPLOYMENT_KEY)
    assert other.source_file("templates/cqm.csv") != REFS.source_file("templates/cqm.csv")
    # the user removes the file (its content object: the upload's own key was moved on arrival)
    stores.objects.delete(stored_key(stores.objects, "A1", NORTH, "templates/Thomasina_Okonkwo_19500203.csv"))
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s3") == {"encounters_removed": 1}


def test_nothing_removed_means_no_encounter_is_read(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = ReadCounter(stores, monkeypatch)
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s2") == {"encounters_removed": 0}
    assert reads.read == {}
    assert removal_log(stores, "s2") == [(None, "Cleanup removed 0 aggregate encounters in total")]


def test_a_deleted_file_reads_only_its_clinics_encounters_and_logs_as_before(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = ReadCounter(stores, monkeypatch)
    stores.objects.delete(stored_key(stores.objects, "A1", NORTH, NORTH_FILE))
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s2") == {"encounters_removed": 3}
    assert reads.read == {NORTH: 3}
    assert stores.state.aggregate_encounters("A1", NORTH) == []
    assert removal_log(stores, "s2") == [
        (NORTH, f"Removed 3 aggregate encounters: their source files were deleted from TIN {NORTH}"),
        (None, "Cleanup removed 3 aggregate encounters in total"),
    ]
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s3") == {"encounters_removed": 0}


def test_a_departed_clinic_is_removed_with_its_stored_objects(stores: Stores) -> None:
    write_config(stores, member_clinics=[{"tin": NORTH}])
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s2") == {"encounters_removed": 2}
    assert stores.state.aggregate_encounters("A1", SOUTH) == []
    assert stores.objects.list_keys(f"store/A1/clinics/{SOUTH}/") == []
    assert removal_log(stores, "s2")[0] == (
        SOUTH,
        f"Removed 2 aggregate encounters: TIN {SOUTH} is no longer a member clinic",
    )


def test_encounters_stored_before_sources_were_recorded_are_still_checked(stores: Stores) -> None:
    stores.objects.delete(clinic_sources_key("A1", NORTH))
    stores.objects.delete(stored_key(stores.objects, "A1", NORTH, NORTH_FILE))
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s2") == {"encounters_removed": 3}


def test_a_clinic_sync_crashing_after_writing_encounters_has_recorded_their_file(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = f"members/A1/{NORTH}/templates/extra.csv"
    stores.objects.put(
        extra,
        b"measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,npi\n"
        b"M236,CQM,Eve,Ng,1952-01-02,F,2025-08-01,MET,1234567893\n",
    )
    real_put = stores.state.put_aggregate_encounters

    def put_then_crash(aco_id: str, encounters: Any) -> int:
        real_put(aco_id, encounters)
        raise TransientStoreError("worker killed after writing")

    monkeypatch.setattr(stores.state, "put_aggregate_encounters", put_then_crash)
    with pytest.raises(TransientStoreError):
        sync_member_clinic(stores, aco_id="A1", sync_id="s2", tin=NORTH)
    monkeypatch.undo()
    assert REFS.source_file("templates/extra.csv") in {
        e.source_file for e in stores.state.aggregate_encounters("A1", NORTH)
    }

    stores.objects.delete(stored_key(stores.objects, "A1", NORTH, "templates/extra.csv"))
    assert clean_up_removed_encounters(stores, aco_id="A1", sync_id="s3") == {"encounters_removed": 1}
    assert REFS.source_file("templates/extra.csv") not in {
        e.source_file for e in stores.state.aggregate_encounters("A1", NORTH)
    }


def test_an_unchanged_clinic_sync_does_not_rewrite_its_sources(stores: Stores) -> None:
    key = clinic_sources_key("A1", NORTH)
    before = stores.objects.get(key)
    stores.objects.delete(key)
    sync_member_clinic(stores, aco_id="A1", sync_id="s2", tin=NORTH)
    assert stores.objects.get(key) == before  # recorded again when missing, same bytes
    writes: list[str] = []
    real_put = stores.objects.put
    stores.objects.put = lambda k, *a, **kw: (writes.append(k), real_put(k, *a, **kw))[1]  # type: ignore[method-assign]
    sync_member_clinic(stores, aco_id="A1", sync_id="s3", tin=NORTH)
    assert key not in writes
    assert json.loads(stores.objects.get(key))["source_files"] == sorted(
        {e.source_file for e in stores.state.aggregate_encounters("A1", NORTH)}
    )


def test_refs_are_the_keyed_mac_of_their_kind_and_text() -> None:
    """Refs are stored in the encounters table: they must stay what earlier releases wrote (HMAC-SHA256
    of ``"aco-sync <kind>\\0<text>"`` with the deployment's key), and a text's ref depends on its kind."""
    import hmac

    refs = EncounterRefs(TEST_KEY)
    for kind, ref in ((b"key", refs.source_key), (b"file", refs.source_file)):
        for text in ("123456789:template:ENC-1:M001:CQM", "templates/cqm.csv", "é"):
            mac = hmac.digest(TEST_KEY.secret, b"aco-sync " + kind + b"\x00" + text.encode(), "sha256")
            assert ref(text) == kind[:1].decode().upper() + mac[:16].hex()
            assert ref(text) == ref(text)  # and again from the cache
    same = EncounterRefs(TEST_KEY)
    assert same.source_key("templates/cqm.csv") != same.source_file("templates/cqm.csv")
    assert same.source_file("qrda/batch.zip!p1.xml") == same.source_file("qrda/batch.zip")
    assert same.source_file("") == ""
