"""The published eCQM test cases as data: ../shared/fixtures/ecqm-tests/<CMS id>/<case>/ (2025
measurement period, PY2025 specifications) and ../shared/fixtures/ecqm-tests-2026/ (PY2026)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from shared_fixtures import SHARED_DIR

SUITES = {2025: "ecqm-tests", 2026: "ecqm-tests-2026"}  # performance year -> fixtures folder
CASE_COUNTS = {2025: 144, 2026: 161}
MEASURE_BY_CMS = {"CMS122": "M001", "CMS125": "M112", "CMS130": "M113", "CMS165": "M236", "CMS2": "M134"}
POPULATIONS = (
    "initial-population",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "numerator",
)


@dataclass(frozen=True)
class PublishedCase:
    cms_id: str
    folder: Path
    description: str
    period: tuple[date, date]
    expected: dict[str, int]  # population code -> 0/1
    resources: list[dict[str, Any]]  # everything but the MeasureReport

    @property
    def measure_id(self) -> str:
        return MEASURE_BY_CMS[self.cms_id]

    @property
    def case_id(self) -> str:
        return f"{self.cms_id}-{self.folder.name[:8]}"

    @property
    def performance_year(self) -> int:
        return self.period[0].year


def case_folders(performance_year: int = 2025) -> list[Path]:
    cases_dir = SHARED_DIR / "fixtures" / SUITES[performance_year]
    if not cases_dir.exists():
        return []
    return sorted(p for cms in MEASURE_BY_CMS for p in (cases_dir / cms).iterdir() if p.is_dir())


def load_case(folder: Path) -> PublishedCase:
    resources = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    reports = [r for r in resources if r["resourceType"] == "MeasureReport"]
    assert len(reports) == 1, f"{folder}: expected one MeasureReport"
    report = reports[0]
    expected = {
        p["code"]["coding"][0]["code"]: int(p["count"]) for g in report["group"] for p in g["population"]
    }
    description = next(
        (e.get("valueMarkdown", "") for e in report.get("extension", []) if "Description" in e["url"]), ""
    )
    period = (
        date.fromisoformat(report["period"]["start"][:10]),
        date.fromisoformat(report["period"]["end"][:10]),
    )
    return PublishedCase(
        cms_id=folder.parent.name,
        folder=folder,
        description=description.strip(),
        period=period,
        expected=expected,
        resources=[r for r in resources if r["resourceType"] != "MeasureReport"],
    )
