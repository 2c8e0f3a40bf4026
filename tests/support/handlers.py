"""Load a handler (every one is ``functions/<name>/app.py``) under a unique module name."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"


def load_handler(folder: str) -> ModuleType:
    name = f"handler_{folder}"
    spec = importlib.util.spec_from_file_location(name, FUNCTIONS_DIR / folder / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
