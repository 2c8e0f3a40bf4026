"""What every workflow step shares: statuses, object keys, clocks and ids, per-ACO settings."""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import ValidationError

from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.settings import AcoSettings, MemberClinic, settings_problems
from aco_sync.domain.statuses import ClinicSyncStatus as ClinicSyncStatus  # the steps import it from here
from aco_sync.domain.statuses import SyncStatus as SyncStatus

_TIN_FOLDER = re.compile(r"^[0-9]{9}$")


def utc_now() -> str:
    """ISO-8601 UTC timestamp, seconds precision."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_sync_id() -> str:
    """Sortable by start time, unique, valid as a Step Functions execution name."""
    return f"sync-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"


# ----- object keys (docs/ARCHITECTURE.md "Data bucket layout") -----------------------------------------
def config_key(aco_id: str) -> str:
    return f"config/acos/{aco_id}.json"


CONFIG_PREFIX = "config/acos/"


def members_prefix(aco_id: str, tin: str | None = None) -> str:
    return f"members/{aco_id}/{tin}/" if tin else f"members/{aco_id}/"


def clinic_prefix(aco_id: str, tin: str) -> str:
    return f"store/{aco_id}/clinics/{tin}/"


def _clinic_object(name: str) -> Callable[[str, str], str]:
    """The key of the clinic's object ``name``: ``(aco_id, tin) -> store/<aco>/clinics/<tin>/<name>``."""
    return lambda aco_id, tin: clinic_prefix(aco_id, tin) + name


clinic_records_key = _clinic_object("records.bin")  # the clinic's current records, encoded
clinic_digest_key = _clinic_object("records.sha256")  # their digest
clinic_counts_key = _clinic_object("denominator_counts.json")
# the digest of the raw files of the clinic's last successful sync and what reading them gave
clinic_raw_key = _clinic_object("raw.json")
clinic_sources_key = _clinic_object("sources.json")  # the source files its encounters come from


def sync_artifact_key(aco_id: str, sync_id: str, name: str) -> str:
    return f"store/{aco_id}/syncs/{sync_id}/{name}"


# files of one sync under store/<aco_id>/syncs/<sync_id>/ (sync_artifact_key), written by one step, read by
# the later ones
PLAN_FILE = "plan.json"  # the measure plan (finalize -> MCQM sync)
MEMBERS_RESULT_FILE = "members.json"  # the members' aggregation (finalize -> update stats)
MCQM_RESULT_FILE = "mcqm.json"  # the MCQM aggregation (MCQM sync -> update stats)
CLINIC_STATS_FILE = "clinic_stats.json"  # per-TIN stats (update stats -> the clinic stats job; results/)
PARTITION_MANIFEST_FILE = "partitions.json"  # the engine partitions (finalize -> the partition Maps)


def partition_key(aco_id: str, sync_id: str, step: str, partition: int, part: str = "") -> str:
    """A partition's result: ``partitions/<step>-<n>.json`` (its sums) and ``<step>-<n>-outcomes.json``
    (its patient outcomes), ``step`` ``members`` or ``mcqm``."""
    return sync_artifact_key(aco_id, sync_id, f"partitions/{step}-{partition}{part}.json")


def results_prefix(aco_id: str, sync_id: str) -> str:
    return f"results/{aco_id}/{sync_id}/"


def roster_store_prefix(aco_id: str, performance_year: int) -> str:
    return f"store/{aco_id}/rosters/{performance_year}/"


# ----- settings ------------------------------------------------------------------------------------------
def load_aco_settings(objects: ObjectStore, aco_id: str) -> AcoSettings:
    """The ACO's configuration; InvalidInputError (with the key) when missing or invalid."""
    key = config_key(aco_id)
    try:
        data = objects.get(key)
    except ObjectNotFoundError:
        raise InvalidInputError(f"{key}: no configuration for ACO {aco_id!r}") from None
    try:
        settings = _parse_settings(data)
    except (ValueError, ValidationError) as exc:
        raise InvalidInputError(f"{key}: invalid ACO configuration ({_first_error(exc)})") from None
    if settings.aco_id != aco_id:
        raise InvalidInputError(f"{key}: aco_id {settings.aco_id!r} does not match the file name")
    return settings


@functools.lru_cache(maxsize=16)
def _parse_settings(data: bytes) -> AcoSettings:
    """The settings of one configuration file's bytes, parsed once per warm container (AcoSettings is
    frozen): every step of a sync reads the configuration, and the member clinics' names are checked
    one by one, so parsing it at every clinic's invocation made the work per clinic grow with the
    number of member clinics (quadratic in the ACO's size)."""
    return AcoSettings.model_validate(json.loads(data))


def configured_aco_ids(objects: ObjectStore) -> list[str]:
    return [
        key.removeprefix(CONFIG_PREFIX).removesuffix(".json")
        for key in objects.list_keys(CONFIG_PREFIX)
        if key.endswith(".json") and "/" not in key.removeprefix(CONFIG_PREFIX)
    ]


def member_clinics(objects: ObjectStore, settings: AcoSettings) -> list[MemberClinic]:
    """The configured member clinics; when none are configured, every TIN folder under members/<aco>/."""
    if settings.member_clinics:
        return settings.unique_member_clinics  # a TIN listed twice is synced and counted once
    prefix = members_prefix(settings.aco_id)
    tins = sorted({key.removeprefix(prefix).split("/", 1)[0] for key in objects.list_keys(prefix)})
    return [MemberClinic(tin=tin) for tin in tins if _TIN_FOLDER.match(tin)]


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(settings_problems(exc))
    return str(exc)
