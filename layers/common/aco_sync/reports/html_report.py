"""The self-contained HTML report of one sync (inline CSS and SVG, no external requests, no PHI)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from aco_sync.domain.records import CollectionType, SyncLogEntry
from aco_sync.reports.model import ScoredSync
from aco_sync.reports.targets import ranked_targets
from aco_sync.scoring.benchmarks import Benchmark
from aco_sync.scoring.clinic_stats import ClinicMeasureStats
from aco_sync.scoring.points import ScoreStatus

# ten shades, decile 1 (lightest) to decile 10 (darkest)
DECILE_COLOURS = (
    "#eef4fb", "#dde9f6", "#c9dcf0", "#b2cde9", "#98bce0",
    "#7ea9d6", "#6396ca", "#4a82bd", "#336fae", "#1f5c9c",
)  # fmt: skip
TIN_COLUMNS_PER_TABLE = 4  # measure instances per per-TIN table: wide ACOs wrap into several tables
CHART_WIDTH = 720
BAR_LEFT = 24
BAR_WIDTH = CHART_WIDTH - 2 * BAR_LEFT

STATUS_LABELS = {
    ScoreStatus.SCORED: ("Scored", "ok"),
    ScoreStatus.ZERO_DATA_COMPLETENESS: ("0 points: data completeness", "warn"),
    ScoreStatus.NO_BENCHMARK: ("Not scored: no benchmark", "muted"),
    ScoreStatus.BELOW_CASE_MINIMUM: ("Not scored: case minimum", "muted"),
    ScoreStatus.NO_PERFORMANCE_RATE: ("Not scored: no rate", "muted"),
}
LOG_SECTIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("halt", "abort"), "Halts and aborts"),
    (("skip",), "Skipped patients and triggers"),
    (("removal",), "Removals"),
    (("ingest_error", "ingest_warning"), "Input problems"),
    (("file",), "Rows read per file (read = accepted + rejected)"),
    (("probable_duplicates",), "Probable duplicates for review"),
)

CSS = """
:root { --ink:#1d2733; --muted:#5b6b7c; --line:#dfe5ec; --bg:#f4f6f9; --card:#fff; --accent:#1f5c9c;
  --ok:#1e7b4f; --ok-bg:#e3f4ec; --warn:#8a5a00; --warn-bg:#fdf1d8; --bad:#a3262b; --bad-bg:#fbe4e5; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 14px/1.45 "Segoe UI", "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif; }
header { background: linear-gradient(120deg, #16355c, #1f5c9c); color:#fff; padding:28px 40px 76px; }
header h1 { margin:0 0 4px; font-size:26px; font-weight:600; letter-spacing:.2px; }
header .meta { opacity:.85; font-size:13px; }
header .meta span { margin-right:18px; }
main { max-width:1200px; margin:-56px auto 40px; padding:0 32px; }
.cards { display:grid; grid-template-columns: minmax(0, 1.4fr) repeat(3, minmax(0, 1fr)); gap:16px;
  margin-bottom:20px; }
.card { background:var(--card); border-radius:10px; padding:18px 20px;
  box-shadow:0 1px 3px rgba(16,36,64,.12); }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.6px; }
.card .value { font-size:30px; font-weight:600; margin-top:4px; }
.card .sub { color:var(--muted); font-size:12.5px; margin-top:2px; }
.card.score .value { font-size:44px; color:var(--accent); }
.card.score .value small { font-size:18px; color:var(--muted); font-weight:500; }
section.panel { background:var(--card); border-radius:10px; padding:20px 24px; margin-bottom:20px;
  box-shadow:0 1px 3px rgba(16,36,64,.12); }
section.panel h2 { font-size:17px; margin:0 0 12px; font-weight:600; }
section.panel p.hint { color:var(--muted); margin:-6px 0 12px; font-size:12.5px; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; color:var(--muted); font-weight:600; font-size:11.5px; text-transform:uppercase;
  letter-spacing:.4px; border-bottom:2px solid var(--line); padding:8px 8px; }
td { border-bottom:1px solid var(--line); padding:8px 8px; vertical-align:top; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom:none; }
.measure-title { color:var(--muted); font-size:12px; }
.badge { display:inline-block; padding:2px 8px; border-radius:999px; font-size:11.5px; font-weight:600;
  white-space:nowrap; }
.badge.ok { background:var(--ok-bg); color:var(--ok); }
.badge.warn { background:var(--warn-bg); color:var(--warn); }
.badge.bad { background:var(--bad-bg); color:var(--bad); }
.badge.muted { background:#eceff3; color:var(--muted); }
.badge.ct { background:#e6eef8; color:var(--accent); }
.reason { color:var(--muted); font-size:12px; margin-top:3px; }
.targets { margin:0; padding-left:20px; }
.targets li { margin:4px 0; }
.chart-row { display:grid; grid-template-columns: 230px 1fr; align-items:center; gap:12px;
  padding:10px 0; border-bottom:1px solid var(--line); }
.chart-row:last-child { border-bottom:none; }
.chart-row .name { font-weight:600; }
.chart-row .name small { display:block; font-weight:400; color:var(--muted); }
.legend { display:flex; gap:4px; align-items:center; color:var(--muted); font-size:12px; margin-bottom:8px; }
.legend i { display:inline-block; width:18px; height:10px; }
.log-group h3 { font-size:14px; margin:14px 0 6px; }
.log-group ul { margin:0; padding-left:20px; }
.log-group li { margin:3px 0; }
.level-error { color:var(--bad); }
.level-warning { color:var(--warn); }
.note { background:var(--warn-bg); color:var(--warn); border-radius:8px; padding:10px 14px;
  margin-bottom:16px; }
.empty { color:var(--muted); font-style:italic; }
footer { color:var(--muted); font-size:12px; max-width:1200px; margin:0 auto 32px; padding:0 32px; }
svg text { font-family: inherit; }
.table-wrap { overflow-x: auto; }
.table-wrap + .table-wrap { margin-top: 14px; }
.delta-up { color: var(--ok); } .delta-down { color: var(--bad); } .delta-same { color: var(--muted); }
dl.glossary { display:grid; grid-template-columns: 190px 1fr; gap:6px 16px; margin:0; font-size:13px; }
dl.glossary dt { font-weight:600; } dl.glossary dd { margin:0; color:var(--ink); }
@page { margin: 12mm; }
@media print {
  /* Letter and A4 alike: the content fits the narrower printable width (A4: 186 mm). */
  body { background:#fff; font-size:10.5pt; -webkit-print-color-adjust:exact; print-color-adjust:exact; }
  header { padding:0 0 10px; background:none; color:var(--ink); border-bottom:2px solid var(--accent); }
  header .meta { opacity:1; color:var(--muted); }
  main { max-width:none; margin:10px 0 0; padding:0; }
  footer { max-width:none; padding:0; margin:8px 0 0; }
  .cards { grid-template-columns: repeat(4, minmax(0, 1fr)); gap:8px; }
  .card, section.panel { box-shadow:none; border:1px solid var(--line); break-inside:avoid; }
  .card { padding:8px 10px; } .card .value { font-size:20pt; } .card.score .value { font-size:26pt; }
  section.panel { padding:10px 12px; margin-bottom:10px; }
  section.panel.long { break-inside:auto; }
  section.panel h2 { break-after:avoid; }
  table { font-size:8.5pt; break-inside:avoid; } th, td { padding:3px 4px; }
  th { font-size:7pt; letter-spacing:0; } td.num, th.num, .badge.ct { white-space:nowrap; }
  .badge { white-space:normal; } .reason { font-size:7.5pt; }
  tr { break-inside:avoid; }
  .table-wrap { overflow:visible; }
  .chart-row { grid-template-columns: 150px 1fr; padding:4px 0; break-inside:avoid; }
  .log-group { break-inside:avoid; }
  dl.glossary { grid-template-columns: 150px 1fr; font-size:9pt; }
}
"""


def _fmt(value: float | None, suffix: str = "%", digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}{suffix}"


def _badge(text: str, kind: str) -> str:
    return f'<span class="badge {kind}">{escape(text)}</span>'


def _x(rate: float, inverse: bool, floor: float = 0.0) -> float:
    """Chart x of a rate: better always to the right (inverse measures drawn 100 -> 0). ``floor``: the
    axis starts there (0, or higher when the deciles crowd near the top: topped-out measures)."""
    position = (100 - rate) if inverse else rate
    span = 100.0 - floor
    return BAR_LEFT + BAR_WIDTH * max(0.0, min(span, position - floor)) / span


def axis_floor(rate: float | None, benchmark: Benchmark | None) -> float:
    """Where the axis starts, in "better" units (0 for most measures). When the upper deciles crowd near
    the top (decile 5 starts in the top tenth: a topped-out measure), the axis starts 10 points below the
    lowest of decile 2's bound and the rate, rounded down to 10, so the bands are readable."""
    if benchmark is None:
        return 0.0

    def better(value: float) -> float:
        return (100 - value) if benchmark.inverse else value

    if better(benchmark.lower_bound(5)) < 90:
        return 0.0
    lowest = better(benchmark.lower_bound(2))
    if rate is not None:
        lowest = min(lowest, better(rate))
    return max(0.0, (lowest - 10) // 10 * 10)


def crowded_deciles(benchmark: Benchmark | None) -> str:
    """A sentence when several deciles share less than one point of the scale (else "")."""
    if benchmark is None:
        return ""
    end = 0.0 if benchmark.inverse else 100.0
    for first in range(2, 10):
        if abs(end - benchmark.lower_bound(first)) < 1.0:
            if first == 10:
                return ""
            return (
                f"deciles {first}–10 all start within 1 point of {end:.0f}%: "
                f"from {benchmark.lower_bound(first):.2f}%"
            )
    return ""


def decile_chart(rate: float | None, benchmark: Benchmark | None, *, inverse: bool, label: str) -> str:
    """An inline SVG bar: the benchmark's deciles as bands, the rate as a marker."""
    height = 66
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" preserveAspectRatio="xMinYMid meet" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    bar_top, bar_height = 24, 22
    floor = axis_floor(rate, benchmark)
    if benchmark is not None:
        end = 0.0 if inverse else 100.0
        for decile in range(1, 11):
            low = benchmark.lower_bound(decile)
            high = benchmark.lower_bound(decile + 1) if decile < 10 else end
            x1, x2 = sorted((_x(low, inverse, floor), _x(high, inverse, floor)))
            if x2 - x1 <= 0:
                continue
            parts.append(
                f'<rect x="{x1:.1f}" y="{bar_top}" width="{x2 - x1:.1f}" height="{bar_height}" '
                f'fill="{DECILE_COLOURS[decile - 1]}"><title>Decile {decile}: '
                f"{min(low, high):.2f}–{max(low, high):.2f}%</title></rect>"
            )
            if x2 - x1 >= 16:
                colour = "#fff" if decile >= 6 else "#34506e"
                parts.append(
                    f'<text x="{(x1 + x2) / 2:.1f}" y="{bar_top + 15}" font-size="11" text-anchor="middle" '
                    f'fill="{colour}">{decile}</text>'
                )
    else:
        parts.append(
            f'<rect x="{BAR_LEFT}" y="{bar_top}" width="{BAR_WIDTH}" height="{bar_height}" fill="#eceff3"/>'
            f'<text x="{BAR_LEFT + BAR_WIDTH / 2}" y="{bar_top + 15}" font-size="11" text-anchor="middle" '
            'fill="#5b6b7c">no CMS benchmark</text>'
        )
    parts.append(
        f'<rect x="{BAR_LEFT}" y="{bar_top}" width="{BAR_WIDTH}" height="{bar_height}" fill="none" '
        'stroke="#c3ccd6"/>'
    )
    if floor:
        ticks = [int(floor + (100 - floor) * k / 4) for k in range(5)]
        ticks = [100 - t for t in ticks] if inverse else ticks
    else:
        ticks = [0, 25, 50, 75, 100]
    for tick in ticks:
        x = _x(tick, inverse, floor)
        parts.append(
            f'<text x="{x:.1f}" y="{bar_top + bar_height + 14}" font-size="10" text-anchor="middle" '
            f'fill="#5b6b7c">{tick}%</text>'
        )
    if rate is not None:
        x = _x(rate, inverse, floor)
        anchor = "start" if x < BAR_LEFT + 40 else "end" if x > BAR_LEFT + BAR_WIDTH - 40 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{bar_top - 4}" x2="{x:.1f}" y2="{bar_top + bar_height + 3}" '
            'stroke="#d9480f" stroke-width="3"/>'
            f'<circle cx="{x:.1f}" cy="{bar_top - 5}" r="4" fill="#d9480f"/>'
            f'<text x="{x:.1f}" y="{bar_top - 11}" font-size="11.5" font-weight="700" '
            f'text-anchor="{anchor}" fill="#d9480f">{rate:.2f}%</text>'
        )
    if floor:
        parts.append(
            f'<text x="{BAR_LEFT}" y="{bar_top - 11}" font-size="10" fill="#5b6b7c">axis zoomed: '
            f"deciles crowd near {'0' if inverse else '100'}%</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _coverage_range(coverage: Sequence[float]) -> str:
    if not coverage:
        return "—"
    low, high = min(coverage), max(coverage)
    return _fmt(high) if round(low) == round(high) else f"{low:.0f}–{high:.0f}%"


def _when(value: object) -> str:
    """A timestamp as "2025-11-24 06:10 UTC" (ISO strings and datetimes), anything else as given."""
    if value is None or value == "":
        return "—"
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
            return moment.strftime("%Y-%m-%d %H:%M UTC")
        return moment.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _score_cards(scored: ScoredSync) -> str:
    inputs = scored.inputs
    quality = scored.quality
    patients = inputs.aco_patients
    clinics = len(inputs.clinic_statuses) or len(inputs.settings.member_clinics)
    complete = sum(
        1 for c in inputs.clinic_statuses if str(c.get("status", "")).lower().startswith("sync complete")
    )
    coverage = [s.roster_coverage for s in inputs.stats if s.roster_coverage is not None]
    score_value = (
        f"{quality.score:.2f}<small> / 100</small>" if quality.score is not None else "—<small> / 100</small>"
    )
    counted = ", ".join(quality.counted_instances) or "no measure met the scoring rules"
    cards = [
        (
            "score",
            "ACO quality score",
            score_value,
            f"{quality.total_points:.4f} of {10 * quality.measures_scored} points · {escape(counted)}",
        ),
        ("", "Measures scored", str(quality.measures_scored), f"of {len(scored.scores)} measure instances"),
        ("", "ACO patients", f"{patients:,}", "one per person across TINs (ACO patient ids)"),
        (
            "",
            "Roster coverage",
            _coverage_range(coverage),
            (f"{inputs.roster_size:,} beneficiaries on the roster" if inputs.roster_size else "no roster")
            + (" · range across MCQM measures" if len(set(coverage)) > 1 else "")
            + (f" · {complete}/{clinics} clinics synced" if clinics else ""),
        ),
    ]
    html = ['<div class="cards">']
    for kind, label, value, sub in cards:
        html.append(
            f'<div class="card {kind}"><div class="label">{escape(label)}</div>'
            f'<div class="value">{value}</div><div class="sub">{sub}</div></div>'
        )
    html.append("</div>")
    return "".join(html)


def _measure_table(scored: ScoredSync) -> str:
    rows = []
    for stats in scored.inputs.stats:
        score = scored.score_for(stats)
        title = score.title if score else ""
        status_label, status_kind = STATUS_LABELS[score.status] if score else ("Not scored", "muted")
        if score and score.capped:
            status_label = "Scored (capped at 7)"
        reason = escape(score.reason) if score else ""
        if score and score.counts_in_quality_score and not scored.quality.is_counted(score):
            status_label, status_kind = "Scored; another instance counts", "muted"
            reason += " " + escape(scored.quality.why_not_counted(score) or "")
        qpp_id = escape(score.qpp_measure_id) if score else ""
        rows.append(
            "<tr>"
            f"<td><strong>{escape(stats.measure_id)}</strong> <span class='measure-title'>{qpp_id}</span>"
            f"<div class='measure-title'>{escape(title)}{' · inverse' if stats.inverse else ''}</div></td>"
            f"<td>{_badge(stats.collection_type.value, 'ct')}</td>"
            f"<td class='num'>{stats.eligible_population:,}</td>"
            f"<td class='num'>{stats.performance_met:,}</td>"
            f"<td class='num'>{stats.performance_not_met:,}</td>"
            f"<td class='num'>{stats.eligible_population_exclusion:,}</td>"
            f"<td class='num'>{stats.eligible_population_exception:,}</td>"
            f"<td class='num'><strong>{_fmt(stats.performance_rate)}</strong></td>"
            f"<td class='num'>{_fmt(stats.data_completeness)}</td>"
            f"<td class='num'>{score.decile if score and score.decile else '—'}</td>"
            f"<td class='num'><strong>{_fmt(score.points if score else None, '', 4)}</strong></td>"
            f"<td>{_badge(status_label, status_kind)}<div class='reason'>{reason}</div></td>"
            "</tr>"
        )
    if not rows:
        return '<p class="empty">No measure instances in this sync.</p>'
    header = (
        "<tr><th>Measure</th><th>Instance</th><th class='num'>Eligible</th><th class='num'>Met</th>"
        "<th class='num'>Not met</th><th class='num'>Excl.</th><th class='num'>Excep.</th>"
        "<th class='num'>Rate</th><th class='num'>Data compl.</th><th class='num'>Decile</th>"
        "<th class='num'>Points</th><th>Status</th></tr>"
    )
    return f"<table>{header}{''.join(rows)}</table>"


def _charts(scored: ScoredSync) -> str:
    rows = []
    for stats in scored.inputs.stats:
        score = scored.score_for(stats)
        benchmark = score.benchmark if score else None
        inverse = benchmark.inverse if benchmark else stats.inverse
        label = f"{stats.measure_id} {stats.collection_type.value}"
        detail = "lower is better" if inverse else "higher is better"
        if benchmark is not None:
            detail += f" · {benchmark.measure_id} {benchmark.submission_method}"
            if benchmark.is_flat:
                detail += " · flat benchmark"
            if benchmark.topped_out_by_program:
                detail += " · topped out"
            crowded = crowded_deciles(benchmark)
            if crowded:
                detail += f" · {crowded}"
        rows.append(
            f'<div class="chart-row"><div class="name">{escape(label)}<small>{escape(detail)}</small></div>'
            f"<div>{decile_chart(stats.performance_rate, benchmark, inverse=inverse, label=label)}</div>"
            "</div>"
        )
    if not rows:
        return '<p class="empty">No measure instances in this sync.</p>'
    legend = "".join(f'<i style="background:{c}"></i>' for c in DECILE_COLOURS)
    return (
        f'<div class="legend">decile 1 {legend} decile 10 · <b style="color:#d9480f">|</b> the ACO\'s rate · '
        "inverse measures are drawn from 100% to 0%, so better is always to the right</div>" + "".join(rows)
    )


def _tin_table(scored: ScoredSync) -> str:
    """Per TIN: status, share of the ACO's patients, and per measure instance its patients (share of the
    instance), its own rate and data completeness. Instances are split over several tables of at most
    TIN_COLUMNS_PER_TABLE columns, so the table fits the page (screen at 1024 px, Letter and A4)."""
    inputs = scored.inputs
    names = {c.tin: c.name for c in inputs.settings.member_clinics}
    statuses = {str(c.get("tin")): c for c in inputs.clinic_statuses}
    instances = [s for s in inputs.stats if s.patients_by_tin or inputs.clinic_stats]
    clinic_rates: dict[tuple[str, str, str], ClinicMeasureStats] = {}
    clinic_share: dict[str, float | None] = {}
    clinic_completeness: dict[str, float | None] = {}
    for clinic in inputs.clinic_stats or []:
        clinic_share[clinic.tin] = clinic.share_of_aco_patients
        eligible = reported = 0
        for measure in clinic.measures:
            clinic_rates[(clinic.tin, measure.measure_id, measure.collection_type.value)] = measure
            eligible += measure.eligible_population
            reported += (
                measure.performance_met
                + measure.performance_not_met
                + measure.eligible_population_exclusion
                + measure.eligible_population_exception
            )
        clinic_completeness[clinic.tin] = 100 * reported / eligible if eligible else None
    tins = sorted(
        set(statuses)
        | set(names)
        | {tin for s in inputs.stats for tin in s.patients_by_tin}
        | {c.tin for c in inputs.clinic_stats or []}
    )
    if not tins:
        return '<p class="empty">No member clinics.</p>'
    header = (
        "<tr><th>TIN</th><th>Clinic</th><th>Status</th><th>Last synced</th><th class='num'>Share of "
        "patients</th><th class='num'>Data completeness</th></tr>"
    )
    rows = []
    for tin in tins:
        status = statuses.get(tin, {})
        status_text = str(status.get("status") or "—")
        kind = (
            "ok"
            if status_text.lower() == "sync complete"
            else "warn"  # "Sync Complete (3 rows rejected)": synced, but not all of its data was used
            if status_text.lower().startswith("sync complete")
            else "bad"
            if "fail" in status_text.lower()
            else "muted"
        )
        reason = status.get("reason")
        rows.append(
            "<tr>"
            f"<td><strong>{escape(tin)}</strong></td>"
            f"<td>{escape(str(status.get('name') or names.get(tin) or ''))}</td>"
            f"<td>{_badge(status_text, kind)}"
            + (f"<div class='reason'>{escape(str(reason))}</div>" if reason else "")
            + "</td>"
            f"<td>{escape(_when(status.get('last_synced')))}</td>"
            f"<td class='num'>{_fmt(clinic_share.get(tin))}</td>"
            f"<td class='num'>{_fmt(clinic_completeness.get(tin))}</td>"
            "</tr>"
        )
    tables = [f"<div class='table-wrap'><table>{header}{''.join(rows)}</table></div>"]
    for start in range(0, len(instances), TIN_COLUMNS_PER_TABLE):
        chunk = instances[start : start + TIN_COLUMNS_PER_TABLE]
        head = "<tr><th>TIN</th>" + "".join(
            f"<th class='num'>{escape(s.measure_id)} {escape(s.collection_type.value)}</th>" for s in chunk
        )
        body = []
        for tin in tins:
            cells = [f"<td><strong>{escape(tin)}</strong></td>"]
            for stats in chunk:
                patients = stats.patients_by_tin.get(tin, 0)
                total = stats.eligible_population or sum(stats.patients_by_tin.values())
                tin_measure = clinic_rates.get((tin, stats.measure_id, stats.collection_type.value))
                if tin_measure is not None:
                    patients = tin_measure.eligible_population
                share = f"{100 * patients / total:.0f}%" if total else "—"
                detail = ""
                if tin_measure is not None:
                    detail = (
                        f"<div class='reason'>rate {_fmt(tin_measure.performance_rate)} · complete "
                        f"{_fmt(tin_measure.data_completeness, digits=0)}</div>"
                    )
                cells.append(
                    f"<td class='num'>{patients:,} <span class='measure-title'>({share})</span>{detail}</td>"
                )
            body.append("<tr>" + "".join(cells) + "</tr>")
        tables.append(f"<div class='table-wrap'><table>{head}</tr>{''.join(body)}</table></div>")
    return "".join(tables)


def _roster(scored: ScoredSync) -> str:
    inputs = scored.inputs
    mcqm = [
        s for s in inputs.stats if s.collection_type == CollectionType.MCQM or s.roster_coverage is not None
    ]
    lines = []
    if inputs.roster_size is not None:
        lines.append(f"<p>{inputs.roster_size:,} Medicare beneficiaries on the active roster.</p>")
    else:
        lines.append('<p class="empty">No active roster for this sync.</p>')
    if mcqm:
        rows = "".join(
            f"<tr><td><strong>{escape(s.measure_id)}</strong> {_badge(s.collection_type.value, 'ct')}</td>"
            f"<td class='num'>{s.eligible_population:,}</td>"
            f"<td class='num'>{_fmt(s.roster_coverage)}</td></tr>"
            for s in mcqm
        )
        lines.append(
            "<table><tr><th>Measure instance</th><th class='num'>Patients matched</th>"
            f"<th class='num'>Roster coverage</th></tr>{rows}</table>"
        )
    return "".join(lines)


def _log(entries: Sequence[SyncLogEntry]) -> str:
    if not entries:
        return '<p class="empty">Nothing was halted, skipped or removed.</p>'
    by_kind: dict[str, list[SyncLogEntry]] = {}
    for entry in entries:
        by_kind.setdefault(entry.kind, []).append(entry)
    html = []
    shown: set[str] = set()
    for kinds, title in LOG_SECTIONS:
        shown.update(kinds)
        group = [entry for kind in kinds for entry in by_kind.get(kind, [])]
        html.append(_log_group(title, group, empty=f"No {title.lower()}."))
    others = [e for e in entries if e.kind not in shown and e.level in ("warning", "error")]
    if others:
        html.append(_log_group("Other warnings", others, empty=""))
    counts = Counter(e.kind for e in entries)
    summary = " · ".join(f"{escape(kind)}: {n}" for kind, n in sorted(counts.items()))
    return f'<p class="hint">{len(entries)} log entries ({summary})</p>' + "".join(html)


_REPEATED_ROW = re.compile(r", (row|line) (\d+): (Row|Line) \2 ")


def located_once(message: str) -> str:
    """``"t.csv, row 44: Row 44 rejected: ..."`` -> ``"t.csv, row 44: rejected: ..."`` (the location once)."""
    return _REPEATED_ROW.sub(lambda m: f", {m.group(1)} {m.group(2)}: ", message)


def _log_group(title: str, entries: Iterable[SyncLogEntry], *, empty: str, limit: int = 200) -> str:
    items = list(entries)
    if not items:
        return f'<div class="log-group"><h3>{escape(title)}</h3><p class="empty">{escape(empty)}</p></div>'
    lis = []
    for entry in items[:limit]:
        message = located_once(entry.message)
        file_part = (f"{entry.file}" + (f" line {entry.line}" if entry.line else "")) if entry.file else ""
        where = ", ".join(
            part
            for part in (
                f"measure {entry.measure_id}" if entry.measure_id and entry.measure_id not in message else "",
                f"TIN {entry.tin}" if entry.tin and entry.tin not in message else "",
                file_part if entry.file and entry.file.rsplit("/", 1)[-1] not in message else "",
            )
            if part
        )
        lis.append(
            f'<li class="level-{escape(entry.level)}">{escape(message)}'
            + (f" <span class='measure-title'>({escape(where)})</span>" if where else "")
            + "</li>"
        )
    more = f"<li>… and {len(items) - limit} more (see the sync log)</li>" if len(items) > limit else ""
    return (
        f'<div class="log-group"><h3>{escape(title)} ({len(items)})</h3><ul>{"".join(lis)}{more}</ul></div>'
    )


def _targets(scored: ScoredSync) -> str:
    targets = ranked_targets(scored)
    if not targets:
        return '<p class="empty">No scored measure below decile 10.</p>'
    items = "".join(
        f"<li>{escape(t.message[:1].upper() + t.message[1:])}: "
        f"<strong>+{t.points_gained:.2f} points</strong> "
        f"<span class='measure-title'>({t.points_per_patient:.2f} per patient, "
        f"+{t.score_gained:.2f} on the quality score)</span></li>"
        for t in targets
    )
    return f'<ol class="targets">{items}</ol>'


def _delta(now: float | None, before: Any, digits: int = 2, suffix: str = "") -> str:
    if now is None or not isinstance(before, int | float) or isinstance(before, bool):
        return "<span class='delta-same'>new</span>" if now is not None and before is None else ""
    change = now - float(before)
    kind = "delta-same" if abs(change) < 10**-digits / 2 else "delta-up" if change > 0 else "delta-down"
    return f"<span class='{kind}'>{change:+.{digits}f}{suffix}</span>"


def _since_last_sync(scored: ScoredSync) -> str:
    """Rates, points and patients against the previous sync of the same ACO and year, when there is one."""
    previous = scored.inputs.previous
    if not previous:
        return ""
    before = {
        (m.get("measure_id"), m.get("collection_type")): m
        for m in previous.get("measures") or []
        if isinstance(m, dict)
    }
    rows = []
    for score in scored.scores:
        old = before.get((score.measure_id, score.collection_type.value), {})
        inverse_note = " <span class='measure-title'>(lower is better)</span>" if score.inverse else ""
        rows.append(
            f"<tr><td><strong>{escape(score.instance)}</strong>{inverse_note}</td>"
            f"<td class='num'>{_fmt(score.performance_rate)} "
            f"{_delta(score.performance_rate, old.get('performance_rate'), suffix=' pts')}</td>"
            f"<td class='num'>{_fmt(score.points, '', 2)} {_delta(score.points, old.get('points'))}</td>"
            f"<td class='num'>{score.eligible_population:,} "
            f"{_delta(float(score.eligible_population), old.get('eligible_population'), 0)}</td></tr>"
        )
    patients = scored.inputs.aco_patients
    summary = (
        f"Quality score {_fmt(scored.quality.score, '', 2)} "
        f"{_delta(scored.quality.score, previous.get('quality_score'))} · ACO patients {patients:,} "
        f"{_delta(float(patients), previous.get('aco_patients'), 0)}"
    )
    return (
        '<section class="panel"><h2>Since the last sync</h2>'
        f"<p class='hint'>Compared with sync {escape(str(previous.get('sync_id', '')))} of "
        f"{escape(_when(previous.get('generated_at')))} (same ACO and performance year).</p>"
        f"<p>{summary}</p><div class='table-wrap'><table><tr><th>Measure instance</th><th class='num'>Rate"
        "</th><th class='num'>Points</th><th class='num'>Eligible patients</th></tr>"
        f"{''.join(rows)}</table></div></section>"
    )


GLOSSARY = (
    ("Measure instance", "A measure as the ACO reports it through one collection type, e.g. M236 CQM."),
    (
        "Collection type",
        "How the clinics submitted the data: eCQM (electronic, from QRDA I files), CQM (registry "
        "templates) or MCQM (Medicare CQM: the CQM restricted to the ACO's Medicare roster).",
    ),
    ("Eligible population", "The patients the measure applies to (its denominator)."),
    ("Met / Not met", "Patients who did / did not meet the measure's numerator."),
    (
        "Exclusions / Exceptions",
        "Patients taken out of the denominator (exclusion) or excused for a documented reason (exception).",
    ),
    (
        "Performance rate",
        "Met ÷ (met + not met). For an inverse measure (e.g. HbA1c poor control) lower is better.",
    ),
    (
        "Data completeness",
        "Share of eligible patients whose performance was reported (met, not met, exclusion or exception)."
        " Below 75% a measure earns 0 points.",
    ),
    ("Case minimum", "A measure needs at least 20 eligible patients to be scored."),
    ("Benchmark decile", "Where the rate falls among CMS's benchmark deciles 1 (lowest) to 10 (highest)."),
    ("Points", "Decile k plus the share of the decile reached (1 to 10 per measure)."),
    (
        "Topped out",
        "A measure most reporters already score very high on; CMS caps its points at 7. Its chart axis is"
        " zoomed so the crowded deciles stay readable.",
    ),
    (
        "Scored; another instance counts",
        "The measure was scored through two collection types; only the higher-scoring one counts in the"
        " quality score.",
    ),
    (
        "ACO patient (MASTER_PAT_ID)",
        "One person across all TINs: records with the same first name, last name, birth date and gender"
        " share an ACO patient id. Probable duplicates (typos, nicknames) are listed for review, never"
        " merged.",
    ),
    ("Roster coverage", "Share of the Medicare roster's beneficiaries found in the clinics' data."),
)


def _glossary() -> str:
    items = "".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in GLOSSARY)
    return f'<section class="panel"><h2>Words in this report</h2><dl class="glossary">{items}</dl></section>'


def _app_plus(scored: ScoredSync) -> str:
    """The APP Plus quality score, its adjustments and the shared-savings outcome."""
    app = scored.app_plus
    if app is None:
        year = scored.inputs.settings.performance_year
        return f"<p>No APP Plus scoring rules for performance year {year}.</p>"
    rows = "".join(
        f"<tr><td>{escape(m.measure_id)}{' (outcome)' if m.outcome else ''}</td><td>{escape(m.source)}</td>"
        f"<td class='num'>{_fmt(m.points, '', 4)}</td><td>{escape(m.reason)}</td></tr>"
        for m in app.measures
    )
    facts = [
        ("Quality score", _fmt(app.quality_score, "")),
        ("Complex organization adjustment", f"{app.complex_organization_points:.2f} points"),
        (
            "Health equity adjustment",
            "not computed (no inputs)"
            if app.health_equity_bonus is None
            else f"+{app.health_equity_bonus:.2f}",
        ),
        ("Health equity adjusted score", _fmt(app.adjusted_score, "")),
        ("Quality performance standard", _fmt(app.standard_score, "")),
        (
            "Shared-savings outcome",
            app.outcome
            + (
                ""
                if app.sharing_rate_factor is None
                else f" (x {app.sharing_rate_factor:.4f} of the sharing rate)"
            ),
        ),
    ]
    problem = scored.inputs.cms_results_problem
    notes = [*app.reasons, app.standard_note, *([problem] if problem else [])]
    return (
        "<table><tbody>"
        + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
        + "</tbody></table>"
        + "<table><thead><tr><th>Measure</th><th>From</th><th>Points</th><th>Why</th></tr></thead>"
        + f"<tbody>{rows}</tbody></table>"
        + "<ul>"
        + "".join(f"<li>{escape(n)}</li>" for n in notes)
        + "</ul>"
    )


def _submission(scored: ScoredSync) -> str:
    """Which files go to CMS and how, drafts and why, refused files, measures not submittable."""
    plan = scored.submission
    if plan is None:
        return "<p>No submission files were prepared.</p>"
    data = plan.to_dict()
    rows = []
    for file in data["files"]:
        status = (
            _badge("Draft", "warn") + " " + escape("; ".join(file["draft_reasons"]))
            if file["draft"]
            else _badge("Ready", "ok")
        )
        rows.append(
            f"<tr><td><code>{escape(file['file'])}</code></td><td>{escape(file['route'])}</td>"
            f"<td>{escape(', '.join(file['measures']))}</td><td>{status}</td></tr>"
        )
    for refused in data["refused"]:
        rows.append(
            f"<tr><td><code>{escape(refused['file'])}</code></td><td>-</td><td>-</td>"
            f"<td>{_badge('Not written', 'bad')} {escape(refused['reason'])}</td></tr>"
        )
    table = (
        "<table><thead><tr><th>File</th><th>Submit through</th><th>Measures</th><th>Status</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p>No measure instance to submit.</p>"
    )
    not_submittable = "".join(
        f"<li><strong>{escape(n['instance'])}</strong> ({escape(n['qpp_measure_id'])}): "
        f"{escape(n['reason'])}</li>"
        for n in data["not_submittable"]
    )
    extra = f"<p>Computed, not submittable:</p><ul>{not_submittable}</ul>" if not_submittable else ""
    return (
        f"<p class='hint'>Program {escape(data['program_name'])}, APM entity {escape(data['entity_id'])}; "
        f"the eCQMs go in {escape(data['ecqm_submission_file'])} only.</p>{table}{extra}"
    )


def render_html(scored: ScoredSync) -> bytes:
    inputs = scored.inputs
    settings = inputs.settings
    name = settings.name or settings.aco_id
    benchmarks = scored.benchmarks
    note = f'<div class="note">{escape(benchmarks.note)}</div>' if benchmarks.note else ""
    generated = inputs.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(name)} · ACO quality report {settings.performance_year}</title>
<style>{CSS}</style></head>
<body>
<header>
  <h1>{escape(name)} — ACO quality report</h1>
  <div class="meta"><span>ACO {escape(settings.aco_id)}</span>
  <span>Performance year {settings.performance_year}</span>
  <span>Sync {escape(inputs.sync_id)}</span><span>Generated {escape(generated)}</span>
  <span>CMS benchmarks {benchmarks.performance_year}</span></div>
</header>
<main>
{_score_cards(scored)}
{note}
{_since_last_sync(scored)}
<section class="panel"><h2>What would lift the score</h2>
<p class="hint">Most points per patient first: the next decile of each measure that counts (with the same
patients in the denominator), and the patients to report for measures below 75% data completeness.</p>
{_targets(scored)}</section>
<section class="panel"><h2>APP Plus quality score and shared savings</h2>{_app_plus(scored)}</section>
<section class="panel"><h2>Submission to CMS</h2>{_submission(scored)}</section>
<section class="panel"><h2>Measures</h2>
<p class="hint">Counts in the QPP vocabulary. Scored measures need a CMS benchmark and at least 20 eligible
patients; below 75% data completeness a measure earns 0 points.</p>
{_measure_table(scored)}</section>
<section class="panel"><h2>Rates against CMS benchmark deciles</h2>{_charts(scored)}</section>
<section class="panel long"><h2>Member clinics (TINs)</h2>
<p class="hint">Each TIN's status, share of the ACO's patients and data completeness; then, per measure
instance, the patients it contributed (share of the instance; a patient seen by several TINs counts for
each), its own rate and data completeness. Each TIN's patients to chase are in gaps-&lt;TIN&gt;.csv.</p>
{_tin_table(scored)}</section>
<section class="panel"><h2>Medicare roster</h2>{_roster(scored)}</section>
<section class="panel long"><h2>Sync log: halts, skips, removals</h2>{_log(inputs.log)}</section>
{_glossary()}
</main>
<footer>Quality score = 100 × points ÷ (10 × measures scored). Points per measure: decile k plus the share
of the decile reached, 10 in decile 10, at least 1, topped-out measures capped at 7. This report contains
ACO patient ids (MASTER_PAT_IDs) and counts only, no names or birth dates. Generated by ACO Sync.</footer>
</body></html>
"""
    return body.encode("utf-8")
