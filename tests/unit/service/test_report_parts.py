"""The patient-level reports merged from the engine partitions' report parts
(aco_sync.reports.patient_parts) are byte for byte those built the old way, by build_reports over every
outcome of the sync with the record sources read from the clinics' snapshots: on the same sync, with
1 and 16 partitions, MCQM, probable duplicates (and a reviewer's decisions) and QRDA-I records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_engine_partitions import _decisions, _stores
from test_pipeline import run_sync

from aco_sync.adapters.environment import Stores
from aco_sync.domain.records import CollectionType, Gender, PatientOutcome, Performance
from aco_sync.reports.csv_exports import csv_lines
from aco_sync.reports.model import RecordSource, ReportInputs
from aco_sync.reports.patient_parts import PatientReportPart, build_part, merge_parts
from aco_sync.reports.qrda3 import ecqm_sex_counts
from aco_sync.service import aggregate_stats
from aco_sync.service.common import (
    CLINIC_STATS_FILE,
    MCQM_RESULT_FILE,
    MEMBERS_RESULT_FILE,
    load_aco_settings,
    sync_artifact_key,
)
from aco_sync_local.demo_data import write_demo_aco
from support.bench_modules import bench_synthetic

GENERATED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class _FixedClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return GENERATED_AT


@pytest.fixture(scope="module")
def synthetic_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    synthetic = bench_synthetic()
    folder = tmp_path_factory.mktemp("synthetic")
    synthetic.write_bucket_folder(synthetic.generate_aco(records=3_000, tins=30, seed=29), folder)
    return folder


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_aco(folder)
    return folder


def _results(stores: Stores, aco_id: str, sync_id: str) -> dict[str, bytes]:
    prefix = f"results/{aco_id}/{sync_id}/"
    files = {key.removeprefix(prefix): stores.objects.get(key) for key in stores.objects.list_keys(prefix)}
    files.pop(CLINIC_STATS_FILE, None)  # the clinic stats job's copy (compared as the artifact below)
    files["<artifact clinic_stats.json>"] = stores.objects.get(
        sync_artifact_key(aco_id, sync_id, CLINIC_STATS_FILE)
    )
    return files


def _without_report_parts(stores: Stores, aco_id: str, sync_id: str, *, back: bool = False) -> None:
    """The members' and MCQM results as a sync without report parts wrote them: the old way then
    (``back``: with them again)."""
    for name in (MEMBERS_RESULT_FILE, MCQM_RESULT_FILE):
        key = sync_artifact_key(aco_id, sync_id, name)
        document = json.loads(stores.objects.get(key))
        parts = [k.replace("-outcomes.json", "-report.json") for k in document["outcome_parts"]]
        assert len(parts) >= 1 and document["report_parts"] == (parts if not back else [])
        document["report_parts"] = [] if not back else parts
        stores.objects.put(key, json.dumps(document).encode())


def _old_and_new(
    monkeypatch: pytest.MonkeyPatch, folder: Path, decisions: bytes | None, per_partition: int | None
) -> tuple[dict[str, bytes], dict[str, bytes], Stores, str, str]:
    stores, aco_id = _stores(folder, decisions, per_partition)
    sync_id = run_sync(stores, aco_id)["sync_id"]
    monkeypatch.setattr(aggregate_stats, "datetime", _FixedClock)
    merged = aggregate_stats.merged_report_parts(stores, aco_id, sync_id)
    assert merged is not None  # the sync's reports were merged from its partitions' parts
    aggregate_stats.update_aggregate_stats(stores, aco_id=aco_id, sync_id=sync_id)
    new = _results(stores, aco_id, sync_id)
    _without_report_parts(stores, aco_id, sync_id)
    assert aggregate_stats.merged_report_parts(stores, aco_id, sync_id) is None
    aggregate_stats.update_aggregate_stats(stores, aco_id=aco_id, sync_id=sync_id)
    return new, _results(stores, aco_id, sync_id), stores, aco_id, sync_id


def _assert_same(new: dict[str, bytes], old: dict[str, bytes]) -> None:
    assert sorted(new) == sorted(old)
    for name, body in old.items():
        assert new[name] == body, name


@pytest.mark.parametrize("per_partition", [None, 1], ids=["1 partition", "16 partitions"])
def test_merged_parts_give_the_reports_of_every_outcome_with_mcqm_and_duplicates(
    monkeypatch: pytest.MonkeyPatch, synthetic_folder: Path, per_partition: int | None
) -> None:
    new, old, stores, aco_id, sync_id = _old_and_new(
        monkeypatch, synthetic_folder, _decisions(synthetic_folder), per_partition
    )
    _assert_same(new, old)
    assert "probable-duplicates.csv" in new and len(new["probable-duplicates.csv"].splitlines()) > 2
    assert sum(1 for name in new if name.startswith("gaps-")) > 5
    assert b",MCQM," in new["patients.csv"] and b",CQM," in new["patients.csv"]
    members = json.loads(stores.objects.get(sync_artifact_key(aco_id, sync_id, MEMBERS_RESULT_FILE)))
    assert len(members["outcome_parts"]) == (16 if per_partition else 1)


@pytest.mark.parametrize("per_partition", [None, 40], ids=["1 partition", "several partitions"])
def test_merged_parts_give_the_reports_of_every_outcome_with_qrda_i_records(
    monkeypatch: pytest.MonkeyPatch, demo_folder: Path, per_partition: int | None
) -> None:
    new, old, stores, aco_id, sync_id = _old_and_new(monkeypatch, demo_folder, None, per_partition)
    _assert_same(new, old)
    assert b",eCQM," in new["patients.csv"] and b".xml" in new["patients.csv"]  # QRDA-I documents
    # the QRDA Category III sex counts: the parts' sums are those of the eCQM outcomes
    _without_report_parts(stores, aco_id, sync_id, back=True)
    merged = aggregate_stats.merged_report_parts(stores, aco_id, sync_id)
    assert merged is not None
    outcomes, stats = aggregate_stats.load_sync_results(stores, aco_id, sync_id)
    settings = load_aco_settings(stores.objects, aco_id)
    expected = ecqm_sex_counts(ReportInputs(settings, sync_id, GENERATED_AT, stats, outcomes=outcomes))
    given = ecqm_sex_counts(
        ReportInputs(settings, sync_id, GENERATED_AT, stats, patient_level=merged.parts.reports)
    )
    assert given == expected and expected[0] and any(expected[1].values())


def _outcome(master_id: str, measure: str, outcome: Performance, *keys: str) -> PatientOutcome:
    return PatientOutcome(
        master_pat_id=master_id,
        measure_id=measure,
        collection_type=CollectionType.CQM,
        outcome=outcome,
        performance_date=None,
        source_tins=tuple(sorted({key.split(":")[0] for key in keys})),
        source_keys=keys,
        gender=Gender.FEMALE,
    )


def test_parts_with_keys_that_do_not_sort_as_text_are_merged_by_their_fields() -> None:
    """Measure ids "M1" and "M1 b" (a space sorts before the comma): the merge then orders by fields."""
    sources = {
        "T1:template:e1:M1:CQM": RecordSource("T1", "a.csv", 2, "e1", "NOT_MET", None),
        "T1:template:e2:M1 b:CQM": RecordSource("T1", "a.csv", 3, "e2", "NOT_MET", None),
    }
    first = [_outcome("MP1", "M1 b", Performance.NOT_MET, "T1:template:e2:M1 b:CQM")]
    second = [_outcome("MP1", "M1", Performance.NOT_MET, "T1:template:e1:M1:CQM")]
    parts = [build_part(0, first, sources, []), build_part(1, second, sources, [])]
    assert not parts[0].ordered_by_line
    parts = [PatientReportPart.from_json(p.to_json()) for p in parts]  # as Update Aggregate Stats reads
    merged = merge_parts(parts, [])
    lines = merged.reports.files["patients.csv"].decode().splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == ["M1", "M1 b"]  # ("M1",) < ("M1 b",)
    text_order = sorted(csv_lines([["MP1", "M1", "CQM"], ["MP1", "M1 b", "CQM"]]))
    assert text_order == ["MP1,M1 b,CQM", "MP1,M1,CQM"]  # what sorting the lines as text would give
    assert merged.outcomes == 2


def test_an_mcqm_part_counts_the_member_patients_of_its_partition_once() -> None:
    sources = {"T1:template:e1:M1:CQM": RecordSource("T1", "a.csv", 2, "e1", "MET", None)}
    member = [_outcome("MP1", "M1", Performance.MET, "T1:template:e1:M1:CQM")]
    mcqm = [
        PatientOutcome("MP1", "M1", CollectionType.MCQM, Performance.MET, None, ("T1",), (), None),
        PatientOutcome("MP2", "M1", CollectionType.MCQM, Performance.MET, None, ("T2",), (), None),
    ]
    member_part = build_part(3, member, sources, [])
    mcqm_part = build_part(3, mcqm, sources, [], members=({"MP1"}, {"T1": {"MP1"}}))
    merged = merge_parts([member_part, mcqm_part], [])
    assert merged.clinic.patients == 2 and merged.reports.aco_patients == 2
    assert merged.clinic.tin_patients == {"T1": 1, "T2": 1}
    assert merged.outcomes == 3
