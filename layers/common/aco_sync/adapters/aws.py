"""Boto3 implementations of the ports (S3, DynamoDB single table, Step Functions, SQS).

DynamoDB item layout (one table, string keys ``PK``/``SK``; documented in docs/WORKFLOW.md):

    PK=ACO#<aco_id>             SK=LOCK                  the sync lock (sync_id, execution_arn)
    PK=ACO#<aco_id>             SK=SYNC#<sync_id>        one sync run (or skipped trigger)
    PK=ACO#<aco_id>             SK=CLINIC#<tin>          member clinic status
    PK=ACO#<aco_id>             SK=ROSTER#<py>           active roster pointer
    PK=LOG#<aco_id>#<sync_id>   SK=<ns>#<n>              sync log entries, in order
    PK=RESULTS#<aco_id>#<sync_id> SK=<measure>#<type>    measure instance results
    PK=ACO#<aco_id>             SK=ENCTIN#<tin>          marker: this member clinic has aggregate encounters
    PK=ENC#<aco_id>#<tin>       SK=B#<nnn>               a bucket of the clinic's aggregate encounters
    PK=PROV#<aco_id>            SK=<npi>                 providers of the aggregate clinic (by NPI)

Throttling and connection failures are raised as ``TransientStoreError`` so the state machines retry.
"""

from __future__ import annotations

import dataclasses
import json
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from aco_sync.adapters.ports import (
    ActiveRoster,
    AggregateEncounter,
    ClinicStatus,
    LockHolder,
    ObjectNotFoundError,
    SyncRun,
)
from aco_sync.domain.errors import TransientStoreError
from aco_sync.domain.records import Provider, SyncLogEntry

TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "TransactionConflictException",
        "RequestTimeout",
    }
)
_BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"})
ENCOUNTER_BUCKETS = 256  # per clinic: 1M encounters -> ~4k per item, well under DynamoDB's 400 KB


def encounter_bucket(source_key: str) -> str:
    """The item (``B#nnn``) of a clinic's encounter index that holds ``source_key`` (stable hash)."""
    return f"B#{zlib.crc32(source_key.encode()) % ENCOUNTER_BUCKETS:03d}"


@contextmanager
def transient_errors_as_domain_errors(what: str) -> Iterator[None]:
    """Turn throttling/connection failures into TransientStoreError (retried by the ASL)."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in TRANSIENT_ERROR_CODES:
            raise TransientStoreError(f"{what}: {code}") from exc
        raise
    except BotoCoreError as exc:
        raise TransientStoreError(f"{what}: {type(exc).__name__}") from exc


def shown_key(key: str) -> str:
    """A key as error messages name it: a file below a member clinic's TIN folder may be named after a
    patient until the clinic sync moves it to its content key (docs/SECURITY.md "PHI in names of things")."""
    parts = key.split("/", 3)
    return "/".join(parts[:3]) + "/<file>" if parts[0] == "members" and len(parts) == 4 else key


class S3ObjectStore:
    def __init__(self, bucket_name: str, client: Any | None = None) -> None:
        self.bucket_name = bucket_name
        self._s3 = client or boto3.client("s3", config=_BOTO_CONFIG)

    def get(self, key: str) -> bytes:
        try:
            with transient_errors_as_domain_errors(f"S3 get {shown_key(key)}"):
                response = self._s3.get_object(Bucket=self.bucket_name, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFoundError(key) from None
            raise
        body: bytes = response["Body"].read()
        return body

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        with transient_errors_as_domain_errors(f"S3 put {shown_key(key)}"):
            self._s3.put_object(Bucket=self.bucket_name, Key=key, Body=data, ContentType=content_type)

    def delete(self, key: str) -> None:
        with transient_errors_as_domain_errors(f"S3 delete {shown_key(key)}"):
            self._s3.delete_object(Bucket=self.bucket_name, Key=key)

    def purge(self, key: str) -> None:
        """Delete every version and delete marker of ``key`` (s3:ListBucketVersions on the key as prefix,
        s3:DeleteObjectVersion): a plain delete in the versioned bucket would keep the key's versions."""
        with transient_errors_as_domain_errors(f"S3 purge {shown_key(key)}"):
            versions = [
                version["VersionId"]
                for page in self._s3.get_paginator("list_object_versions").paginate(
                    Bucket=self.bucket_name, Prefix=key
                )
                for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                if version["Key"] == key
            ]
            for version_id in versions:
                self._s3.delete_object(Bucket=self.bucket_name, Key=key, VersionId=version_id)

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        with transient_errors_as_domain_errors(f"S3 list {prefix}"):
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket_name, Prefix=prefix
            ):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)


