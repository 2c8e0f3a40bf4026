"""In-memory implementations of the ports, for unit tests and quick local experiments.

``InMemorySyncStateStore.writes`` counts every item written or deleted (what DynamoDB would bill
as a write), so tests can check that an unchanged second sync writes (almost) nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from aco_sync.adapters import ports
from aco_sync.domain.records import Provider, SyncLogEntry


class InMemoryObjectStore:
    def __init__(self, objects: Mapping[str, bytes] | None = None) -> None:
        self.objects: dict[str, bytes] = dict(objects or {})
        self.writes = 0

    def get(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise ports.ObjectNotFoundError(key) from None

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        self.objects[key] = bytes(data)
        self.writes += 1

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.writes += 1

    def purge(self, key: str) -> None:
        self.delete(key)  # keeps no versions

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))


class InMemorySyncStateStore:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self.locks: dict[str, ports.LockHolder] = {}
        self.runs: dict[tuple[str, str], ports.SyncRun] = {}
        self.logs: dict[tuple[str, str], list[SyncLogEntry]] = {}
        self.clinics: dict[tuple[str, str], ports.ClinicStatus] = {}
        self.results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.encounters: dict[tuple[str, str, str], ports.AggregateEncounter] = {}
        self.providers: dict[tuple[str, str], Provider] = {}  # (aco_id, npi): NPI identifies a provider
        self.rosters: dict[tuple[str, int], ports.ActiveRoster] = {}
        self.writes = 0
        self.encounter_writes = 0

    def _count(self, n: int = 1) -> None:
        self.writes += n

    # lock
    def get_lock(self, aco_id: str) -> ports.LockHolder | None:
        return self.locks.get(aco_id)

    def try_acquire_lock(
        self, holder: ports.LockHolder, *, replacing_execution_arn: str | None = None
    ) -> bool:
        with self._guard:
            current = self.locks.get(holder.aco_id)
            if current is not None and (
                replacing_execution_arn is None or current.execution_arn != replacing_execution_arn
            ):
                return False
            self.locks[holder.aco_id] = holder
            self._count()
            return True

    def move_lock(self, aco_id: str, sync_id: str, execution_arn: str) -> bool:
        with self._guard:
            current = self.locks.get(aco_id)
            if current is None or current.sync_id != sync_id:
                return False
            self.locks[aco_id] = replace(current, execution_arn=execution_arn)
            self._count()
            return True

    def release_lock(self, aco_id: str, sync_id: str) -> bool:
        with self._guard:
            current = self.locks.get(aco_id)
            if current is None or current.sync_id != sync_id:
                return False
            del self.locks[aco_id]
            self._count()
            return True

    # sync runs and log
    def put_sync_run(self, run: ports.SyncRun) -> None:
        self.runs[(run.aco_id, run.sync_id)] = replace(run)
        self._count()

    def get_sync_run(self, aco_id: str, sync_id: str) -> ports.SyncRun | None:
        run = self.runs.get((aco_id, sync_id))
        return replace(run) if run else None

    def update_sync_run(
        self, aco_id: str, sync_id: str, *, only_if_status: str | None = None, **changes: Any
    ) -> bool:
        with self._guard:
            run = self.runs.get((aco_id, sync_id))
            if run is None:
                raise KeyError(f"no sync run {aco_id}/{sync_id}")
            if only_if_status is not None and run.status != only_if_status:
                return False
            self.runs[(aco_id, sync_id)] = replace(run, **changes)
            self._count()
            return True

    def list_sync_runs(self, aco_id: str, *, limit: int = 20) -> list[ports.SyncRun]:
        runs = sorted((r for (a, _), r in self.runs.items() if a == aco_id), key=lambda r: r.sync_id)
        return [replace(r) for r in reversed(runs)][:limit]

    def append_log(self, aco_id: str, sync_id: str, entries: Sequence[SyncLogEntry]) -> None:
        self.logs.setdefault((aco_id, sync_id), []).extend(entries)
        self._count(len(entries))

    def list_log(self, aco_id: str, sync_id: str) -> list[SyncLogEntry]:
        return list(self.logs.get((aco_id, sync_id), []))

    # clinics
    def put_clinic_status(self, aco_id: str, status: ports.ClinicStatus) -> None:
        self.clinics[(aco_id, status.tin)] = status
        self._count()

    def list_clinic_statuses(self, aco_id: str) -> list[ports.ClinicStatus]:
        return sorted((s for (a, _), s in self.clinics.items() if a == aco_id), key=lambda s: s.tin)

    def get_clinic_status(self, aco_id: str, tin: str) -> ports.ClinicStatus | None:
        return self.clinics.get((aco_id, tin))

    # results
    def put_measure_results(self, aco_id: str, sync_id: str, results: Sequence[Mapping[str, Any]]) -> None:
        self.results[(aco_id, sync_id)] = [dict(r) for r in results]
        self._count(len(results))

    def list_measure_results(self, aco_id: str, sync_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.results.get((aco_id, sync_id), [])]

    # aggregate encounters
    def aggregate_encounters(self, aco_id: str, tin: str | None = None) -> list[ports.AggregateEncounter]:
        return [e for (a, t, _), e in self.encounters.items() if a == aco_id and (tin is None or t == tin)]

    def tins_with_encounters(self, aco_id: str) -> list[str]:
        return sorted({t for (a, t, _) in self.encounters if a == aco_id})

    def put_aggregate_encounters(self, aco_id: str, encounters: Sequence[ports.AggregateEncounter]) -> int:
        for e in encounters:
            self.encounters[(aco_id, e.tin, e.source_key)] = e
        self._count(len(encounters))
        self.encounter_writes += len(encounters)
        return len(encounters)

    def delete_aggregate_encounters(self, aco_id: str, tin: str, source_keys: Sequence[str]) -> int:
        deleted = 0
        for key in source_keys:
            if self.encounters.pop((aco_id, tin, key), None) is not None:
                deleted += 1
        self._count(deleted)
        self.encounter_writes += deleted
        return deleted

    # providers
    def list_providers(self, aco_id: str) -> list[Provider]:
        return [p for (a, _), p in sorted(self.providers.items()) if a == aco_id]

    def put_providers(self, aco_id: str, providers: Sequence[Provider]) -> int:
        for p in providers:
            self.providers[(aco_id, p.npi)] = p
        self._count(len(providers))
        return len(providers)

    def delete_providers(self, aco_id: str, providers: Sequence[Provider]) -> int:
        deleted = sum(1 for p in providers if self.providers.pop((aco_id, p.npi), None))
        self._count(deleted)
        return deleted

    # roster pointer
    def get_active_roster(self, aco_id: str, performance_year: int) -> ports.ActiveRoster | None:
        return self.rosters.get((aco_id, performance_year))

    def set_active_roster(self, roster: ports.ActiveRoster) -> None:
        self.rosters[(roster.aco_id, roster.performance_year)] = roster
        self._count()


@dataclass
class InMemoryWorkflowStarter:
    """Records started executions; ``statuses`` says what ``execution_status`` answers."""

    started: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        self.started.append((state_machine_arn, name, dict(payload)))
        self.statuses.setdefault(arn, "RUNNING")
        return arn

    def execution_status(self, execution_arn: str) -> str | None:
        return self.statuses.get(execution_arn)
