"""The HTML report: content, self-containment, escaping, inverse charts, and a headless Chromium render."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from headless_chromium import CHROMIUM, run_chromium
from png_reader import read_png
from report_samples import SETTINGS, sample_inputs

from aco_sync.domain.records import SyncLogEntry
from aco_sync.reports import build_reports
from aco_sync.reports.html_report import BAR_LEFT, BAR_WIDTH, decile_chart
from aco_sync.scoring.benchmarks import load_benchmarks


@pytest.fixture(scope="module")
def html() -> str:
    return build_reports(sample_inputs())["report.html"].decode()


def test_report_shows_score_measures_tins_log_and_roster(html: str) -> None:
    assert "Lakeside Health ACO" in html and "Performance year 2025" in html
    assert "66.16" in html  # the quality score
    for text in (
        "M236",
        "236SSP",
        "75.00%",  # M236 eCQM rate
        "97.96%",  # its data completeness
        "7.9080",  # its points
        "Not scored: case minimum",
        "Not scored: no benchmark",
        "0 points: data completeness",
        "Northshore Internal Medicine",
        "Sync Failed",
        "QRDA file qrda/batch7.zip is not a valid zip archive",
        "ACO aggregation for measure M134 cannot proceed due to missing Medicare roster",
        "Patient MP000042 skipped because more than one roster match was found",
        "Removed 3 aggregate encounters whose source row is gone",
        "templates/m236.csv line 17",
        "1,250 Medicare beneficiaries",
        "41.50%",
        "To reach decile 8 on M112 (eCQM) you need 73.37%, i.e. 2 more patients met: <strong>+",
        "Scored; another instance counts",
        "Not counted: M236 MCQM scores higher (8.8947 points)",  # rate 150/190 from the submitted counts
    ):
        assert text in html, text


def test_report_is_self_contained(html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html and "<script" not in html
    assert html.count("<svg") == 7  # one chart per measure instance


def test_user_text_is_escaped() -> None:
    settings = SETTINGS.model_copy(update={"name": "<script>alert(1)</script> ACO"})
    log = [SyncLogEntry(kind="ingest_error", message="bad value <img src=x onerror=alert(1)>", level="error")]
    html = build_reports(sample_inputs(settings=settings, log=log))["report.html"].decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def _marker_x(svg: str) -> float:
    match = re.search(r'<line x1="([\d.]+)"', svg)
    assert match
    return float(match.group(1))


def test_inverse_measures_are_drawn_the_right_way_round() -> None:
    benchmarks = load_benchmarks(2025)
    m001 = benchmarks.get("001", "electronicHealthRecord")
    m236 = benchmarks.get("236", "electronicHealthRecord")
    assert m001 is not None and m236 is not None
    # inverse: 10% poor control is good, so it sits far right; 90% far left
    good = _marker_x(decile_chart(10.0, m001, inverse=True, label="M001"))
    bad = _marker_x(decile_chart(90.0, m001, inverse=True, label="M001"))
    assert good == pytest.approx(BAR_LEFT + 0.9 * BAR_WIDTH) and bad == pytest.approx(
        BAR_LEFT + 0.1 * BAR_WIDTH
    )
    # normal: higher is right
    assert _marker_x(decile_chart(90.0, m236, inverse=False, label="M236")) > _marker_x(
        decile_chart(10.0, m236, inverse=False, label="M236")
    )
    inverse_svg = decile_chart(10.0, m001, inverse=True, label="M001")
    ticks = re.findall(r'<text x="([\d.]+)"[^>]*>(\d+)%</text>', inverse_svg)
    positions = {int(label): float(x) for x, label in ticks}
    assert positions[100] < positions[0]  # the axis runs 100% -> 0%
    # decile 10 band (the best) is the rightmost band
    bands = re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)"[^>]*><title>Decile (\d+)', inverse_svg)
    rightmost = max(bands, key=lambda band: float(band[0]))
    assert rightmost[2] == "10"


def test_chart_without_benchmark_says_so() -> None:
    svg = decile_chart(50.0, None, inverse=False, label="M113 MCQM")
    assert "no CMS benchmark" in svg and "50.00%" in svg


@pytest.mark.screenshot
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_bytes(build_reports(sample_inputs())["report.html"])
    screenshot = tmp_path / "report.png"
    run_chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1280,2000", report.as_uri())
    assert screenshot.exists()
    image = read_png(screenshot.read_bytes())
    assert (image.width, image.height) == (1280, 2000)
    # a blank or failed page has a handful of colours; the report's text, badges and charts have thousands
    assert image.distinct_colours() > 500
    # the header band (dark blue) is at the top, the page background further down is light
    top_left = image.rows[10][: image.channels]
    assert sum(top_left[:3]) < 300


def test_tin_rates_are_computed_when_the_clinic_stats_job_has_not_run() -> None:
    with_stats = build_reports(sample_inputs())["report.html"].decode()
    without = build_reports(sample_inputs(clinic_stats=None))["report.html"].decode()
    assert "rate 15.29%" in with_stats  # TIN 111111111's own M001 rate
    assert with_stats == without


def test_timestamps_and_roster_coverage_are_readable() -> None:
    from aco_sync.reports.html_report import _coverage_range, _when

    assert _when("2026-11-25T14:13:41Z") == "2026-11-25 14:13 UTC"
    assert _when("2025-11-24 06:10 UTC") == "2025-11-24 06:10 UTC"
    assert _when(None) == "—"
    assert _coverage_range([47.06, 94.12]) == "47–94%"
    assert _coverage_range([41.5, 41.5]) == "41.50%"
    assert _coverage_range([]) == "—"
