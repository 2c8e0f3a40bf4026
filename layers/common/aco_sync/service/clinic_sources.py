"""The source files of a clinic's aggregate encounters (store/<aco>/clinics/<tin>/sources.json), kept by
the clinic sync so that cleanup can tell whether a source file was deleted without reading the
encounters. Invariant: the recorded set always contains the source file of every stored encounter of
the TIN (it may briefly hold more, which only costs cleanup one read of that TIN's encounters)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.service.common import clinic_sources_key


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
