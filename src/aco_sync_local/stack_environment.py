"""What ``LocalStack`` and ``LocalAws`` share: the default template and region, and the process
environment they set for the handlers on enter and give back on exit."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_REGION = "us-east-1"


def existing_template(template_path: Path) -> Path:
    """The template, or FileNotFoundError naming it."""
    if not template_path.is_file():
        raise FileNotFoundError(f"SAM template not found: {template_path}")
    return template_path


def region_environment(region: str) -> dict[str, str]:
    """Handlers build their clients from the environment: they must see the stack's region."""
    return {"AWS_DEFAULT_REGION": region, "AWS_REGION": region}


class SavedEnvironment:
    """``os.environ`` changes that ``restore`` undoes (each variable's value before the first change)."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, values: Mapping[str, str], *, only_if_missing: bool = False) -> None:
        for name, value in values.items():
            if only_if_missing and name in os.environ:
                continue
            self._saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved = {}
