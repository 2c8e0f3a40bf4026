"""The patient-level reports merged from the engine partitions' report parts
(aco_sync.reports.patient_parts) are byte for byte those built the old way, by build_reports over every
outcome of the sync with the record sources read from the clinics' snapshots: on the same sync, with
1 and 16 partitions, MCQM, probable duplicates (and a reviewer's decisions) and QRDA-I records."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_partitions import _decisions, _stores
from test_pipeline import run_sync

from aco_sync.adapters.environment import Stores
from aco_sync.domain.outcome_columns import OutcomeColumns
from aco_sync.domain.record_codec import RecordBatch
from aco_sync.domain.records import (
    CollectionType,
    Gender,
    MeasureStats,
    PatientOutcome,
    Performance,
    PerformanceRecord,
)
from aco_sync.reports.csv_exports import (
    csv_lines,
    deciding_sources,
    duplicate_cells,
    gap_rows_by_tin,
    inverse_of_instances,
    patient_key,
    patient_rows,
)
from aco_sync.reports.model import RecordSource, ReportInputs
from aco_sync.reports.patient_parts import PatientReportPart, build_part, merge_parts
from aco_sync.reports.qrda3 import ecqm_sex_counts
from aco_sync.reports.record_sources import BatchSources, record_sources
from aco_sync.scoring.clinic_stats import clinic_counts
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


# --- the part built column-wise from an engine partition's batch is the old per-outcome rows' -----------

_TINS = ("T1", "T2", "T10")
_FILES = ("a.csv", "b,c.csv", 'q"uote.csv', "line\r\nbreak.csv", "")
_DAYS = (None, date(2025, 1, 2), date(2025, 3, 4), date(2024, 12, 31))


@st.composite
def _records_and_outcomes(draw: st.DrawFn) -> tuple[list[PerformanceRecord], list[PatientOutcome]]:
    """Records of a few TINs, files, rows and dates (ties in every sort field), and outcomes over
    their keys: one record, several, none, and keys of no record (not in the batch)."""
    count = draw(st.integers(0, 30))
    records = [
        PerformanceRecord(
            tin=draw(st.sampled_from(_TINS)),
            source_key=f"T1:template:e{i}:M1:CQM" if draw(st.booleans()) else f"T2:qrda:doc{i}.xml:M1",
            measure_id="M1",
            collection_type=CollectionType.CQM,
            performance=draw(st.sampled_from(list(Performance))),
            performance_date=draw(st.sampled_from(_DAYS)),
            first_name="F",
            last_name="L",
            birth_date=date(1950, 1, 1),
            gender=Gender.FEMALE,
            source_file=draw(st.sampled_from(_FILES)),
            source_line=draw(st.sampled_from((None, 1, 2, 30))),
        )
        for i in range(count)
    ]
    keys = [r.source_key for r in records] + ["T9:template:gone:M1:CQM"]
    outcomes = []
    for patient in range(draw(st.integers(0, 12))):
        for measure, instance in draw(
            st.sets(
                st.sampled_from(
                    [("M1", CollectionType.CQM), ("M2", CollectionType.MCQM), ("M1 b", CollectionType.ECQM)]
                )
            )
        ):
            behind = tuple(sorted(draw(st.sets(st.sampled_from(keys), max_size=4))))
            outcomes.append(
                PatientOutcome(
                    master_pat_id=draw(st.sampled_from(("MP1", "MP2", "MP10", "MP 3"))) + f"-{patient}",
                    measure_id=measure,
                    collection_type=instance,
                    outcome=draw(st.sampled_from(list(Performance))),
                    performance_date=draw(st.sampled_from(_DAYS)),
                    source_tins=tuple(sorted(draw(st.sets(st.sampled_from(_TINS), max_size=3)))),
                    source_keys=behind,
                    gender=draw(st.sampled_from((Gender.FEMALE, Gender.MALE, None))),
                )
            )
    return records, draw(st.permutations(outcomes))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records_and_outcomes(), st.booleans())
def test_a_part_from_the_outcome_columns_and_the_batch_has_the_rows_of_each_outcome_and_its_sources(
    drawn: tuple[list[PerformanceRecord], list[PatientOutcome]], inverse: bool
) -> None:
    records, outcomes = drawn
    stats = [MeasureStats("M1", CollectionType.CQM, 0, 0, 0, 0, 0, None, None, inverse=inverse)]
    batch = RecordBatch.from_records(records)
    sources = record_sources(batch, (r.source_key for r in records))
    duplicated = {o.master_pat_id for o in outcomes[:2]}
    part = build_part(
        1, OutcomeColumns.from_outcomes(outcomes), BatchSources(batch), stats, duplicate_patients=duplicated
    )

    ordered = sorted(outcomes, key=patient_key)
    deciding = deciding_sources(ordered, sources)
    assert part.patients == csv_lines(patient_rows(ordered, deciding))
    by_tin = gap_rows_by_tin(ordered, deciding, inverse_of_instances(stats))
    assert part.gaps == {tin: csv_lines(rows) for tin, rows in by_tin.items()}
    assert part.duplicates == duplicate_cells(duplicated, ordered, sources)
    assert part.clinic == clinic_counts(ordered)
    assert part == build_part(1, outcomes, sources, stats, duplicate_patients=duplicated)  # the mapping path


def test_csv_lines_keep_a_line_end_inside_a_field_in_its_row() -> None:
    rows = [["a", "x\r\ny", None], ["b", 2, ""]]
    assert csv_lines(rows) == ['a,"x\r\ny",', "b,2,"]
    assert csv_lines([]) == [] and csv_lines([[None]]) == ['""']
