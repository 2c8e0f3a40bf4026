"""The small interfaces the service layer talks to, and the plain records they exchange.

Boto3 implementations live in ``aco_sync.adapters.aws``; in-memory fakes for unit tests in
``aco_sync.adapters.memory``. Nothing here imports boto3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aco_sync.domain.bulk import fast_frozen_init
from aco_sync.domain.dedup import PseudonymKey
from aco_sync.domain.records import Provider, SyncLogEntry
from aco_sync.domain.statuses import clinic_outcome


class ObjectNotFoundError(KeyError):
    """The object store has no object under the key."""


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds an ACO's sync lock: the sync and the execution (main or MCQM) that must be RUNNING."""

    aco_id: str
    sync_id: str
    execution_arn: str
    acquired_at: str


@dataclass(slots=True)
class SyncRun:
    """One triggered sync of one ACO (also the record of a skipped trigger)."""

    aco_id: str
    sync_id: str
    status: str
    trigger: str
    started: str
    finished: str | None = None
    execution_arns: list[str] = field(default_factory=list)
    error: str | None = None
    results_prefix: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    # the roster the sync uses, pinned by its validation step (asdict of ActiveRoster, None: no roster);
    # roster_pinned False: not validated yet (or a run stored before rosters were pinned)
    roster: dict[str, Any] | None = None
    roster_pinned: bool = False
    incomplete_tins: list[str] = field(default_factory=list)  # member TINs whose sync failed (not in results)


@dataclass(frozen=True, slots=True)
class ClinicStatus:
    """What a user sees per member TIN."""

    tin: str
    status: str
    name: str = ""
    reason: str | None = None
    sync_id: str | None = None
    last_synced: str | None = None  # date and time of the most recent successful sync
    # what the clinic's sync step found (None: the step has not finished): Sync Complete or Sync Failed
    outcome: str | None = None
    rows_read: int = 0  # template/provider rows and QRDA-I documents read = accepted + rejected
    rows_accepted: int = 0
    rows_rejected: int = 0
    files_refused: int = 0  # files refused as a whole (a file-level error)

    def __post_init__(self) -> None:  # items stored with outcome "synced"/"failed" (domain/statuses.py)
        outcome = clinic_outcome(self.outcome)
        object.__setattr__(self, "outcome", None if outcome is None else str(outcome))


@fast_frozen_init  # built once per record a clinic sync writes
@dataclass(frozen=True, slots=True)
class AggregateEncounter:
    """What the aggregate clinic holds of one member source record (no PHI: keys and hashes)."""

    tin: str
    source_key: str
    content_hash: str
    source_file: str
    measure_id: str
    collection_type: str


@dataclass(frozen=True, slots=True)
class ActiveRoster:
    """The pointer to an ACO's active roster for a performance year."""

    aco_id: str
    performance_year: int
    key: str  # object key of the normalised roster under store/
    file_name: str
    rows_accepted: int
    rows_rejected: int
    activated_at: str


class ObjectStore(Protocol):
    def get(self, key: str) -> bytes:
        """The object's bytes; raises ObjectNotFoundError."""
        ...

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None: ...

    def delete(self, key: str) -> None: ...

    def purge(self, key: str) -> None:
        """Delete the object and every earlier version of it (a versioned bucket keeps them otherwise)."""
        ...

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under the prefix, sorted."""
        ...


class SyncStateStore(Protocol):
    # --- the per-ACO lock -------------------------------------------------------------------------
    def get_lock(self, aco_id: str) -> LockHolder | None: ...

    def try_acquire_lock(self, holder: LockHolder, *, replacing_execution_arn: str | None = None) -> bool:
        """Conditional write: succeeds when no lock exists, or (takeover) when the current holder's
        execution is ``replacing_execution_arn``. False when someone else holds it."""
        ...

    def move_lock(self, aco_id: str, sync_id: str, execution_arn: str) -> bool:
        """Hand the lock of ``sync_id`` to another execution (the MCQM job). False if not held by it."""
        ...

    def release_lock(self, aco_id: str, sync_id: str) -> bool:
        """Delete the lock if ``sync_id`` holds it. False when it did not."""
        ...

    # --- sync runs and the sync log ---------------------------------------------------------------
    def put_sync_run(self, run: SyncRun) -> None: ...

    def get_sync_run(self, aco_id: str, sync_id: str) -> SyncRun | None: ...

    def update_sync_run(
        self, aco_id: str, sync_id: str, *, only_if_status: str | None = None, **changes: Any
    ) -> bool:
        """Atomic read-modify-write of the run's fields. With ``only_if_status`` the change applies
        only while the run has that status (returns False otherwise). KeyError when there is no run."""
        ...

    def list_sync_runs(self, aco_id: str, *, limit: int = 20) -> list[SyncRun]:
        """Newest first (sync ids sort by time)."""
        ...

    def append_log(self, aco_id: str, sync_id: str, entries: Sequence[SyncLogEntry]) -> None: ...

    def list_log(self, aco_id: str, sync_id: str) -> list[SyncLogEntry]: ...

    # --- member clinic status ---------------------------------------------------------------------
    def put_clinic_status(self, aco_id: str, status: ClinicStatus) -> None: ...

    def list_clinic_statuses(self, aco_id: str) -> list[ClinicStatus]: ...

    def get_clinic_status(self, aco_id: str, tin: str) -> ClinicStatus | None:
        """One clinic's status (a clinic step must not read every clinic's: O(TINs) per clinic)."""
        ...

    # --- measure results --------------------------------------------------------------------------
    def put_measure_results(self, aco_id: str, sync_id: str, results: Sequence[Mapping[str, Any]]) -> None:
        """JSON-able dicts, one per measure instance (``measure_id`` and ``collection_type`` keys)."""
        ...

    def list_measure_results(self, aco_id: str, sync_id: str) -> list[dict[str, Any]]: ...

    # --- aggregate encounters ---------------------------------------------------------------------
    def aggregate_encounters(self, aco_id: str, tin: str | None = None) -> list[AggregateEncounter]: ...

    def tins_with_encounters(self, aco_id: str) -> list[str]:
        """The TINs that have at least one aggregate encounter, sorted (without reading the encounters)."""
        ...

    def put_aggregate_encounters(self, aco_id: str, encounters: Sequence[AggregateEncounter]) -> int:
        """Upsert; returns the number of items written."""
        ...

    def delete_aggregate_encounters(self, aco_id: str, tin: str, source_keys: Sequence[str]) -> int:
        """Returns the number of items deleted."""
        ...

    # --- providers of the aggregate clinic --------------------------------------------------------
    def list_providers(self, aco_id: str) -> list[Provider]: ...

    def put_providers(self, aco_id: str, providers: Sequence[Provider]) -> int: ...

    def delete_providers(self, aco_id: str, providers: Sequence[Provider]) -> int: ...

    # --- active roster pointer --------------------------------------------------------------------
    def get_active_roster(self, aco_id: str, performance_year: int) -> ActiveRoster | None: ...

    def set_active_roster(self, roster: ActiveRoster) -> None: ...


class WorkflowStarter(Protocol):
    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        """Start an execution; returns its ARN."""
        ...

    def execution_status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE; None when unknown."""
        ...


class PseudonymKeySource(Protocol):
    def pseudonym_key(self) -> PseudonymKey:
        """The deployment's MASTER_PAT_ID key (aco_sync.adapters.keys); raises when none is configured."""
        ...
