"""Load a handler (every one is ``functions/<name>/app.py``) under a unique module name, with its stores
replaced by in-memory ones."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.keys import StaticPseudonymKey
from aco_sync.adapters.memory import (
    InMemoryObjectStore,
    InMemorySyncStateStore,
    InMemoryWorkflowStarter,
)
from pseudonym_keys import TEST_KEY

REPO_ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS_DIR = REPO_ROOT / "functions"
MAIN_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:aco-sync"


def load_handler(folder: str) -> ModuleType:
    name = f"handler_{folder}"
    spec = importlib.util.spec_from_file_location(name, FUNCTIONS_DIR / folder / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def memory_stores() -> Stores:
    return Stores(
        objects=InMemoryObjectStore(),
        state=InMemorySyncStateStore(),
        workflows=InMemoryWorkflowStarter(),
        pseudonym_keys=StaticPseudonymKey(TEST_KEY),
        aco_sync_state_machine_arn=MAIN_ARN,
    )


def write_config(stores: Stores, aco_id: str = "A1") -> None:
    stores.objects.put(
        f"config/acos/{aco_id}.json", json.dumps({"aco_id": aco_id, "performance_year": 2025}).encode()
    )
