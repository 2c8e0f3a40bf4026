"""``run_local_sync``: a full ACO sync of a local folder, in this process, through the real template and ASL.

The folder is laid out like the data bucket (``config/acos/<aco_id>.json``, ``rosters/...``,
``members/...``; docs/LOCAL.md). The ACO's state persists in the state folder (default ``./.aco-sync/``):
``state.db`` (SQLite, the sync state store) and ``bucket/`` (the data bucket as a folder); the handlers
reach them through ``aco_sync.adapters.environment.build_stores`` (``ACO_SYNC_LOCAL_STATE_DIR``). The
state machines run on the local Step Functions interpreter and the Lambda handlers in-process
(``aco_sync_local.local_stack``: the real template.yaml and ASL; no moto). The sync is started
through the same start-sync Lambda the daily schedule uses; the runner waits for every execution (main
and MCQM), delivers the clinic-stats queue to its worker, then collects the executions with their
histories and the sync status view. The result is saved as JSON in the state folder too, so
``aco-sync status|history|report`` work in a later process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aco_sync.adapters.environment import BUCKET_DIR, STATE_FILE, build_stores
from aco_sync.adapters.filesystem import FilesystemObjectStore
from aco_sync.adapters.keys import KEY_FILE_ENV
from aco_sync.adapters.local_workflows import process_start
from aco_sync.adapters.sqlite import SqliteSyncStateStore, StateSchemaError
from aco_sync.domain.errors import AcoSyncError
from aco_sync_local.executions import LocalFunctionError
from aco_sync_local.functions import add_execution_start_hook, remove_execution_start_hook
from aco_sync_local.local_stack import LocalStack
from aco_sync_local.private_files import make_private_dir, private_files
from aco_sync_local.stack_environment import DEFAULT_TEMPLATE

logger = logging.getLogger(__name__)

DEFAULT_STATE_DIR = Path(".aco-sync")
PSEUDONYM_KEY_FILE = "pseudonym.key"  # this local deployment's MASTER_PAT_ID key (0600, made on first use)
LATEST_FILE = "latest-sync.json"
RUNS_DIR = "runs"
START_SYNC_FUNCTION = "StartSyncFunction"
DEFAULT_TIMEOUT_SECONDS = 300.0
LAYOUT_FILE = "layout-version"
STATE_LAYOUT = 1  # 1: state.db (SQLite) + bucket/ (the data bucket as a folder); before: saved results only
WORKFLOW_PREFIXES = frozenset({"store", "results"})  # bucket prefixes the workflow writes
HISTORY_LIMIT = 100_000


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
    def failed_clinics(self) -> list[str]:
        """TINs whose sync failed (the ACO result is incomplete without them)."""
        clinics = self.status.get("clinics") or []
        return [str(c.get("tin")) for c in clinics if str(c.get("status", "")).startswith("Sync Failed")]

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
    progress: Callable[[str], None] | None = None,
) -> LocalSyncResult:
    """Run one full sync of ``folder`` locally against the ACO's persistent state in ``state_dir``.

    The state folder keeps the ACO's state between runs (``state.db``: SQLite; ``bucket/``: the data
    bucket as a folder; docs/LOCAL.md), so a second run of an unchanged folder changes nothing.
    ``handler_log_level`` overrides the template's POWERTOOLS_LOG_LEVEL for the in-process handlers;
    ``progress`` is called with a short line as each phase starts (deploy, upload, roster, sync, ...).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LocalRunError(f"{folder} is not a folder")
    aco_id = aco_id or find_aco_id(folder)
    if not (folder / "config" / "acos" / f"{aco_id}.json").is_file():
        raise LocalRunError(f"{folder}: config/acos/{aco_id}.json is missing (see docs/LOCAL.md)")
    state_dir = Path(state_dir or DEFAULT_STATE_DIR).resolve()
    template_path = Path(template_path or DEFAULT_TEMPLATE)
    started_at = datetime.now(UTC).isoformat()
    say = progress or (lambda _line: None)

    make_private_dir(state_dir)
    with private_files():
        migrated = prepare_state_dir(state_dir)
        store = open_state(state_dir)
    env_overrides: dict[str, str] = {}
    if handler_log_level:
        env_overrides["POWERTOOLS_LOG_LEVEL"] = handler_log_level
    # the state folder is this local deployment: its key file keeps MASTER_PAT_IDs stable across runs
    env_overrides[KEY_FILE_ENV] = str(state_dir / PSEUDONYM_KEY_FILE)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[phase] = round(now - clock, 3)
        clock = now

    me, me_started = os.getpid(), process_start(os.getpid())

    def record_execution(execution_arn: str) -> None:
        store.record_local_execution(
            execution_arn, pid=me, process_start=me_started, started_at=datetime.now(UTC).isoformat()
        )

    say("Starting the local stack")
    add_execution_start_hook(record_execution)
    try:
        with (
            private_files(),
            LocalStack(
                template_path, state_dir=state_dir, fast_retries=fast_retries, env_overrides=env_overrides
            ) as aws,
        ):
            lap("deploy_s")
            say(f"Uploading {folder}")
            bucket = state_dir / BUCKET_DIR
            uploaded, changed = mirror_folder(folder, bucket)
            lap("upload_s")
            say("Ingesting new roster files")
            rosters = ingest_new_rosters(store, bucket, uploaded, aco_id)
            lap("roster_ingest_s")
            say(f"Syncing {aco_id}")
            try:
                response = aws.invoke(START_SYNC_FUNCTION, {"aco_id": aco_id, "trigger": "manual"})
            except LocalFunctionError as exc:
                raise LocalRunError(
                    f"The sync of {aco_id} could not start: {exc.error_type}: {exc.error_message}"
                ) from exc
            started = list(response.get("started", [])) if isinstance(response, dict) else []
            aws.wait_for_executions(timeout=timeout)
            lap("executions_s")
            say("Computing the clinic stats")
            processed = aws.drain_queues()
            summaries = aws.wait_for_executions(timeout=timeout)
            lap("clinic_stats_s")
            say("Collecting the results")
            executions = [
                {
                    **summary.to_dict(),
                    "history": [row.to_dict() for row in aws.execution_history(summary.execution_arn)],
                }
                for summary in summaries
            ]
            from aco_sync.service.status import latest_sync_status, sync_history

            stores = build_stores()
            status = _jsonable(latest_sync_status(aco_id, store=stores))
            syncs = _jsonable(sync_history(aco_id, store=stores, limit=HISTORY_LIMIT))
            lap("collect_s")
    finally:
        remove_execution_start_hook(record_execution)

    results_dir = bucket / "results" / aco_id
    result = LocalSyncResult(
        aco_id=aco_id,
        folder=str(folder.resolve()),
        started_at=started_at,
        finished_at=datetime.now(UTC).isoformat(),
        started=_jsonable(started),
        executions=_jsonable(executions),
        status=status,
        results_dir=str(results_dir),
        queue_messages_processed=processed,
        uploaded_files=len(uploaded),
        extra={
            "rosters_ingested": rosters,
            "timings": timings,
            "files_changed": len(changed),
            "syncs": syncs,
            **({"migrated": migrated} if migrated else {}),
        },
    )
    _attach_outputs(result, bucket)
    with private_files():
        save_result(result, state_dir)
    return result


