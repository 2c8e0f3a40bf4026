"""The source files of a clinic's aggregate encounters (store/<aco>/clinics/<tin>/sources.json), kept by
the clinic sync so that cleanup can tell whether a source file was deleted without reading the
encounters. Invariant: the recorded set always contains the source file of every stored encounter of
the TIN (it may briefly hold more, which only costs cleanup one read of that TIN's encounters).

No names in the table (docs/SECURITY.md "PHI in names of things"): a source key can hold a file name
the user chose (a QRDA-I file named after its patient) or an encounter id a clinic typed, so the
aggregate encounters and the recorded sources hold :class:`EncounterRefs` instead: a keyed MAC (the
deployment's pseudonym key) of the source key and of the source file's upload (the zip for a zip
member). Nobody without the key can recompute one from a guessed name; cleanup compares the refs of
the files present with the recorded ones."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable

from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.domain.dedup import PseudonymKey
from aco_sync.service.common import clinic_sources_key


class EncounterRefs:
    """Keyed, name-free stand-ins for source keys and source files (stable per deployment): HMAC-SHA256
    of the kind's prefix and the text, keyed with the pseudonym key (the standard library's ``hmac``)."""

    def __init__(self, key: PseudonymKey) -> None:
        # the MAC keyed and fed its kind prefix once; each ref copies it (the same MAC, half the work)
        self._keyed = {
            kind: hmac.new(key.secret, b"aco-sync " + kind + b"\x00", hashlib.sha256)
            for kind in (b"key", b"file")
        }
        self._files: dict[str, str] = {}  # a clinic's few uploads, each asked for once per record

    def _ref(self, kind: bytes, text: str) -> str:
        mac = self._keyed[kind].copy()
        mac.update(text.encode())
        return kind[:1].decode().upper() + mac.digest()[:16].hex()

    def source_key(self, source_key: str) -> str:
        return self._ref(b"key", source_key)

    def source_keys(self, source_keys: Iterable[str]) -> list[str]:
        """:meth:`source_key` of each (one loop, the keyed MAC at hand: a clinic's every record)."""
        keyed = self._keyed[b"key"]
        refs: list[str] = []
        append = refs.append
        for source_key in source_keys:
            mac = keyed.copy()
            mac.update(source_key.encode())
            append("K" + mac.digest()[:16].hex())
        return refs

    def source_file(self, source_file: str) -> str:
        """The ref of the upload a record came from (``qrda/batch.zip!p1.xml`` -> the zip's); "" stays ""."""
        ref = self._files.get(source_file)
        if ref is None:
            upload = source_file.split("!", 1)[0]
            ref = self._files[source_file] = self._ref(b"file", upload) if upload else ""
        return ref


def source_files(files: Iterable[str]) -> frozenset[str]:
    """The distinct, non-empty source files (an encounter without one is never removed by cleanup)."""
    return frozenset(f for f in files if f)


def read_clinic_sources(objects: ObjectStore, aco_id: str, tin: str) -> frozenset[str] | None:
    """The recorded source files of ``tin``, or None when the clinic sync has not recorded them."""
    try:
        data = json.loads(objects.get(clinic_sources_key(aco_id, tin)))
    except ObjectNotFoundError:
        return None
    return source_files(data["source_files"])


def write_clinic_sources(objects: ObjectStore, aco_id: str, tin: str, files: frozenset[str]) -> None:
    body = json.dumps({"source_files": sorted(files)}, separators=(",", ":")).encode()
    objects.put(clinic_sources_key(aco_id, tin), body, content_type="application/json")
