"""Two local syncs of one ACO: the first writes the traceable patients.csv, the gaps files and the probable
duplicates; the reviewer's decision is applied by the second, whose report compares with the first."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from aco_sync_local.runner import run_local_sync
from aco_sync_local.summary import render_summary, sync_results_dir

SAMPLE_ACO = Path(__file__).resolve().parent / "fixtures" / "sample_aco"


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_outputs_trace_to_charts_and_a_reviewed_duplicate_is_merged_next_sync(tmp_path: Path) -> None:
    folder = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, folder)
    south = folder / "members/DEMO1/222222222/templates/cqm.csv"
    south.write_text(south.read_text() + "M236,CQM,Ada,Lovelase,1950-12-10,F,2025-08-01,NOT_MET,1234567893\n")
    state = tmp_path / "state"

    first = run_local_sync(folder, state_dir=state)
    results = sync_results_dir(first)
    assert first.succeeded and results is not None
    patients = _rows(results / "patients.csv")
    assert patients and all(r["deciding_tin"] and r["source_file"].startswith("templates/") for r in patients)
    assert all(r["source_row"].isdigit() for r in patients)
    [pair] = _rows(results / "probable-duplicates.csv")
    assert pair["why"] == "last names one letter apart" and pair["decision"] == ""
    assert "222222222 templates/cqm.csv:5" in pair["source_rows_a"] + pair["source_rows_b"]
    # a gap goes to the TIN of the deciding record (Ada's latest M001 result is South's), naming the others
    assert sorted(p.name for p in results.glob("gaps-*.csv")) == ["gaps-222222222.csv"]
    gaps = _rows(results / "gaps-222222222.csv")
    m001 = next(r for r in gaps if r["measure_id"] == "M001")
    assert m001["gap"].startswith("met on an inverse measure") and m001["also_seen_by_tins"] == "111111111"
    assert (m001["source_file"], m001["source_row"]) == ("templates/cqm.csv", "2")
    summary = render_summary(first)
    assert "probable-duplicates.csv" in summary.split("Files written")[1]
    assert "Since the last sync" not in Path(str(first.report_html)).read_text()

    reviews = folder / "reviews/DEMO1"
    reviews.mkdir(parents=True)
    pair["decision"] = "same"
    with (reviews / "duplicate-decisions.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(pair))
        writer.writeheader()
        writer.writerow(pair)

    second = run_local_sync(folder, state_dir=state)
    results = sync_results_dir(second)
    assert second.succeeded and results is not None
    messages = [str(e.get("message")) for e in second.status.get("log") or []]
    assert any(
        "were reviewed as the same person (duplicate-decisions.csv row 2); merged under" in m
        for m in messages
    )
    assert not (results / "probable-duplicates.csv").exists()
    report = Path(str(second.report_html)).read_text()
    assert "Since the last sync" in report and (first.sync or {})["sync_id"] in report