def prepare_state_dir(state_dir: Path) -> str | None:
    """Bring a state folder of an earlier layout to this one; returns what was done (None: nothing).

    Before the persistent store (layout 1), a state folder held only the saved results of each run
    (``latest-sync.json``, ``runs/``, ``results/``): no ACO state. Those files stay readable
    (``aco-sync history --all`` lists them); the ACO state starts empty in ``state.db``. A layout newer
    than this version's is refused."""
    marker = state_dir / LAYOUT_FILE
    if marker.is_file():
        text = marker.read_text(encoding="utf-8").strip()
        try:
            layout = int(text)
        except ValueError:
            raise LocalRunError(
                f"{marker} does not hold a layout version ({text[:40]!r}); move {state_dir} away to reset "
                "the local state (docs/LOCAL.md, 'Resetting')"
            ) from None
        if layout > STATE_LAYOUT:
            raise LocalRunError(
                f"The state folder {state_dir} has layout version {layout}, written by a newer ACO Sync "
                f"(this version uses layout {STATE_LAYOUT}). Upgrade ACO Sync, or reset the local state by "
                f"moving {state_dir} away (docs/LOCAL.md, 'Resetting')."
            )
        return None
    old = [name for name in (LATEST_FILE, RUNS_DIR, "results") if (state_dir / name).exists()]
    state_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{STATE_LAYOUT}\n", encoding="utf-8")
    if old and not (state_dir / STATE_FILE).exists():
        message = (
            f"Migrated the state folder {state_dir} from the layout before persistent state: its saved "
            "syncs are kept (aco-sync history --all); the ACO's state starts empty, so this run adds "
            "every record"
        )
        logger.warning(message)
        return message
    return None


