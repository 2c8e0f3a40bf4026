"""Local outputs hold PHI (``patients.csv``, the sync log in ``latest-sync.json``) and the pseudonym key:
the state folder is created 0700 and everything written into it 0600 (folders 0700), whatever the
user's umask."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
_depth = 0
_saved_umask = 0


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders created meanwhile (by any thread of this process) are 0600/0700 (umask 077)."""
    global _depth, _saved_umask
    with _lock:
        if _depth == 0:
            _saved_umask = os.umask(0o077)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                os.umask(_saved_umask)
