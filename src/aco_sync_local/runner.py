"""``run_local_sync``: a full ACO sync of a local folder, in moto, through the real template and ASL.

The folder is laid out like the data bucket (``config/acos/<aco_id>.json``, ``rosters/...``,
``members/...``; docs/LOCAL.md). The sync is started through the same start-sync Lambda the daily
schedule uses; the runner waits for every execution (main and MCQM), delivers the clinic-stats queue to
its worker, then collects the executions with their histories, the sync status view and the files the
workflow wrote under ``results/<aco_id>/``. The result is saved as JSON in the state folder (default
``./.aco-sync/``) so ``aco-sync status|history|report`` work in a later process.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aco_sync.adapters.keys import KEY_FILE_ENV
from aco_sync.domain.errors import AcoSyncError
from aco_sync_local.local_aws import DEFAULT_TEMPLATE, LocalAws, LocalFunctionError
from aco_sync_local.private_files import make_private_dir, private_files

logger = logging.getLogger(__name__)

DEFAULT_STATE_DIR = Path(".aco-sync")
PSEUDONYM_KEY_FILE = "pseudonym.key"  # this local deployment's MASTER_PAT_ID key (0600, made on first use)
LATEST_FILE = "latest-sync.json"
RUNS_DIR = "runs"
START_SYNC_FUNCTION = "StartSyncFunction"
DEFAULT_TIMEOUT_SECONDS = 300.0


class LocalRunError(Exception):
    """The folder cannot be synced locally (the message says why and what to do)."""


@dataclass
class LocalSyncResult:
    """Everything a local sync produced; JSON round-trips through ``to_dict``/``from_dict``."""

    aco_id: str
    folder: str
    started_at: str
    finished_at: str
    started: list[dict[str, Any]]  # what the start-sync handler returned (sync_id, execution_arn, ...)
    executions: list[dict[str, Any]]  # ExecutionSummary dicts + "history": [HistoryRow dicts]
    status: dict[str, Any]  # aco_sync.service.status.latest_sync_status(aco_id)
    results_dir: str | None = None  # local copy of results/<aco_id>/
    report_html: str | None = None
    quality_score: dict[str, Any] | None = None
    queue_messages_processed: int = 0
    uploaded_files: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalSyncResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def sync(self) -> dict[str, Any] | None:
        sync = self.status.get("sync")
        return sync if isinstance(sync, dict) else None

    @property
    def succeeded(self) -> bool:
        """Every execution ended SUCCEEDED (an aborted or failed sync still reports its reason)."""
        return all(e.get("status") == "SUCCEEDED" for e in self.executions)


def find_aco_id(folder: Path) -> str:
    """The only ACO configured in ``folder/config/acos/``; otherwise a clear error."""
    configs = sorted((folder / "config" / "acos").glob("*.json"))
    if not configs:
        raise LocalRunError(
            f"{folder}: no ACO configuration found (expected config/acos/<aco_id>.json; see docs/LOCAL.md)"
        )
    if len(configs) > 1:
        names = ", ".join(p.stem for p in configs)
        raise LocalRunError(f"{folder}: several ACOs are configured ({names}); choose one with --aco")
    return configs[0].stem


def run_local_sync(
    folder: Path,
    *,
    aco_id: str | None = None,
    state_dir: Path | None = None,
    fast_retries: bool = True,
    template_path: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    handler_log_level: str | None = None,
) -> LocalSyncResult:
    """Run one full sync of ``folder`` locally and save the result in ``state_dir``.

    ``handler_log_level`` overrides the template's POWERTOOLS_LOG_LEVEL for the in-process handlers.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LocalRunError(f"{folder} is not a folder")
    aco_id = aco_id or find_aco_id(folder)
    if not (folder / "config" / "acos" / f"{aco_id}.json").is_file():
        raise LocalRunError(f"{folder}: config/acos/{aco_id}.json is missing (see docs/LOCAL.md)")
    state_dir = Path(state_dir or DEFAULT_STATE_DIR)
    template_path = Path(template_path or DEFAULT_TEMPLATE)
    started_at = datetime.now(UTC).isoformat()

    env_overrides = {"POWERTOOLS_LOG_LEVEL": handler_log_level} if handler_log_level else {}
    # the state folder is this local deployment: its key file keeps MASTER_PAT_IDs stable across runs
    env_overrides[KEY_FILE_ENV] = str((state_dir / PSEUDONYM_KEY_FILE).resolve())
    make_private_dir(state_dir)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[phase] = round(now - clock, 3)
        clock = now

    with (
        private_files(),
        LocalAws(template_path, fast_retries=fast_retries, env_overrides=env_overrides) as aws,
    ):
        lap("deploy_s")
        uploaded = aws.upload_folder(folder)
        lap("upload_s")
        rosters = ingest_uploaded_rosters(uploaded, aco_id)
        lap("roster_ingest_s")
        try:
            response = aws.invoke(START_SYNC_FUNCTION, {"aco_id": aco_id, "trigger": "manual"})
        except LocalFunctionError as exc:
            raise LocalRunError(
                f"The sync of {aco_id} could not start: {exc.error_type}: {exc.error_message}"
            ) from exc
        started = list(response.get("started", [])) if isinstance(response, dict) else []
        aws.wait_for_executions(timeout=timeout)
        lap("executions_s")
        processed = aws.drain_queues()
        summaries = aws.wait_for_executions(timeout=timeout)
        lap("clinic_stats_s")
        executions = [
            {
                **summary.to_dict(),
                "history": [row.to_dict() for row in aws.execution_history(summary.execution_arn)],
            }
            for summary in summaries
        ]
        from aco_sync.service.status import latest_sync_status  # reads TABLE_NAME/BUCKET_NAME set by LocalAws

        status = _jsonable(latest_sync_status(aco_id))
        results_dir = state_dir / "results" / aco_id
        aws.download_prefix(f"results/{aco_id}/", results_dir)
        lap("collect_s")

    result = LocalSyncResult(
        aco_id=aco_id,
        folder=str(folder.resolve()),
        started_at=started_at,
        finished_at=datetime.now(UTC).isoformat(),
        started=_jsonable(started),
        executions=_jsonable(executions),
        status=status,
        results_dir=str(results_dir.resolve()),
        queue_messages_processed=processed,
        uploaded_files=len(uploaded),
        extra={"rosters_ingested": rosters, "timings": timings},
    )
    _attach_outputs(result, state_dir)
    with private_files():
        save_result(result, state_dir)
    return result