def open_state(state_dir: Path) -> SqliteSyncStateStore:
    """The state file, created or migrated; ``LocalRunError`` with what to do when it is refused."""
    try:
        return SqliteSyncStateStore(state_dir / STATE_FILE)
    except StateSchemaError as exc:
        raise LocalRunError(str(exc)) from exc
    except sqlite3.DatabaseError as exc:
        raise LocalRunError(
            f"{state_dir / STATE_FILE} cannot be read as the local state ({exc}); move {state_dir} away to "
            "reset the local state (docs/LOCAL.md, 'Resetting')"
        ) from exc


def mirror_folder(folder: Path, bucket: Path) -> tuple[list[str], list[str]]:
    """Make the bucket folder's input objects exactly the files under ``folder`` (what an upload of the
    folder to S3 plus the deletion of the files it no longer has would do). Returns (every key, the keys
    copied because they are new or changed). ``store/`` and ``results/`` belong to the workflow: never
    touched. Unchanged files (same size and modification time) are not copied again. A member clinic's
    uploads (``members/<aco>/<tin>/templates|qrda/...``) are stored as the workflow stores them, under
    their content's sha256 with their names in the clinic's manifest (``clinic_uploads``): no file name
    a clinic chose becomes a path in the state folder."""
    from aco_sync.service.clinic_uploads import MANIFEST, store_uploads

    keys: list[str] = []
    copied: list[str] = []
    uploads: dict[tuple[str, str], dict[str, Path]] = {}  # (aco_id, tin) -> name -> file
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or relative.parts[0] in WORKFLOW_PREFIXES:
            continue  # .DS_Store, .aco-sync state, editor files; the workflow's own prefixes
        key = relative.as_posix()
        keys.append(key)
        clinic = _clinic_upload(key)
        if clinic is not None:
            uploads.setdefault(clinic[:2], {})[clinic[2]] = path
            continue
        target = bucket / relative
        source_stat = path.stat()
        try:
            target_stat = target.stat()
            same_size = target_stat.st_size == source_stat.st_size
            if same_size and target_stat.st_mtime_ns == source_stat.st_mtime_ns:
                continue
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)  # the state folder's modes (private_files), not the source's
        os.utime(target, ns=(source_stat.st_atime_ns, source_stat.st_mtime_ns))
        copied.append(key)
    wanted = set(keys) - {
        f"members/{aco}/{tin}/{name}" for (aco, tin), files in uploads.items() for name in files
    }
    objects = FilesystemObjectStore(bucket)
    for key in objects.list_keys("members/"):
        if key.endswith("/" + MANIFEST) and key.count("/") == 4:  # a clinic whose files may all be gone
            aco_id, tin = key.split("/")[1:3]
            uploads.setdefault((aco_id, tin), {})
    for (aco_id, tin), files in sorted(uploads.items()):  # one clinic's files in memory at a time
        changed = store_uploads(
            objects, aco_id, tin, {name: path.read_bytes() for name, path in files.items()}
        )
        copied.extend(f"members/{aco_id}/{tin}/{name}" for name in changed)
    for key in objects.list_keys(""):
        if key.split("/", 1)[0] in WORKFLOW_PREFIXES or key in wanted or _clinic_store(key):
            continue
        objects.delete(key)  # also an upload a run before content keys stored under its own name
    return keys, copied


