"""MASTER_PAT_IDs are keyed per deployment (issue 12): two local syncs of one state folder (one local
deployment, one key file) give every patient the same id; another state folder (another deployment)
gives other ids; no id is the old unkeyed hash of the patient's data. The local state folder and
everything a sync writes into it (patients.csv, the sync log in latest-sync.json, the key) is private."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import stat
from datetime import date
from pathlib import Path

import pytest

from aco_sync.domain.dedup import patient_key
from aco_sync.ingest.tabular import parse_birth_date
from aco_sync_local.runner import PSEUDONYM_KEY_FILE, run_local_sync

pytestmark = pytest.mark.slow

SAMPLE_ACO = Path(__file__).resolve().parents[1] / "integration" / "local_runner" / "fixtures" / "sample_aco"


def _ids(state: Path) -> list[str]:
    [patients] = list(state.rglob("patients.csv"))
    return sorted({row["master_pat_id"] for row in csv.DictReader(io.StringIO(patients.read_text()))})


def _unkeyed_ids(folder: Path) -> set[str]:
    """The ids the previous releases computed: MP + unkeyed BLAKE2b-64 of the normalised key."""
    ids = set()
    for path in folder.rglob("templates/*.csv"):
        for row in csv.DictReader(io.StringIO(path.read_text())):
            born: date = parse_birth_date(row["birth_date"])
            first, last, birth, gender = patient_key(row["first_name"], row["last_name"], born, row["gender"])
            material = f"{first}\x1f{last}\x1f{birth.isoformat()}\x1f{gender}".encode()
            ids.add("MP" + hashlib.blake2b(material, digest_size=8).hexdigest().upper())
    return ids


def test_ids_are_stable_across_syncs_of_one_deployment_and_differ_between_deployments(tmp_path: Path) -> None:
    folder = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, folder)
    state, other_state = tmp_path / "state", tmp_path / "other-deployment"

    first = run_local_sync(folder, state_dir=state, timeout=120)
    assert first.status["sync"]["status"] == "Sync Complete", first.status
    ids = _ids(state)
    assert ids
    key_file = state / PSEUDONYM_KEY_FILE
    key = key_file.read_text()

    shutil.rmtree(state / "bucket" / "results")  # the first sync's outputs (one patients.csv left)
    run_local_sync(folder, state_dir=state, timeout=120)
    assert _ids(state) == ids  # same deployment, same patients, same ids
    assert key_file.read_text() == key

    run_local_sync(folder, state_dir=other_state, timeout=120)
    assert set(_ids(other_state)).isdisjoint(ids)  # another deployment's key: other ids

    unkeyed = _unkeyed_ids(folder)
    assert len(unkeyed) >= len(ids)
    assert unkeyed.isdisjoint(ids)  # a name list no longer re-identifies anyone

    # the state folder is private: 0700 folders, 0600 files (PHI in patients.csv and the sync log)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for path in state.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
