"""A clinic's uploads are stored under the sha256 of their content, their names only in the clinic's
manifest (docs/SECURITY.md "PHI in names of things"): taking uploads in, editing, copying, removing,
and a crash part-way."""

from __future__ import annotations

import hashlib
import json

import pytest

from aco_sync.adapters.memory import InMemoryObjectStore
from aco_sync.service.clinic_uploads import (
    MANIFEST,
    present_names,
    read_manifest,
    store_uploads,
    stored_key,
    take_in_uploads,
)

TIN = "111111111"
PREFIX = f"members/A1/{TIN}/"
NAMED = "qrda/Smith_John_19500203.xml"
TEMPLATE = b"a,b\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def objects() -> InMemoryObjectStore:
    store = InMemoryObjectStore()
    store.put(PREFIX + "providers.csv", b"npi,name\n")
    store.put(PREFIX + NAMED, b"<doc one/>")
    store.put(PREFIX + "templates/Okonkwo Thomasina.CSV", b"a,b\n")
    return store


def test_uploads_move_to_content_keys_and_keep_their_names_in_the_manifest(
    objects: InMemoryObjectStore,
) -> None:
    taken = take_in_uploads(objects, "A1", TIN)
    assert sorted(taken.files) == [
        ("providers.csv", b"npi,name\n"),
        (NAMED, b"<doc one/>"),
        ("templates/Okonkwo Thomasina.CSV", b"a,b\n"),
    ]
    assert objects.list_keys(PREFIX) == sorted(
        [
            PREFIX + "providers.csv",
            PREFIX + MANIFEST,
            PREFIX + f"uploads/{_sha(b'<doc one/>')}.xml",
            PREFIX + f"uploads/{_sha(TEMPLATE)}.csv",
        ]
    )
    assert read_manifest(objects, "A1", TIN) == {
        NAMED: _sha(b"<doc one/>"),
        "templates/Okonkwo Thomasina.CSV": _sha(TEMPLATE),
    }
    writes = objects.writes
    assert take_in_uploads(objects, "A1", TIN).files == taken.files  # nothing new: nothing written
    assert objects.writes == writes


def test_an_upload_under_a_listed_name_replaces_that_file(objects: InMemoryObjectStore) -> None:
    take_in_uploads(objects, "A1", TIN)
    objects.put(PREFIX + NAMED, b"<doc two/>")  # the edited file, uploaded again under its name
    files = dict(take_in_uploads(objects, "A1", TIN).files)
    assert files[NAMED] == b"<doc two/>"
    assert PREFIX + f"uploads/{_sha(b'<doc one/>')}.xml" not in objects.objects  # the old content: gone
    assert stored_key(objects, "A1", TIN, NAMED) == PREFIX + f"uploads/{_sha(b'<doc two/>')}.xml"


def test_identical_content_under_two_names_is_one_object_read_under_both(
    objects: InMemoryObjectStore,
) -> None:
    objects.put(PREFIX + "qrda/copy of it.xml", b"<doc one/>")
    files = dict(take_in_uploads(objects, "A1", TIN).files)
    assert files[NAMED] == files["qrda/copy of it.xml"]  # the reader counts it once (duplicate_file)
    assert len([k for k in objects.list_keys(PREFIX + "uploads/") if k.endswith(".xml")]) == 1


def test_deleting_the_content_object_removes_every_name_of_it(objects: InMemoryObjectStore) -> None:
    take_in_uploads(objects, "A1", TIN)
    objects.delete(stored_key(objects, "A1", TIN, NAMED))
    assert NAMED not in present_names(objects, "A1", TIN)
    assert NAMED not in dict(take_in_uploads(objects, "A1", TIN).files)
    assert NAMED not in read_manifest(objects, "A1", TIN)


def test_a_crash_after_the_manifest_is_finished_by_the_next_run(objects: InMemoryObjectStore) -> None:
    real_purge = objects.purge

    def crash(key: str) -> None:
        raise RuntimeError("killed")

    objects.purge = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        take_in_uploads(objects, "A1", TIN)
    assert NAMED in present_names(objects, "A1", TIN)  # cleanup meanwhile still sees the file
    objects.purge = real_purge  # type: ignore[method-assign]
    files = dict(take_in_uploads(objects, "A1", TIN).files)
    assert files[NAMED] == b"<doc one/>"
    assert PREFIX + NAMED not in objects.objects


def test_the_local_runner_layout_is_the_same(objects: InMemoryObjectStore) -> None:
    local = InMemoryObjectStore()
    changed = store_uploads(
        local, "A1", TIN, {NAMED: b"<doc one/>", "templates/Okonkwo Thomasina.CSV": b"a,b\n"}
    )
    assert changed == ["qrda/Smith_John_19500203.xml", "templates/Okonkwo Thomasina.CSV"]
    take_in_uploads(objects, "A1", TIN)
    assert local.objects[PREFIX + MANIFEST] == objects.objects[PREFIX + MANIFEST]
    assert store_uploads(local, "A1", TIN, {"qrda/renamed.xml": b"<doc one/>"}) == ["qrda/renamed.xml"]
    manifest = json.loads(local.objects[PREFIX + MANIFEST])
    assert [f["name"] for f in manifest["files"]] == ["qrda/renamed.xml"]
    assert local.list_keys(PREFIX + "uploads/") == sorted(
        [PREFIX + MANIFEST, PREFIX + f"uploads/{_sha(b'<doc one/>')}.xml"]
    )