def _clinic_upload(key: str) -> tuple[str, str, str] | None:
    """(aco_id, tin, name) of a member clinic's upload other than providers.csv, else None."""
    from aco_sync.service.clinic_uploads import is_upload

    parts = key.split("/")
    if len(parts) < 4 or parts[0] != "members":
        return None
    name = "/".join(parts[3:])
    return (parts[1], parts[2], name) if is_upload(name) else None


def _clinic_store(key: str) -> bool:
    """A clinic's manifest or content object (``members/<aco>/<tin>/uploads/...``), kept by store_uploads."""
    from aco_sync.service.clinic_uploads import UPLOADS

    parts = key.split("/")
    return (
        len(parts) >= 5
        and parts[0] == "members"
        and parts[3] + "/" == UPLOADS
        and _clinic_upload(key) is None
    )


def ingest_new_rosters(
    store: SqliteSyncStateStore, bucket: Path, keys: list[str], aco_id: str
) -> list[dict[str, Any]]:
    """Ingest the ACO's roster files that are new or changed since they were last ingested, as the
    roster-upload rule does on AWS (once per upload), without starting a sync per file (the run starts
    exactly one). Files are ingested in key order, so the last new one of a year becomes active."""
    from aco_sync.service.roster_ingest import ingest_roster  # after the CLI configured logging

    prefix = f"rosters/{aco_id}/"
    ingested = []
    stores = build_stores()
    for key in sorted(k for k in keys if k.startswith(prefix)):
        digest = hashlib.sha256((bucket / key).read_bytes()).hexdigest()
        if store.ingested_upload_digest(key) == digest:
            continue
        try:
            ingested.append({"key": key, **_jsonable(ingest_roster(stores, key=key, start=False))})
        except AcoSyncError as exc:  # recorded like the upload rule's failure; the sync decides what follows
            logger.warning("Roster %s was not ingested: %s", key, exc)
            ingested.append({"key": key, "activated": False, "error": f"{type(exc).__name__}: {exc}"})
        store.record_ingested_upload(key, digest, datetime.now(UTC).isoformat())
    return ingested


def ingest_uploaded_rosters(keys: list[str], aco_id: str) -> list[dict[str, Any]]:
    """Ingest every roster file of the ACO among ``keys`` (already in the stores of the environment),
    in key order, without starting a sync per file."""
    from aco_sync.service.roster_ingest import ingest_roster

    prefix = f"rosters/{aco_id}/"
    ingested = []
    stores = build_stores()
    # confirmations (rosters/<aco>/<py>/confirm/<file>) after the rosters they confirm
    for key in sorted((k for k in keys if k.startswith(prefix)), key=lambda k: ("/confirm/" in k, k)):
        try:
            ingested.append({"key": key, **_jsonable(ingest_roster(stores, key=key, start=False))})
        except AcoSyncError as exc:
            logger.warning("Roster %s was not ingested: %s", key, exc)
            ingested.append({"key": key, "activated": False, "error": f"{type(exc).__name__}: {exc}"})
    return ingested


def list_state_syncs(state_dir: Path | None = None) -> list[dict[str, Any]]:
    """Every sync of every ACO recorded in the state folder (skipped triggers included), oldest first;
    [] when the folder has no state file."""
    path = Path(state_dir or DEFAULT_STATE_DIR) / STATE_FILE
    if not path.is_file():
        return []
    from aco_sync.adapters.environment import RuntimeSettings
    from aco_sync.service.status import sync_history

    store = open_state(path.parent)
    stores = build_stores(RuntimeSettings(local_state_dir=str(path.parent.resolve())))
    rows: list[dict[str, Any]] = []
    for aco in store.aco_ids():
        rows.extend(_jsonable(sync_history(aco, store=stores, limit=HISTORY_LIMIT)))
    return sorted(rows, key=lambda r: (str(r.get("started")), str(r.get("sync_id"))))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _attach_outputs(result: LocalSyncResult, bucket: Path) -> None:
    prefix = result.status.get("results_prefix")
    if not prefix:
        return
    sync_dir = (bucket / prefix).resolve()
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
