"""Outputs a quality team acts on: the deciding record in patients.csv, gaps-<TIN>.csv, the probable
duplicates file and the reviewer's decisions, targets ranked by points per patient, the previous sync."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from aco_sync.adapters.memory import InMemoryObjectStore
from aco_sync.domain.dedup import master_patient_id, merge_same_person
from aco_sync.domain.engine import aggregate_members
from aco_sync.domain.record_codec import RecordBatch
from aco_sync.domain.records import CollectionType, PatientOutcome, Performance
from aco_sync.ingest.duplicate_reviews import decisions_key, read_duplicate_decisions
from aco_sync.reports import build_reports, score_sync
from aco_sync.reports.csv_exports import gaps_csvs, patients_csv, probable_duplicates_csv
from aco_sync.reports.model import RecordSource
from aco_sync.reports.record_sources import encounter_id_of, record_sources
from aco_sync.reports.targets import ranked_targets
from aco_sync.service.aggregate_stats import previous_sync_score
from aco_sync.service.duplicate_reviews import apply_duplicate_decisions
from pseudonym_keys import TEST_KEY
from unit.domain.engine_factories import CATALOG, TIN_A, TIN_B, plan_for, record
from unit.reports.report_samples import sample_inputs


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def _outcome(outcome: Performance, keys: tuple[str, ...], day: date | None = None) -> PatientOutcome:
    return PatientOutcome(
        master_pat_id="MP00000000000000AA",
        measure_id="M236",
        collection_type=CollectionType.CQM,
        outcome=outcome,
        performance_date=day,
        source_tins=tuple(sorted({k.split(":")[0] for k in keys})),
        source_keys=keys,
    )


SOURCES = {
    f"{TIN_A}:template:ENC-1:M236:CQM": RecordSource(
        TIN_A, "templates/a.csv", 7, "ENC-1", "NOT_MET", "2025-02-01"
    ),
    f"{TIN_B}:template:ENC-9:M236:CQM": RecordSource(
        TIN_B, "templates/b.csv", 3, "ENC-9", "MET", "2025-06-01"
    ),
    f"{TIN_B}:qrda:p1.xml:M236": RecordSource(TIN_B, "qrda/p1.xml", None, None, "NOT_MET", "2025-09-30"),
}


def test_patients_csv_names_the_deciding_record() -> None:
    keys = tuple(SOURCES)
    met = _outcome(Performance.MET, keys, date(2025, 6, 1))
    rows = _rows(patients_csv([met], SOURCES))
    assert rows[0]["deciding_tin"] == TIN_B and rows[0]["source_file"] == "templates/b.csv"
    assert (rows[0]["source_row"], rows[0]["encounter_id"], rows[0]["records"]) == ("3", "ENC-9", "3")
    latest = _outcome(Performance.NOT_MET, keys, date(2025, 9, 30))
    row = _rows(patients_csv([latest], SOURCES))[0]
    assert (row["source_file"], row["source_row"], row["encounter_id"]) == ("qrda/p1.xml", "", "")


def test_record_sources_read_the_stored_columns() -> None:
    with_encounter = record(tin=TIN_A, key=f"{TIN_A}:template:ENC-77:M236:CQM", measure="M236")
    batch = RecordBatch.from_records([with_encounter, record(tin=TIN_B, key=f"{TIN_B}:template:abc")])
    sources = record_sources(batch, [with_encounter.source_key])
    assert list(sources) == [with_encounter.source_key]
    source = sources[with_encounter.source_key]
    assert (source.tin, source.encounter_id, source.performance, source.performance_date) == (
        TIN_A,
        "ENC-77",
        "MET",
        "2025-03-01",
    )
    assert encounter_id_of(f"{TIN_A}:template:0123abcd") is None
    assert encounter_id_of(f"{TIN_A}:qrda:x.xml:M001") is None


def test_gaps_per_tin_list_the_patients_who_count_against_a_measure() -> None:
    inputs = sample_inputs()
    files = gaps_csvs(score_sync(inputs))
    assert sorted(files) == ["gaps-111111111.csv", "gaps-222222222.csv", "gaps-333333333.csv"]
    rows = [row for data in files.values() for row in _rows(data)]
    by_instance: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        by_instance.setdefault((row["measure_id"], row["collection_type"]), set()).add(row["gap"])
    # M001 is inverse: MET (poor control) is the gap, NOT_MET is not
    assert "met on an inverse measure (e.g. HbA1c > 9% or missing)" in by_instance[("M001", "eCQM")]
    assert "not met" not in by_instance[("M001", "eCQM")]
    assert "not met" in by_instance[("M236", "eCQM")]
    expected = sum(
        1
        for o in inputs.outcomes
        if o.outcome is Performance.DENOMINATOR_ONLY
        or (o.outcome is Performance.NOT_MET and o.measure_id != "M001")
        or (o.outcome is Performance.MET and o.measure_id == "M001")
    )
    assert len(rows) == expected


def test_probable_duplicates_csv_has_tins_rows_and_a_decision_column() -> None:
    a, b = "MP00000000000000AA", "MP00000000000000BB"
    outcomes = [
        _outcome(Performance.MET, (f"{TIN_A}:template:ENC-1:M236:CQM",)),
        PatientOutcome(
            b, "M236", CollectionType.CQM, Performance.MET, None, (TIN_B,), (f"{TIN_B}:qrda:p1.xml:M236",)
        ),
    ]
    pairs = [{"master_pat_id_a": a, "master_pat_id_b": b, "reason": "nickname"}]
    [row] = _rows(probable_duplicates_csv(pairs, outcomes, SOURCES))
    assert row == {
        "master_pat_id_a": a,
        "master_pat_id_b": b,
        "why": "nickname",
        "tins_a": TIN_A,
        "source_rows_a": f"{TIN_A} templates/a.csv:7",
        "tins_b": TIN_B,
        "source_rows_b": f"{TIN_B} qrda/p1.xml",
        "decision": "",
    }
    files = build_reports(sample_inputs(probable_duplicates=pairs))
    assert "probable-duplicates.csv" in files
    assert "probable-duplicates.csv" not in build_reports(sample_inputs())


def test_targets_are_ranked_by_points_gained_per_patient() -> None:
    scored = score_sync(sample_inputs())
    targets = ranked_targets(scored)
    assert targets and {t.instance for t in targets} <= set(scored.quality.counted_instances)
    per_patient = [t.points_per_patient for t in targets]
    assert per_patient == sorted(per_patient, reverse=True)
    assert all(t.points_gained > 0 and t.patients > 0 for t in targets)
    document = json.loads(build_reports(sample_inputs())["quality-score.json"])
    assert [t["instance"] for t in document["ranked_targets"]] == [t.instance for t in targets]


def test_previous_sync_is_the_latest_earlier_one_of_the_same_year() -> None:
    store = InMemoryObjectStore()

    def put(sync_id: str, year: int) -> None:
        document = {"sync_id": sync_id, "performance_year": year, "generated_at": sync_id, "quality_score": 1}
        store.put(f"results/A1/{sync_id}/quality-score.json", json.dumps(document).encode())

    put("sync-20250101T000000000000Z-aaaaaaaa", 2025)
    put("sync-20250201T000000000000Z-bbbbbbbb", 2025)
    put("sync-20250301T000000000000Z-cccccccc", 2024)  # another performance year
    put("sync-20250401T000000000000Z-dddddddd", 2025)  # the current one
    put("sync-20250501T000000000000Z-eeeeeeee", 2025)  # started later
    previous = previous_sync_score(store, "A1", "sync-20250401T000000000000Z-dddddddd", 2025)
    assert previous is not None and previous["sync_id"] == "sync-20250201T000000000000Z-bbbbbbbb"
    assert previous_sync_score(store, "A2", "sync-x", 2025) is None


def test_decisions_file_rows_are_read_or_reported() -> None:
    data = (
        b"master_pat_id_a,master_pat_id_b,why,decision\n"
        b"MP00000000000000BB,MP00000000000000AA,nickname,same\n"
        b"MP00000000000000CC,MP00000000000000DD,initial,Not same\n"
        b"MP00000000000000EE,MP00000000000000FF,initial,\n"
        b"MP00000000000000EE,Jane Doe,initial,maybe\n"
    )
    result = read_duplicate_decisions("d.csv", data)
    assert [(d.master_pat_id_a, d.master_pat_id_b, d.decision, d.line) for d in result.decisions] == [
        ("MP00000000000000AA", "MP00000000000000BB", "same", 2),
        ("MP00000000000000CC", "MP00000000000000DD", "not_same", 3),
    ]
    [issue] = result.issues
    assert issue.line == 5 and "Jane" not in issue.reason and "same` or `not_same`" in issue.reason


def test_a_same_decision_merges_the_pair_and_a_not_same_one_silences_it() -> None:
    bill = record(first="Bill", last="Stone", tin=TIN_A, measure="M236", perf=Performance.NOT_MET)
    william = record(first="William", last="Stone", tin=TIN_B, measure="M236", perf=Performance.MET)
    jon = record(first="Jon", last="Fox", tin=TIN_A, measure="M236")
    john = record(first="John", last="Fox", tin=TIN_B, measure="M236")
    records = [bill, william, jon, john]
    plan = plan_for(records)
    before = aggregate_members(records, plan, catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert len(before.probable_duplicates) == 2 and before.stats[0].eligible_population == 4

    def mid(r: object) -> str:
        return master_patient_id(r.first_name, r.last_name, r.birth_date, r.gender, pseudonym_key=TEST_KEY)  # type: ignore[attr-defined]

    same = tuple(sorted((mid(bill), mid(william))))
    not_same = tuple(sorted((mid(jon), mid(john))))
    store = InMemoryObjectStore()
    store.put(
        decisions_key("ACO1"),
        (
            "master_pat_id_a,master_pat_id_b,decision\n"
            f"{same[0]},{same[1]},same\n{not_same[0]},{not_same[1]},not_same\n"
        ).encode(),
    )
    applied = apply_duplicate_decisions(store, "ACO1", records, pseudonym_key=TEST_KEY)
    after = aggregate_members(
        applied.records, plan, catalog=CATALOG, pseudonym_key=TEST_KEY, not_the_same=applied.not_the_same
    )
    assert after.probable_duplicates == [] and after.stats[0].eligible_population == 3
    merged = [o for o in after.outcomes if o.master_pat_id == same[0]]
    assert len(merged) == 1 and merged[0].source_tins == (TIN_A, TIN_B)
    messages = [e.message for e in applied.log]
    assert (
        f"were reviewed as the same person (duplicate-decisions.csv row 2); merged under {same[0]}"
        in (messages[0])
    )
    assert "were reviewed as not the same person (duplicate-decisions.csv row 3)" in messages[1]
    assert merge_same_person(records, [], pseudonym_key=TEST_KEY) == (None, {})
