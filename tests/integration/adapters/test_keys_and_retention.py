"""Where the pseudonym key comes from (Secrets Manager on AWS, a 0600 file locally) and the TTL of the
sync-log and measure-result items."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from aco_sync.adapters import keys
from aco_sync.adapters.aws import DynamoDbSyncStateStore
from aco_sync.adapters.environment import RuntimeSettings, build_stores
from aco_sync.adapters.keys import (
    FilePseudonymKey,
    PseudonymKeyUnavailableError,
    SecretsManagerPseudonymKey,
    key_source_from_env,
)
from aco_sync.domain.records import SyncLogEntry

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.clear_cache()
    yield
    keys.clear_cache()


def test_the_local_key_file_is_created_once_with_mode_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / ".aco-sync" / "pseudonym.key"
    first = FilePseudonymKey(path).pseudonym_key()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(path.read_text().strip()) == 64  # 256 random bits as hex
    keys.clear_cache()  # a new process: the same file gives the same key
    assert FilePseudonymKey(path).pseudonym_key() == first
    other = FilePseudonymKey(tmp_path / "other" / "pseudonym.key").pseudonym_key()
    assert other != first  # another deployment (state folder), another key


def test_a_world_readable_key_file_is_made_private_again(tmp_path: Path) -> None:
    path = tmp_path / "pseudonym.key"
    path.write_text("x" * 64)
    path.chmod(0o644)
    FilePseudonymKey(path).pseudonym_key()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_secret_is_read_once_per_container() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        client.create_secret(Name="key", SecretString="k" * 64)
        source = SecretsManagerPseudonymKey("key", client=client)
        first = source.pseudonym_key()
        client.put_secret_value(SecretId="key", SecretString="z" * 64)
        assert source.pseudonym_key() == first  # cached: a rotated secret reaches new containers only
        assert first.secret == b"k" * 64


def test_a_missing_secret_or_no_configuration_fails_loudly_without_an_unkeyed_fallback() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        with pytest.raises(PseudonymKeyUnavailableError, match="PseudonymKeySecret"):
            SecretsManagerPseudonymKey("absent", client=client).pseudonym_key()
    with pytest.raises(PseudonymKeyUnavailableError, match="No pseudonym key configured"):
        key_source_from_env({}).pseudonym_key()


def test_the_key_file_wins_over_the_secret(tmp_path: Path) -> None:
    source = key_source_from_env({keys.SECRET_ENV: "arn:secret", keys.KEY_FILE_ENV: str(tmp_path / "k")})
    assert isinstance(source, FilePseudonymKey)
    assert isinstance(key_source_from_env({keys.SECRET_ENV: "arn:secret"}), SecretsManagerPseudonymKey)


def test_sync_log_and_result_items_expire_after_the_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "state")
    monkeypatch.setenv("BUCKET_NAME", "data")
    monkeypatch.setenv("SYNC_LOG_RETENTION_DAYS", "400")
    assert RuntimeSettings.from_env().sync_log_retention_days == 400
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="state",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
        )
        store = build_stores().state
        assert isinstance(store, DynamoDbSyncStateStore) and store.retention_days == 400
        store.append_log("A1", "s1", [SyncLogEntry(kind="k", level="info", message="m")])
        store.put_measure_results("A1", "s1", [{"measure_id": "M001", "collection_type": "CQM"}])
        table = boto3.resource("dynamodb", region_name=REGION).Table("state")
        items = table.scan()["Items"]
        assert {item["PK"].split("#")[0] for item in items} == {"LOG", "RESULTS"}
        expected = time.time() + 400 * 86_400
        assert all(abs(int(item["expires_at"]) - expected) < 120 for item in items)
