"""Fixtures of the local runner tests: the tiny SAM stack under ./fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def tiny_template() -> Path:
    return FIXTURES / "template.yaml"
