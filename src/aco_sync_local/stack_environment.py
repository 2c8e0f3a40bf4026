"""What ``LocalStack`` and ``LocalAws`` share: the default template and region, the process
environment they set for the handlers on enter and give back on exit, and how they start and stop."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self, TypedDict

from aco_sync_local.deployer import DEFAULT_STACK_NAME

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


class StackOptions(TypedDict, total=False):
    """How a local stack is set up, besides its template (the keyword arguments of ``StartedStack``)."""

    fast_retries: bool
    region: str
    stack_name: str
    parameter_overrides: Mapping[str, str] | None
    env_overrides: Mapping[str, str] | None


class StartedStack:
    """A local stack as a context manager: ``__enter__`` checks the template and runs ``_start``,
    ``__exit__`` runs ``_stop``. A start that fails stops what it had started, then the error goes on;
    ``_stop`` must therefore cope with a start that stopped half way. ``env_overrides`` are set after
    the functions' environment (e.g. POWERTOOLS_LOG_LEVEL)."""

    def __init__(
        self,
        template_path: Path | None = None,
        *,
        fast_retries: bool = False,
        region: str = DEFAULT_REGION,
        stack_name: str = DEFAULT_STACK_NAME,
        parameter_overrides: Mapping[str, str] | None = None,
        env_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.template_path = Path(template_path or DEFAULT_TEMPLATE)
        self.fast_retries = fast_retries
        self.region = region
        self.stack_name = stack_name
        self.parameter_overrides = dict(parameter_overrides or {})
        self.env_overrides = dict(env_overrides or {})

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        existing_template(self.template_path)
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()
