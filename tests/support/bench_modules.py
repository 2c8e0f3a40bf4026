"""The benchmark's seeded synthetic ACO generator (``bench/synthetic.py``) for tests that need an ACO of a
given size: loaded by path, since ``bench/`` is not a package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from aco_sync.adapters.ports import ObjectStore
from support.handlers import REPO_ROOT


def bench_synthetic() -> ModuleType:
    """``bench/synthetic.py`` as the module ``bench_synthetic`` (loaded once per test process)."""
    if "bench_synthetic" in sys.modules:
        return sys.modules["bench_synthetic"]
    spec = importlib.util.spec_from_file_location("bench_synthetic", REPO_ROOT / "bench" / "synthetic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_synthetic"] = module
    spec.loader.exec_module(module)
    return module


def write_synthetic_aco(folder: Path, *, records: int, tins: int, seed: int) -> Path:
    """The seeded synthetic ACO of ``records`` records at ``tins`` member TINs written into ``folder`` as
    the data bucket's files (``synthetic.write_bucket_folder``)."""
    synthetic = bench_synthetic()
    synthetic.write_bucket_folder(synthetic.generate_aco(records=records, tins=tins, seed=seed), folder)
    return folder


def put_folder(objects: ObjectStore, folder: Path) -> None:
    """Every file of ``folder`` into ``objects``, under its path relative to the folder."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        objects.put(path.relative_to(folder).as_posix(), path.read_bytes())
