"""The APP Plus score and the shared-savings outcome in quality-score.json, the report and the CLI line,
and the optional CMS results file (config/cms-results/<aco_id>.json) read by the workflow."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from report_samples import sample_inputs

from aco_sync.adapters.memory import InMemoryObjectStore
from aco_sync.reports import build_reports
from aco_sync.scoring.app_plus import CmsResults
from aco_sync.service.aggregate_stats import load_cms_results
from aco_sync_local.summary import app_plus_lines

CMS = CmsResults(performance_year=2025, measures={"321": {"points": 8.0}, "479": {"points": 6.5}})


def _document(**overrides: Any) -> dict[str, Any]:
    return json.loads(build_reports(sample_inputs(**overrides))["quality-score.json"])


def test_quality_score_json_has_the_app_plus_score_and_outcome() -> None:
    app_plus = _document()["app_plus"]
    assert app_plus["clinical_measures_only"] is True
    assert app_plus["quality_performance_standard"] == 76.7
    assert app_plus["shared_savings_outcome"] == "scaled sharing rate"
    with_cms = _document(cms_results=CMS)["app_plus"]
    assert with_cms["clinical_measures_only"] is False and with_cms["measures_scored"] == 6
    # (9.6935 + 7.8752 + 0 + 8.8947 + 8 + 6.5) / 60, plus the complex organization adjustment for the two
    # eCQMs: 1 point for M112, 0.3065 for M001 (a measure earns at most 10 points)
    assert with_cms["achievement_points"] == 40.9634 and with_cms["complex_organization_points"] == 1.3065
    assert with_cms["quality_score"] == round(100 * (40.9634 + 1.3065) / 60, 4) == 70.4498


def test_the_report_and_the_cli_show_it() -> None:
    files = build_reports(sample_inputs(cms_results=CMS))
    html = files["report.html"].decode()
    assert "APP Plus quality score and shared savings" in html and "Quality performance standard" in html
    app_plus = json.loads(files["quality-score.json"])["app_plus"]
    (line,) = app_plus_lines(app_plus)
    assert line.startswith(f"APP Plus quality score: {app_plus['health_equity_adjusted_score']:.2f}; ")
    assert "quality performance standard 76.70: scaled sharing rate (x 0.7045)" in line
    (clinical,) = app_plus_lines(_document()["app_plus"])
    assert "(clinical measures only)" in clinical


def test_the_cms_results_file_is_optional_and_validated() -> None:
    stores = SimpleNamespace(objects=InMemoryObjectStore())
    assert load_cms_results(stores, "A1234") == (None, None)  # type: ignore[arg-type]
    stores.objects.put("config/cms-results/A1234.json", CMS.model_dump_json().encode())
    assert load_cms_results(stores, "A1234") == (CMS, None)  # type: ignore[arg-type]
    stores.objects.put(
        "config/cms-results/A1234.json", b'{"performance_year": 2025, "measures": {"321": {}}}'
    )
    results, problem = load_cms_results(stores, "A1234")  # type: ignore[arg-type]
    assert results is None
    assert (
        problem
        == "config/cms-results/A1234.json is not used: measures.321: Value error, give either points or rate"
    )
    document = _document(cms_results_problem=problem)
    assert document["cms_results_problem"] == problem


def test_the_published_settings_and_cms_results_templates_validate() -> None:
    from aco_sync.domain.settings import AcoSettings
    from shared_fixtures import REPO_ROOT

    folder = REPO_ROOT / "docs" / "templates"
    settings = AcoSettings.model_validate_json((folder / "aco_settings.json").read_text())
    assert (settings.apm_entity_id, settings.cehrt_id, settings.program_name) == (
        "A1234",
        "0015CABCDEFGHIJ",
        "appPlus",
    )
    results = CmsResults.model_validate_json((folder / "cms_results.json").read_text())
    assert results.measures["479"].rate == 0.1512 and results.health_equity is not None


def test_aco_sync_report_prints_the_app_plus_line_after_the_score() -> None:
    from aco_sync_local.summary import quality_score_lines

    document = _document(cms_results=CMS)
    lines = quality_score_lines(SimpleNamespace(quality_score=document))  # type: ignore[arg-type]
    assert lines[0].startswith("ACO quality score: ")
    assert (
        lines[1]
        == "APP Plus quality score: 70.45; quality performance standard 76.70: scaled sharing rate (x 0.7045)"
    )
