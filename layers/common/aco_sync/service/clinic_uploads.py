"""A member clinic's uploads, stored under the sha256 of their content (docs/SECURITY.md "PHI in names
of things"). Clinics name QRDA-I files after their patient (``qrda/Smith_John_19500203.xml``), so the
name a user gave a file is never an object key: it is kept only in the clinic's manifest, an object in
the encrypted data bucket, and shown where the user reads it (the sync log, ``aco-sync status``, the
report).

``members/<aco_id>/<tin>/`` holds:

- ``providers.csv``: as uploaded (a fixed name);
- ``uploads/manifest.json``: ``{"files": [{"name": "qrda/Smith_John_19500203.xml", "sha256": ...}]}``,
  one entry per file name (the path under the TIN folder the user uploaded it to);
- ``uploads/<sha256><ext>``: the content of the listed files (``ext``: ``.csv``, ``.xlsx``, ``.xls``,
  ``.xml`` or ``.zip``, else none); identical files are one object;
- anything else is a new upload: :func:`take_in_uploads` (the clinic's sync, the first step that reads
  the clinic's files) stores it under its hash, lists its name (an upload under a listed name replaces
  that file: an edited file) and deletes the uploaded key with every version of it. The local runner
  writes the same layout directly (:func:`store_uploads`), so no file name reaches the state folder.

A file is removed by deleting its ``uploads/<sha256><ext>`` object (the manifest says which one): the
next sync drops every name listing it, and cleanup removes their encounters.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from aws_lambda_powertools import Logger

from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.ingest.clinic import PROVIDERS_FILE
from aco_sync.service.common import members_prefix

logger = Logger(child=True)

UPLOADS = "uploads/"
MANIFEST = UPLOADS + "manifest.json"
STORED_EXTENSIONS = (".csv", ".xlsx", ".xls", ".xml", ".zip")  # what the readers tell files apart by
_STORED = re.compile(r"^uploads/[0-9a-f]{64}(\.[a-z]{3,4})?$")


@dataclass(frozen=True, slots=True)
class ClinicFiles:
    """What a clinic sync reads: ``(name, content)`` with the names the user gave (reader paths), and
    the SHA-256 (hex) of each file's content by name, as the uploads were stored under it (so that
    no step hashes the same bytes again)."""

    files: list[tuple[str, bytes]]
    sha256: dict[str, str] = field(default_factory=dict)


def stored_name(name: str, sha256: str) -> str:
    """The object (relative to the TIN folder) holding the content of ``name``: no part of the name."""
    suffix = PurePosixPath(name).suffix.lower()
    return f"{UPLOADS}{sha256}{suffix if suffix in STORED_EXTENSIONS else ''}"


def is_upload(relative: str) -> bool:
    """A key (relative to the TIN folder) the user uploaded and the system has not yet taken in."""
    if relative.lower() == PROVIDERS_FILE or not relative or relative.endswith("/"):
        return False  # providers.csv keeps its fixed name; folder markers hold no content
    return relative != MANIFEST and not _STORED.match(relative)


def read_manifest(objects: ObjectStore, aco_id: str, tin: str) -> dict[str, str]:
    """file name -> sha256 of its content ({} before the clinic's first upload was taken in)."""
    try:
        data = json.loads(objects.get(members_prefix(aco_id, tin) + MANIFEST))
    except ObjectNotFoundError:
        return {}
    return {str(f["name"]): str(f["sha256"]) for f in data["files"]}


def _write_manifest(objects: ObjectStore, aco_id: str, tin: str, names: Mapping[str, str]) -> None:
    body = {
        "files": [{"name": n, "sha256": names[n], "object": stored_name(n, names[n])} for n in sorted(names)]
    }
    objects.put(
        members_prefix(aco_id, tin) + MANIFEST,
        json.dumps(body, indent=1).encode(),
        content_type="application/json",
    )


def stored_key(objects: ObjectStore, aco_id: str, tin: str, name: str) -> str:
    """The object key holding the content of the clinic's file ``name`` (delete it to remove the file);
    KeyError when the clinic has no file of that name."""
    return members_prefix(aco_id, tin) + stored_name(name, read_manifest(objects, aco_id, tin)[name])


def present_names(objects: ObjectStore, aco_id: str, tin: str) -> set[str]:
    """The names of the clinic's files now (listed with their content present, or newly uploaded),
    without reading any content: what cleanup compares the recorded sources with."""
    prefix = members_prefix(aco_id, tin)
    relative = {key.removeprefix(prefix) for key in objects.list_keys(prefix)}
    listed = {n for n, sha in read_manifest(objects, aco_id, tin).items() if stored_name(n, sha) in relative}
    return listed | {r for r in relative if not _STORED.match(r) and r != MANIFEST}


def take_in_uploads(objects: ObjectStore, aco_id: str, tin: str) -> ClinicFiles:
    """Move the clinic's new uploads to their content keys and return every file of the clinic under
    the name the user gave it. Safe to run again after a crash at any point (content first, then the
    manifest, then the uploaded keys are deleted; an unlisted content object is deleted last)."""
    prefix = members_prefix(aco_id, tin)
    relative = [key.removeprefix(prefix) for key in objects.list_keys(prefix)]
    stored = {r for r in relative if _STORED.match(r)}
    manifest = read_manifest(objects, aco_id, tin)
    names = {n: sha for n, sha in manifest.items() if stored_name(n, sha) in stored}  # removed: dropped
    contents: dict[str, bytes] = {}
    new = [r for r in relative if is_upload(r)]
    for name in new:
        data = objects.get(prefix + name)
        sha = hashlib.sha256(data).hexdigest()
        target = stored_name(name, sha)
        if target not in stored:
            objects.put(prefix + target, data)
            stored.add(target)
        names[name] = sha  # an upload under a listed name replaces that file (an edited file)
        contents[target] = data
    if names != manifest:
        _write_manifest(objects, aco_id, tin, names)
    for name in new:
        objects.purge(prefix + name)  # the key the user chose, and every version of it
    for target in sorted(stored - {stored_name(n, sha) for n, sha in names.items()}):
        objects.purge(prefix + target)  # the content of an edited (replaced) file
    if new:
        logger.info("Uploads stored under content keys", extra={"tin": tin, "uploads": len(new)})
    files: list[tuple[str, bytes]] = [
        (r, objects.get(prefix + r)) for r in relative if r.lower() == PROVIDERS_FILE
    ]
    sha256 = {name: hashlib.sha256(content).hexdigest() for name, content in files}  # providers.csv
    for name, sha in sorted(names.items()):
        target = stored_name(name, sha)
        content = contents.get(target)
        files.append((name, content if content is not None else objects.get(prefix + target)))
        sha256[name] = sha
    return ClinicFiles(files=files, sha256=sha256)


def store_uploads(objects: ObjectStore, aco_id: str, tin: str, files: Mapping[str, bytes]) -> list[str]:
    """Make the clinic's files exactly ``files`` (name -> content; not providers.csv), stored under
    content keys: what the local runner does with a folder. Returns the names that are new or changed."""
    prefix = members_prefix(aco_id, tin)
    present = {key.removeprefix(prefix) for key in objects.list_keys(prefix)}
    manifest = read_manifest(objects, aco_id, tin)
    names: dict[str, str] = {}
    for name, data in files.items():
        sha = hashlib.sha256(data).hexdigest()
        target = stored_name(name, sha)
        if target not in present:
            objects.put(prefix + target, data)
            present.add(target)
        names[name] = sha
    if names != manifest:
        _write_manifest(objects, aco_id, tin, names)
    wanted = {stored_name(n, sha) for n, sha in names.items()}
    for relative in sorted(present):
        if _STORED.match(relative) and relative not in wanted:
            objects.purge(prefix + relative)
    return sorted(n for n, sha in names.items() if manifest.get(n) != sha)
