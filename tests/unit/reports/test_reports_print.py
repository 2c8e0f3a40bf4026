"""The report on a 1024 px screen and on paper (Letter and A4), checked in headless Chromium: nothing is
wider than the page, the per-TIN table wraps into several tables, the PDF has the right paper size."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from headless_chromium import CHROMIUM, run_chromium
from png_reader import read_png
from report_samples import sample_inputs

from aco_sync.reports import build_reports

pytestmark = [
    pytest.mark.screenshot,
    pytest.mark.skipif(
        CHROMIUM is None, reason="headless Chromium not installed (apt-get install -y chromium)"
    ),
]
# Printable width at 96 px/in with the report's 12 mm margins: A4 is the narrower of the two papers.
PRINTABLE_PX = {"letter": round((8.5 * 25.4 - 24) / 25.4 * 96), "A4": round((210 - 24) / 25.4 * 96)}
PAPER_POINTS = {"letter": (612, 792), "A4": (595, 842)}
PREVIOUS = {
    "sync_id": "sync-20251101T060000000000Z-00000000",
    "generated_at": "2025-11-01T06:00:00+00:00",
    "quality_score": 60.5,
    "aco_patients": 650,
    "measures": [
        {"measure_id": "M001", "collection_type": "eCQM", "performance_rate": 18.0, "points": 9.1},
        {"measure_id": "M236", "collection_type": "eCQM", "performance_rate": 70.0, "points": 7.2},
    ],
}
# Reports what is wider than its box (injected into a test copy only: the report itself has no script).
FIT_SCRIPT = """<script>
addEventListener('load', () => {
  const page = document.documentElement;
  const wide = [...document.querySelectorAll('table, .cards, section.panel, svg')]
    .filter(el => el.getBoundingClientRect().right > page.clientWidth + 1)
    .map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right));
  document.title = 'FIT' + JSON.stringify({width: page.scrollWidth, client: page.clientWidth, wide: wide});
});
</script>"""


def _report(**overrides: Any) -> str:
    return build_reports(sample_inputs(previous=PREVIOUS, **overrides))["report.html"].decode()


def _fit(tmp_path: Path, html: str, width: int) -> dict[str, Any]:
    page = tmp_path / f"fit-{width}.html"
    page.write_text(html.replace("</body>", FIT_SCRIPT + "</body>"), encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", f"--window-size={width},3000", page.as_uri()).stdout
    match = re.search(r"<title>FIT(.*?)</title>", dom)
    assert match, "the fit script did not run"
    return dict(json.loads(match.group(1).replace("&quot;", '"')))


def test_report_fits_a_1024_px_screen(tmp_path: Path) -> None:
    html = _report()
    fit = _fit(tmp_path, html, 1024)
    assert fit["wide"] == [] and fit["width"] <= 1024, fit
    screenshot = tmp_path / "report-1024.png"
    report = tmp_path / "report.html"
    report.write_text(html, encoding="utf-8")
    run_chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1024,2400", report.as_uri())
    image = read_png(screenshot.read_bytes())
    assert (image.width, image.height) == (1024, 2400)
    assert image.distinct_colours() > 500  # text, badges, charts; a blank or failed page has a handful


@pytest.mark.parametrize("paper", ["letter", "A4"])
def test_print_layout_fits_the_paper_width(tmp_path: Path, paper: str) -> None:
    # the print stylesheet applied on a screen as wide as the printable width of the paper
    html = _report().replace("@media print {", "@media all {")
    fit = _fit(tmp_path, html, PRINTABLE_PX[paper])
    assert fit["wide"] == [] and fit["width"] <= PRINTABLE_PX[paper], fit


@pytest.mark.parametrize("paper", ["letter", "A4"])
def test_report_prints_to_pdf_on_letter_and_a4(tmp_path: Path, paper: str) -> None:
    report = tmp_path / "report.html"
    report.write_text(_report().replace("</style>", f"@page {{ size: {paper}; }}</style>"), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    run_chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = re.findall(rb"/Type\s*/Page[^s]", data)
    boxes = {
        tuple(round(float(v)) for v in box.split()[2:])
        for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", data)
    }
    assert boxes == {PAPER_POINTS[paper]}
    assert 2 <= len(pages) <= 7  # a few pages, not one page per table or a cut-off single page


def test_print_stylesheet_keeps_tables_and_panels_whole() -> None:
    css = _report()
    block = css[css.index("@media print {") :]
    for rule in ("table { font-size", "tr { break-inside:avoid", "section.panel { padding"):
        assert rule in block
    assert "break-inside:avoid" in block.split("section.panel.long")[0]  # panels are not split mid-table
    assert "@page { margin: 12mm; }" in css


def test_wide_acos_get_several_per_tin_tables() -> None:
    html = _report()
    tin_section = html[html.index("<h2>Member clinics (TINs)</h2>") : html.index("<h2>Medicare roster</h2>")]
    # 7 measure instances, at most 4 per table: the status table plus 2 instance tables
    assert tin_section.count("<table>") == 3
