"""The data bucket as a folder: ``ObjectStore`` on the filesystem (the local runner's bucket).

A key is a relative path under the root (``members/A1/111111111/templates/cqm.csv`` ->
``<root>/members/A1/111111111/templates/cqm.csv``). Writes go to a temporary file in the same folder
and are renamed into place, so a reader (or a killed writer) never sees half an object. Keys that
would leave the root (``..``, absolute paths, backslashes) are refused.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from aco_sync.adapters.ports import ObjectNotFoundError

TEMP_PREFIX = ".tmp-"


class FilesystemObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.writes = 0

    def path_of(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts[:-1]):
            raise ValueError(f"not an object key: {key!r}")
        if parts[-1] in ("", ".", ".."):
            raise ValueError(f"not an object key: {key!r}")
        return self.root.joinpath(*parts)

    def get(self, key: str) -> bytes:
        try:
            return self.path_of(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFoundError(key) from None

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.writes += 1

    def delete(self, key: str) -> None:
        path = self.path_of(key)
        path.unlink(missing_ok=True)
        self.writes += 1
        for parent in path.parents:  # an empty folder is no object: drop it (S3 has no folders)
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def purge(self, key: str) -> None:
        self.delete(key)  # a folder keeps no versions

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (a plain string prefix, as in S3), sorted."""
        folder, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        if not start.is_dir():
            return []
        keys = []
        for directory, _dirs, files in os.walk(start):
            base = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    continue
                key = name if base == "." else f"{base}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)
