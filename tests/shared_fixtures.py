"""Paths every test may need: the repo root and the shared fixtures folder (``../shared``).

Import it as ``from shared_fixtures import shared_path`` (``tests/`` is on pytest's pythonpath). Do not
import from ``conftest``: with several conftest.py files the name is ambiguous.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("ACO_SYNC_SHARED_DIR", REPO_ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear reason when it is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared fixtures not available: {path} is missing (CI has ../shared beside the clone)")
    return path
