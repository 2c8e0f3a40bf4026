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
import json
from collections.abc import Iterable

from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.domain.dedup import PseudonymKey
from aco_sync.service.common import clinic_sources_key

_SHA256_BLOCK = 64  # bytes: HMAC-SHA256 pads its key to one block (RFC 2104)


class EncounterRefs:
    """Keyed, name-free stand-ins for source keys and source files (stable per deployment): HMAC-SHA256
    of the kind's prefix and the text, keyed with the pseudonym key.

    The HMAC is computed as RFC 2104 defines it, from two SHA-256 states prepared once (the padded key
    and the kind's prefix hashed in): each ref then costs two state copies and two small updates, about
    half of what ``hmac`` objects cost (a clinic sync takes one ref per record)."""

    def __init__(self, key: PseudonymKey) -> None:
        secret = key.secret if len(key.secret) <= _SHA256_BLOCK else hashlib.sha256(key.secret).digest()
        secret = secret.ljust(_SHA256_BLOCK, b"\0")
        inner_pad = bytes(b ^ 0x36 for b in secret)
        self._inner = {
            kind: hashlib.sha256(inner_pad + b"aco-sync " + kind + b"\x00") for kind in (b"key", b"file")
        }
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in secret))
        self._files: dict[str, str] = {}  # a clinic's few uploads, each asked for once per record

    def _ref(self, kind: bytes, text: str) -> str:
        inner = self._inner[kind].copy()
        inner.update(text.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return kind[:1].decode().upper() + outer.digest()[:16].hex()

    def source_key(self, source_key: str) -> str:
        return self._ref(b"key", source_key)

    def source_keys(self, source_keys: Iterable[str]) -> list[str]:
        """:meth:`source_key` of each (one loop with the states at hand: the clinic sync's every record)."""
        inner_state, outer_state = self._inner[b"key"], self._outer
        refs: list[str] = []
        append = refs.append
        for source_key in source_keys:
            inner = inner_state.copy()
            inner.update(source_key.encode())
            outer = outer_state.copy()
            outer.update(inner.digest())
            append("K" + outer.digest()[:16].hex())
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
