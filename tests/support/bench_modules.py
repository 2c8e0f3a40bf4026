"""The benchmark's seeded synthetic ACO generator (``bench/synthetic.py``) for tests that need an ACO of a
given size: loaded by path, since ``bench/`` is not a package."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

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