def _aco_pk(aco_id: str) -> str:
    return f"ACO#{aco_id}"


class DynamoDbSyncStateStore:
    """``retention_days``: sync-log and measure-result items carry ``expires_at`` (epoch seconds) that
    many days ahead, and the table's TTL deletes them then (template parameter SyncLogRetentionDays)."""

    def __init__(
        self, table_name: str, resource: Any | None = None, *, retention_days: int | None = None
    ) -> None:
        self.table_name = table_name
        self.retention_days = retention_days
        self._table = (resource or boto3.resource("dynamodb", config=_BOTO_CONFIG)).Table(table_name)

    def _expiry(self) -> dict[str, int]:
        if not self.retention_days:
            return {}
        return {"expires_at": int(time.time()) + self.retention_days * 86_400}

    # helpers
    def _put(self, item: dict[str, Any], **kwargs: Any) -> None:
        with transient_errors_as_domain_errors(f"DynamoDB put {item['PK']}"):
            self._table.put_item(Item=item, **kwargs)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with transient_errors_as_domain_errors(f"DynamoDB get {pk}"):
            item: dict[str, Any] | None = self._table.get_item(
                Key={"PK": pk, "SK": sk}, ConsistentRead=True
            ).get("Item")
        return item

    def _query(self, pk: str, sk_prefix: str = "", *, newest_first: bool = False, limit: int | None = None):  # type: ignore[no-untyped-def]
        condition = Key("PK").eq(pk)
        if sk_prefix:
            condition = condition & Key("SK").begins_with(sk_prefix)
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        returned = 0
        with transient_errors_as_domain_errors(f"DynamoDB query {pk}"):
            while True:
                page = self._table.query(**kwargs)
                for item in page.get("Items", []):
                    yield item
                    returned += 1
                    if limit is not None and returned >= limit:
                        return
                if "LastEvaluatedKey" not in page:
                    return
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _conditional(self, action: Callable[[], Any]) -> bool:
        try:
            with transient_errors_as_domain_errors("DynamoDB conditional write"):
                action()
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    # lock
    def get_lock(self, aco_id: str) -> LockHolder | None:
        item = self._get(_aco_pk(aco_id), "LOCK")
        if item is None:
            return None
        return LockHolder(
            aco_id=aco_id,
            sync_id=str(item["sync_id"]),
            execution_arn=str(item["execution_arn"]),
            acquired_at=str(item["acquired_at"]),
        )

    def try_acquire_lock(self, holder: LockHolder, *, replacing_execution_arn: str | None = None) -> bool:
        condition = Attr("PK").not_exists()
        if replacing_execution_arn is not None:
            condition = condition | Attr("execution_arn").eq(replacing_execution_arn)
        item = {"PK": _aco_pk(holder.aco_id), "SK": "LOCK", **dataclasses.asdict(holder)}
        return self._conditional(lambda: self._table.put_item(Item=item, ConditionExpression=condition))

    def move_lock(self, aco_id: str, sync_id: str, execution_arn: str) -> bool:
        return self._conditional(
            lambda: self._table.update_item(
                Key={"PK": _aco_pk(aco_id), "SK": "LOCK"},
                UpdateExpression="SET execution_arn = :arn",
                ConditionExpression=Attr("sync_id").eq(sync_id),
                ExpressionAttributeValues={":arn": execution_arn},
            )
        )

    def release_lock(self, aco_id: str, sync_id: str) -> bool:
        return self._conditional(
            lambda: self._table.delete_item(
                Key={"PK": _aco_pk(aco_id), "SK": "LOCK"}, ConditionExpression=Attr("sync_id").eq(sync_id)
            )
        )

    # sync runs
    @staticmethod
    def _run_item(run: SyncRun, version: int) -> dict[str, Any]:
        return {
            "PK": _aco_pk(run.aco_id),
            "SK": f"SYNC#{run.sync_id}",
            "status": run.status,
            "version": version,
            "data": json.dumps(dataclasses.asdict(run)),
        }

    def put_sync_run(self, run: SyncRun) -> None:
        self._put(self._run_item(run, 0))

    def get_sync_run(self, aco_id: str, sync_id: str) -> SyncRun | None:
        item = self._get(_aco_pk(aco_id), f"SYNC#{sync_id}")
        return SyncRun(**json.loads(item["data"])) if item else None

    def update_sync_run(
        self, aco_id: str, sync_id: str, *, only_if_status: str | None = None, **changes: Any
    ) -> bool:
        """Optimistic locking on ``version``: concurrent steps never overwrite each other's changes."""
        for _attempt in range(10):
            item = self._get(_aco_pk(aco_id), f"SYNC#{sync_id}")
            if item is None:
                raise KeyError(f"no sync run {aco_id}/{sync_id}")
            run = SyncRun(**json.loads(item["data"]))
            if only_if_status is not None and run.status != only_if_status:
                return False
            version = int(item.get("version", 0))
            updated = self._run_item(dataclasses.replace(run, **changes), version + 1)
            condition = Attr("version").eq(version) if "version" in item else Attr("version").not_exists()
            if self._conditional(
                lambda: self._table.put_item(Item=updated, ConditionExpression=condition)  # noqa: B023
            ):
                return True
        raise TransientStoreError(f"sync run {aco_id}/{sync_id}: too many concurrent updates")

    def list_sync_runs(self, aco_id: str, *, limit: int = 20) -> list[SyncRun]:
        items = self._query(_aco_pk(aco_id), "SYNC#", newest_first=True, limit=limit)
        return [SyncRun(**json.loads(item["data"])) for item in items]

    def append_log(self, aco_id: str, sync_id: str, entries: Sequence[SyncLogEntry]) -> None:
        stamp = time.time_ns()
        expiry = self._expiry()
        with transient_errors_as_domain_errors("DynamoDB log"), self._table.batch_writer() as batch:
            for n, entry in enumerate(entries):
                batch.put_item(
                    Item={
                        "PK": f"LOG#{aco_id}#{sync_id}",
                        "SK": f"{stamp:020d}#{n:06d}",
                        "data": json.dumps(dataclasses.asdict(entry)),
                        **expiry,
                    }
                )

    def list_log(self, aco_id: str, sync_id: str) -> list[SyncLogEntry]:
        return [SyncLogEntry(**json.loads(item["data"])) for item in self._query(f"LOG#{aco_id}#{sync_id}")]

    # clinics
    def put_clinic_status(self, aco_id: str, status: ClinicStatus) -> None:
        self._put(
            {
                "PK": _aco_pk(aco_id),
                "SK": f"CLINIC#{status.tin}",
                "data": json.dumps(dataclasses.asdict(status)),
            }
        )

    def list_clinic_statuses(self, aco_id: str) -> list[ClinicStatus]:
        return [ClinicStatus(**json.loads(item["data"])) for item in self._query(_aco_pk(aco_id), "CLINIC#")]

    def get_clinic_status(self, aco_id: str, tin: str) -> ClinicStatus | None:
        item = self._get(_aco_pk(aco_id), f"CLINIC#{tin}")
        return ClinicStatus(**json.loads(item["data"])) if item else None

    # results
    def put_measure_results(self, aco_id: str, sync_id: str, results: Sequence[Mapping[str, Any]]) -> None:
        expiry = self._expiry()
        with transient_errors_as_domain_errors("DynamoDB results"), self._table.batch_writer() as batch:
            for result in results:
                batch.put_item(
                    Item={
                        "PK": f"RESULTS#{aco_id}#{sync_id}",
                        "SK": f"{result['measure_id']}#{result['collection_type']}",
                        "data": json.dumps(result, default=str),
                        **expiry,
                    }
                )

    def list_measure_results(self, aco_id: str, sync_id: str) -> list[dict[str, Any]]:
        return [json.loads(item["data"]) for item in self._query(f"RESULTS#{aco_id}#{sync_id}")]

    # aggregate encounters: one partition per member clinic, its entries spread over at most
    # ENCOUNTER_BUCKETS items (zlib-compressed JSON maps source_key -> [hash, file, measure, type]),
    # so a clinic's index is read with a few item reads and a change rewrites only the buckets it
    # touches. One ENCTIN#<tin> marker per clinic with encounters lets cleanup find departed clinics.
    def _encounter_tins(self, aco_id: str) -> list[str]:
        return [str(item["SK"]).removeprefix("ENCTIN#") for item in self._query(_aco_pk(aco_id), "ENCTIN#")]

    def _buckets(self, aco_id: str, tin: str) -> dict[str, dict[str, list[str]]]:
        return {
            str(item["SK"]): json.loads(zlib.decompress(bytes(item["d"])))
            for item in self._query(f"ENC#{aco_id}#{tin}", "B#")
        }

    def _write_buckets(self, aco_id: str, tin: str, buckets: Mapping[str, dict[str, list[str]]]) -> None:
        with (
            transient_errors_as_domain_errors("DynamoDB encounters"),
            self._table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch,
        ):
            for bucket, entries in buckets.items():
                key = {"PK": f"ENC#{aco_id}#{tin}", "SK": bucket}
                if entries:
                    data = zlib.compress(json.dumps(entries, separators=(",", ":")).encode(), 6)
                    batch.put_item(Item={**key, "n": len(entries), "d": data})
                else:
                    batch.delete_item(Key=key)

    def tins_with_encounters(self, aco_id: str) -> list[str]:
        return sorted(self._encounter_tins(aco_id))

    def aggregate_encounters(self, aco_id: str, tin: str | None = None) -> list[AggregateEncounter]:
        tins = [tin] if tin else self._encounter_tins(aco_id)
        return [
            AggregateEncounter(
                tin=clinic,
                source_key=source_key,
                content_hash=values[0],
                source_file=values[1],
                measure_id=values[2],
                collection_type=values[3],
            )
            for clinic in tins
            for entries in self._buckets(aco_id, clinic).values()
            for source_key, values in entries.items()
        ]

    def put_aggregate_encounters(self, aco_id: str, encounters: Sequence[AggregateEncounter]) -> int:
        for tin in sorted({e.tin for e in encounters}):
            buckets = self._buckets(aco_id, tin)
            touched: dict[str, dict[str, list[str]]] = {}
            for e in encounters:
                if e.tin == tin:
                    bucket = encounter_bucket(e.source_key)
                    entries = touched.setdefault(bucket, buckets.get(bucket, {}))
                    entries[e.source_key] = [e.content_hash, e.source_file, e.measure_id, e.collection_type]
            self._put({"PK": _aco_pk(aco_id), "SK": f"ENCTIN#{tin}"})
            self._write_buckets(aco_id, tin, touched)
        return len(encounters)

    def delete_aggregate_encounters(self, aco_id: str, tin: str, source_keys: Sequence[str]) -> int:
        if not source_keys:
            return 0
        buckets = self._buckets(aco_id, tin)
        touched: dict[str, dict[str, list[str]]] = {}
        deleted = 0
        for source_key in source_keys:
            bucket = encounter_bucket(source_key)
            entries = touched.setdefault(bucket, buckets.get(bucket, {}))
            if entries.pop(source_key, None) is not None:
                deleted += 1
        self._write_buckets(aco_id, tin, touched)
        if not any(entries for name, entries in buckets.items() if name not in touched) and not any(
            touched.values()
        ):
            with transient_errors_as_domain_errors("DynamoDB encounters"):
                self._table.delete_item(Key={"PK": _aco_pk(aco_id), "SK": f"ENCTIN#{tin}"})
        return deleted

    # providers
    def list_providers(self, aco_id: str) -> list[Provider]:
        return [
            Provider(
                tin=str(i["tin"]), npi=str(i["npi"]), name=str(i.get("name", "")), active=bool(i["active"])
            )
            for i in self._query(f"PROV#{aco_id}")
        ]

    def put_providers(self, aco_id: str, providers: Sequence[Provider]) -> int:
        with (
            transient_errors_as_domain_errors("DynamoDB providers"),
            self._table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch,
        ):
            for p in providers:
                batch.put_item(Item={"PK": f"PROV#{aco_id}", "SK": p.npi, **dataclasses.asdict(p)})
        return len(providers)

    def delete_providers(self, aco_id: str, providers: Sequence[Provider]) -> int:
        with (
            transient_errors_as_domain_errors("DynamoDB providers"),
            self._table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch,
        ):
            for p in providers:
                batch.delete_item(Key={"PK": f"PROV#{aco_id}", "SK": p.npi})
        return len(providers)

    # roster pointer
    def get_active_roster(self, aco_id: str, performance_year: int) -> ActiveRoster | None:
        item = self._get(_aco_pk(aco_id), f"ROSTER#{performance_year}")
        return ActiveRoster(**json.loads(item["data"])) if item else None

    def set_active_roster(self, roster: ActiveRoster) -> None:
        self._put(
            {
                "PK": _aco_pk(roster.aco_id),
                "SK": f"ROSTER#{roster.performance_year}",
                "data": json.dumps(dataclasses.asdict(roster)),
            }
        )


class StepFunctionsWorkflowStarter:
    def __init__(self, client: Any | None = None) -> None:
        self._sfn = client or boto3.client("stepfunctions", config=_BOTO_CONFIG)

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        with transient_errors_as_domain_errors("Step Functions start"):
            response = self._sfn.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
            )
        return str(response["executionArn"])

    def execution_status(self, execution_arn: str) -> str | None:
        try:
            with transient_errors_as_domain_errors("Step Functions describe"):
                response = self._sfn.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
                return None
            raise
        return str(response["status"])