def ingest_uploaded_rosters(keys: list[str], aco_id: str) -> list[dict[str, Any]]:
    """Ingest the ACO's roster files that were uploaded with the folder, as the roster-upload rule does
    on AWS, but without starting a sync per file (the run starts exactly one). Files are ingested in
    key order, so the last one of a performance year becomes the active roster."""
    from aco_sync.adapters.environment import build_stores
    from aco_sync.service.roster_ingest import ingest_roster

    prefix = f"rosters/{aco_id}/"
    ingested = []
    stores = build_stores()
    for key in sorted(k for k in keys if k.startswith(prefix)):
        try:
            ingested.append({"key": key, **_jsonable(ingest_roster(stores, key=key, start=False))})
        except AcoSyncError as exc:  # recorded like the upload rule's failure; the sync decides what follows
            logger.warning("Roster %s was not ingested: %s", key, exc)
            ingested.append({"key": key, "activated": False, "error": f"{type(exc).__name__}: {exc}"})
    return ingested


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _attach_outputs(result: LocalSyncResult, state_dir: Path) -> None:
    prefix = result.status.get("results_prefix")
    if not prefix:
        return
    sync_dir = (state_dir / prefix).resolve()
    report = sync_dir / "report.html"
    if report.is_file():
        result.report_html = str(report)
    score = sync_dir / "quality-score.json"
    if score.is_file():
        try:
            result.quality_score = json.loads(score.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            logger.warning("%s is not valid JSON", score)


def save_result(result: LocalSyncResult, state_dir: Path) -> Path:
    """Write the result as the latest sync (and keep a copy under runs/)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.to_dict(), indent=2)
    runs = state_dir / RUNS_DIR
    runs.mkdir(exist_ok=True)
    stamp = result.finished_at.replace(":", "").replace("-", "").replace("+0000", "Z")
    (runs / f"{stamp}-{result.aco_id}.json").write_text(text, encoding="utf-8")
    latest = state_dir / LATEST_FILE
    latest.write_text(text, encoding="utf-8")
    return latest


def load_latest_result(state_dir: Path | None = None) -> LocalSyncResult:
    """The latest saved local sync, or a clear error when there is none."""
    path = Path(state_dir or DEFAULT_STATE_DIR) / LATEST_FILE
    if not path.is_file():
        raise LocalRunError(
            f"No local sync found in {path.parent} (run `aco-sync run <folder>` or `aco-sync demo`)"
        )
    try:
        return LocalSyncResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise LocalRunError(f"{path} is not a saved local sync: {exc}") from exc


def list_saved_results(state_dir: Path | None = None) -> list[LocalSyncResult]:
    """Every saved local sync, oldest first."""
    runs = Path(state_dir or DEFAULT_STATE_DIR) / RUNS_DIR
    results = []
    for path in sorted(runs.glob("*.json")):
        try:
            results.append(LocalSyncResult.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (json.JSONDecodeError, TypeError):
            logger.warning("Ignoring %s: not a saved local sync", path)
    return sorted(results, key=lambda r: r.finished_at)
