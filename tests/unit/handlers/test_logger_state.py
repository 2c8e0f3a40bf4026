"""Log keys appended during one invocation do not leak into later ones (``clear_state=True``): a warm
Lambda, or the local runner where every handler shares the service's logger, would otherwise label
Finalize's lines with the ``tin`` of an earlier clinic."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import pytest

from support.handlers import FUNCTIONS_DIR, load_handler
from support.stores import memory_stores, write_config

FOLDERS = sorted(p.name for p in FUNCTIONS_DIR.iterdir() if (p / "app.py").is_file())


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_invocation_starts_without_the_keys_of_the_previous_one(
    folder: str, lambda_context: Any
) -> None:
    module = load_handler(folder)
    module.logger.append_keys(tin="999999999", leaked="from an earlier invocation")
    with suppress(Exception):  # an empty event is refused; the keys are reset before the handler runs
        module.lambda_handler({}, lambda_context)
    keys = module.logger.get_current_keys()
    assert "leaked" not in keys and "tin" not in keys
    assert keys.get("function_request_id") == lambda_context.aws_request_id


def test_two_invocations_of_one_handler_do_not_share_appended_keys(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    module = load_handler("release_aco_lock")
    seen: list[dict[str, Any]] = []

    def release(stores: Any, *, aco_id: str, sync_id: str) -> dict[str, Any]:
        seen.append(dict(module.logger.get_current_keys()))
        module.logger.append_keys(tin="111111111")  # a key this invocation alone appended
        return {"aco_id": aco_id, "sync_id": sync_id, "released": True}

    monkeypatch.setattr(module, "container_stores", memory_stores)
    monkeypatch.setattr(module, "release_aco_lock", release)
    module.lambda_handler({"aco_id": "A1", "sync_id": "s1"}, lambda_context)
    module.lambda_handler({"aco_id": "A2", "sync_id": "s2"}, lambda_context)

    assert seen[0]["aco_id"] == "A1" and "tin" not in seen[0]
    assert seen[1]["aco_id"] == "A2" and seen[1]["sync_id"] == "s2" and "tin" not in seen[1]


def test_finalize_does_not_carry_the_tin_of_an_earlier_clinic(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    stores = memory_stores()
    write_config(stores)
    failure = load_handler("record_clinic_failure")
    monkeypatch.setattr(failure, "container_stores", lambda: stores)
    failure.lambda_handler(
        {"aco_id": "A1", "sync_id": "s1", "tin": "111111111", "error": "InvalidInputError", "cause": "x"},
        lambda_context,
    )
    assert failure.logger.get_current_keys()["tin"] == "111111111"

    finalize = load_handler("finalize_member_sync")
    seen: list[dict[str, Any]] = []

    def fake_finalize(stores: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(dict(finalize.logger.get_current_keys()))
        return {
            "mcqm_needed": False,
            "synced_tins": 1,
            "failed_tins": [],
            "failed_tin_count": 0,
            "records": 0,
            "measure_instances": 0,
            "partitions": 1,
            "partition_manifest_key": "store/A1/syncs/s1/partitions.json",
        }

    monkeypatch.setattr(finalize, "container_stores", lambda: stores)
    monkeypatch.setattr(finalize, "finalize_member_sync", fake_finalize)
    finalize.lambda_handler({"aco_id": "A1", "sync_id": "s1", "clinic_results": []}, lambda_context)
    assert seen and "tin" not in seen[0] and seen[0]["sync_id"] == "s1"
