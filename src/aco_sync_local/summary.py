"""Readable and JSON summaries of a local sync (``aco-sync run|demo|status|history|report``).

``run`` and ``demo`` print top-down, as a quality team reads: the result (status, score, measures), what
to fix (failed TINs, halts, rejected rows, skipped patients, duplicates to review), the details (per-TIN
status and completeness, every decision of the sync log, the execution history), every file written
and the next steps.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aco_sync.reports.html_report import located_once
from aco_sync_local.runner import LocalSyncResult

FIX_KINDS = {"halt", "abort", "ingest_error", "ingest_warning", "skip", "probable_duplicates", "missing_tins"}
FILE_DESCRIPTIONS = {
    "report.html": "the report: score, measures, per-TIN completeness, what to fix (prints on Letter/A4)",
    "measures.csv": "every measure instance: counts, rate, data completeness, decile, points, status",
    "measures.json": "the measure results as stored",
    "patients.csv": "each patient and measure: outcome, the deciding record's TIN, file, row, encounter id",
    "probable-duplicates.csv": "pairs of patients that look alike, for review (never merged)",
    "quality-score.json": "the ACO quality score, points per measure, ranked targets",
    "qrda3-ecqm.xml": "QRDA Category III of the eCQM instances (CMS submission)",
    "clinic_stats.json": "per-TIN rates and data completeness",
}


def terminal_safe(text: str) -> str:
    """``text`` with every control character but the line break escaped (``\\x1b``, ``\\u202e``): a
    name or file name pasted from Excel cannot move the cursor, recolour or reorder the terminal."""
    return "".join(
        c
        if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp")
        else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, indent: str = "  ") -> str:
    """A plain-text table with columns sized to their content (numbers right-aligned)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    numeric = [
        any(_is_number(row[i]) for row in rows)
        and all(_is_number(row[i]) for row in rows if row[i] is not None)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return (indent + "  ".join(parts)).rstrip()

    out = [line(list(headers)), indent + "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def format_duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms} ms"
    return f"{ms / 1000:.1f} s"


def _short_cause(cause: str | None, limit: int = 100) -> str | None:
    """The errorMessage of a Lambda error cause (JSON), else the cause itself, shortened."""
    if not cause:
        return None
    import json

    try:
        parsed = json.loads(cause)
    except (json.JSONDecodeError, TypeError):
        parsed = None
    text = str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sync_header(result: LocalSyncResult) -> str:
    sync = result.sync
    if sync is None:
        return f"ACO {result.aco_id}: no sync was recorded (folder {result.folder})"
    parts = [f"ACO {result.aco_id} - sync {sync.get('sync_id', '?')}: {sync.get('status', '?')}"]
    details = [f"trigger {sync.get('trigger', '?')}", f"started {sync.get('started', '?')}"]
    if sync.get("finished"):
        details.append(f"finished {sync['finished']}")
    parts.append("  " + ", ".join(details))
    if sync.get("error"):
        parts.append(f"  error: {sync['error']}")
    incomplete = sync.get("incomplete_tins") or []
    if incomplete:
        parts.append(
            f"  incomplete: {len(incomplete)} member TINs failed and are not in the results: "
            + ", ".join(incomplete)
        )
    return "\n".join(parts)


def _state_label(row: dict[str, Any]) -> str:
    label = "  " * int(row.get("depth") or 0) + str(row.get("state"))
    if row.get("iteration") is not None:
        label += f" [{row['iteration']}]"
    return label


def _with_retries(status: str | None, retries: int) -> str:
    if not retries:
        return str(status)
    return f"{status} after {retries} {'retry' if retries == 1 else 'retries'}"


def render_history(result: LocalSyncResult) -> str:
    """The execution history of every execution, as the Step Functions console summarises it."""
    if not result.executions:
        return "Execution history\n  (no executions)"
    blocks = ["Execution history"]
    for execution in result.executions:
        title = (
            f"  {execution.get('state_machine')} {execution.get('name')}: {execution.get('status')}"
            f" in {format_duration(execution.get('duration_ms'))}"
        )
        if execution.get("error"):
            title += f" ({execution['error']}: {_short_cause(execution.get('cause'))})"
        blocks.append(title)
        rows = [
            (
                _state_label(row),
                row.get("type"),
                _with_retries(row.get("status"), row.get("retries") or 0),
                format_duration(row.get("duration_ms")),
                ": ".join(filter(None, [row.get("error"), _short_cause(row.get("cause"))])) or None,
            )
            for row in execution.get("history", [])
        ]
        blocks.append(table(["State", "Type", "Status", "Duration", "Error"], rows, indent="    "))
    return "\n".join(blocks)


def render_clinics(result: LocalSyncResult) -> str:
    clinics = result.status.get("clinics") or []
    if not clinics:
        return "Member clinics (TINs)\n  (none recorded)"
    rows = [
        (c.get("tin"), c.get("name") or None, c.get("status"), c.get("reason"), c.get("last_synced"))
        for c in clinics
    ]
    return "Member clinics (TINs)\n" + table(["TIN", "Name", "Status", "Reason", "Last synced"], rows)


def render_measures(result: LocalSyncResult) -> str:
    measures = result.status.get("measures") or []
    if not measures:
        return "Aggregated measures\n  (no measure results)"
    rows = [_measure_counts(m) for m in measures]
    headers = ["Instance", "Eligible", "Met", "Not met", "Exclusions", "Exceptions", "Rate"]
    return "Aggregated measures\n" + table(headers, rows)


def _measure_counts(m: dict[str, Any]) -> tuple[object, ...]:
    """A measure instance's row of counts: instance, the five counts and the performance rate."""
    return (
        f"{m.get('measure_id')} {m.get('collection_type')}",
        m.get("eligible_population"),
        m.get("performance_met"),
        m.get("performance_not_met"),
        m.get("eligible_population_exclusion"),
        m.get("eligible_population_exception"),
        "-" if m.get("performance_rate") is None else f"{float(m['performance_rate']):.2f}%",
    )


def _context(entry: dict[str, Any], message: str) -> str:
    """The entry's measure, TIN and file, as far as its message does not already name them."""
    parts = [str(m) for m in [entry.get("measure_id")] if m and str(m) not in message]
    tin = entry.get("tin")
    if tin and str(tin) not in message:
        parts.append(f"TIN {tin}")
    file = entry.get("file")
    if file and str(file) not in message:
        parts.append(f"{file} line {entry['line']}" if entry.get("line") else str(file))
    return f" ({', '.join(parts)})" if parts else ""


def render_decisions(result: LocalSyncResult) -> str:
    log = result.status.get("log") or []
    skipped = result.status.get("skipped_triggers") or []
    roster_errors = [r for r in result.extra.get("rosters_ingested", []) if r.get("error")]
    lines = ["Decisions (sync log)"]
    for roster in roster_errors:
        lines.append(f"  [roster] {roster['key']} was not ingested: {roster['error']}")
    if not log and not skipped and not roster_errors:
        lines.append("  (none)")
    for entry in log:
        message = str(entry.get("message"))
        kind = entry.get("kind") or entry.get("level") or "info"
        lines.append(f"  [{kind}] {message}{_context(entry, message)}")
    for trigger in skipped:
        lines.append(
            f"  [skipped trigger] {trigger.get('trigger')} at {trigger.get('started')}: "
            f"{trigger.get('status')}"
        )
    return "\n".join(lines)


def render_report_location(result: LocalSyncResult) -> str:
    lines = ["Outputs"]
    if result.report_html:
        lines.append(f"  Report: {result.report_html}")
    elif result.results_dir:
        lines.append(f"  Results folder: {result.results_dir} (no report.html was written)")
    elif result.status.get("results_prefix"):
        lines.append(f"  Results: {result.status['results_prefix']} in the data bucket")
    else:
        lines.append("  (no results were written)")
    lines.extend(f"  {line}" for line in quality_score_lines(result))
    lines.extend(f"  {line}" for line in submission_lines(result))
    return "\n".join(lines)


def submission_lines(result: LocalSyncResult) -> list[str]:
    """Where the submission files are and whether they are drafts (from quality-score.json)."""
    submission = result.quality_score.get("submission") if isinstance(result.quality_score, dict) else None
    if not isinstance(submission, dict):
        return []
    where = (
        str(Path(result.report_html).parent)
        if result.report_html
        else result.results_dir or result.status.get("results_prefix") or "the results folder"
    )
    lines = [f"Submission files (in {where}):"] if submission.get("files") else []
    for file in submission.get("files", []):
        status = "DRAFT: " + "; ".join(file.get("draft_reasons", [])) if file.get("draft") else "ready"
        lines.append(f"  {file.get('file')} ({file.get('route')}): {status}")
    lines.extend(f"Not written: {r.get('file')}: {r.get('reason')}" for r in submission.get("refused", []))
    return lines


def quality_score_lines(result: LocalSyncResult) -> list[str]:
    """The ACO quality score from quality-score.json, or why there is none."""
    if not isinstance(result.quality_score, dict):
        return []
    score = quality_score_value(result)
    scored = result.quality_score.get("measures_scored")
    if score is None:
        reason = result.quality_score.get("note") or "no measure instance could be scored"
        return [f"ACO quality score: not available ({reason})"]
    suffix = f" ({scored} measure instances scored)" if isinstance(scored, int) else ""
    return [f"ACO quality score: {score:.2f}{suffix}", *app_plus_lines(result.quality_score.get("app_plus"))]


def app_plus_lines(app_plus: Any) -> list[str]:
    """The APP Plus score and the shared-savings outcome (quality-score.json ``app_plus``)."""
    if not isinstance(app_plus, dict) or app_plus.get("health_equity_adjusted_score") is None:
        return []
    scope = " (clinical measures only)" if app_plus.get("clinical_measures_only") else ""
    line = f"APP Plus quality score: {app_plus['health_equity_adjusted_score']:.2f}{scope}"
    standard = app_plus.get("quality_performance_standard")
    outcome = app_plus.get("shared_savings_outcome")
    if standard is not None:
        line += f"; quality performance standard {standard:.2f}: {outcome}"
        if outcome == "scaled sharing rate":
            line += f" (x {app_plus.get('sharing_rate_factor')})"
    return [line]


def quality_score_value(result: LocalSyncResult) -> float | None:
    score = result.quality_score
    if not isinstance(score, dict):
        return None
    for key in ("quality_score", "score", "aco_quality_score"):
        value = score.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


def sync_results_dir(result: LocalSyncResult) -> Path | None:
    """The local folder of the sync's result files (results/<aco_id>/<sync_id>/), when there is one."""
    if result.report_html:
        return Path(result.report_html).parent
    prefix = result.status.get("results_prefix")
    if result.results_dir and prefix:
        folder = Path(result.results_dir).parent.parent / prefix
        return folder if folder.is_dir() else None
    return None


def _clinic_stats(result: LocalSyncResult) -> list[dict[str, Any]]:
    folder = sync_results_dir(result)
    path = folder / "clinic_stats.json" if folder else None
    if path is None or not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def tin_completeness(clinic: dict[str, Any]) -> float | None:
    """A TIN's data completeness over all its measure instances: reported / eligible, in %."""
    eligible = reported = 0
    for m in clinic.get("measures") or []:
        eligible += int(m.get("eligible_population") or 0)
        reported += sum(
            int(m.get(k) or 0)
            for k in (
                "performance_met",
                "performance_not_met",
                "eligible_population_exclusion",
                "eligible_population_exception",
            )
        )
    return 100.0 * reported / eligible if eligible else None


def render_result(result: LocalSyncResult) -> str:
    """The first thing a quality team reads: did it work, the score, how many clinics made it."""
    sync = result.sync or {}
    clinics = result.status.get("clinics") or []
    complete = sum(1 for c in clinics if str(c.get("status", "")).lower().startswith("sync complete"))
    score = quality_score_value(result)
    lines = [
        f"Result: {sync.get('status', 'no sync was recorded')} "
        f"(ACO {result.aco_id}, sync {sync.get('sync_id', '?')})"
    ]
    if score is not None:
        scored = (result.quality_score or {}).get("measures_scored")
        lines.append(
            f"  ACO quality score {score:.2f} of 100"
            + (f" ({_plural(scored, 'measure')} scored)" if isinstance(scored, int) else "")
        )
    else:
        lines.extend(f"  {line}" for line in quality_score_lines(result))
    if isinstance(result.quality_score, dict) and score is not None:
        lines.extend(f"  {line}" for line in app_plus_lines(result.quality_score.get("app_plus")))
    if clinics:
        lines.append(f"  {complete} of {_plural(len(clinics), 'member clinic')} synced")
    patients = (result.quality_score or {}).get("aco_patients")
    if isinstance(patients, int):
        lines.append(f"  {_plural(patients, 'ACO patient')} (de-duplicated across TINs)")
    previous = _previous_line(result)
    if previous:
        lines.append(f"  {previous}")
    if sync.get("error"):
        lines.append(f"  error: {sync['error']}")
    return "\n".join(lines)


def _previous_line(result: LocalSyncResult) -> str | None:
    prefix, sync_id = str(result.status.get("results_prefix") or ""), str((result.sync or {}).get("id") or "")
    if prefix and sync_id and f"/{sync_id}/" not in prefix:  # nothing changed: an earlier sync's results
        earlier = prefix.rstrip("/").rsplit("/", 1)[-1]
        return f"Since the last sync ({earlier}): no change (nothing changed, its results are this sync's)"
    delta = (result.quality_score or {}).get("since_previous")
    if not isinstance(delta, dict) or delta.get("quality_score") is None:
        return None
    change = float(delta["quality_score"])
    return f"Since the last sync ({delta.get('sync_id')}): quality score {change:+.2f}"


def render_measures_scored(result: LocalSyncResult) -> str:
    """The aggregated measures with their points and scoring status (from quality-score.json)."""
    measures = result.status.get("measures") or []
    if not measures:
        return "Aggregated measures\n  (no measure results)"
    scores = {
        (m.get("measure_id"), m.get("collection_type")): m
        for m in (result.quality_score or {}).get("measures") or []
        if isinstance(m, dict)
    }
    rows = []
    for m in measures:
        score = scores.get((m.get("measure_id"), m.get("collection_type")), {})
        rows.append(
            (
                *_measure_counts(m),
                "-" if m.get("data_completeness") is None else f"{float(m['data_completeness']):.0f}%",
                "-" if score.get("points") is None else f"{float(score['points']):.2f}",
                str(score.get("status", "-")).replace("_", " "),
            )
        )
    headers = [
        "Instance",
        "Eligible",
        "Met",
        "Not met",
        "Excl.",
        "Excep.",
        "Rate",
        "Complete",
        "Points",
        "Scoring",
    ]
    return "Aggregated measures\n" + table(headers, rows)


def render_fixes(result: LocalSyncResult) -> str:
    """What to fix, most blocking first: failed TINs, halts, roster files, rejected rows, skipped
    patients, duplicates to review, then the targets that lift the score most per patient."""
    lines = ["What to fix"]
    for clinic in result.status.get("clinics") or []:
        if "fail" in str(clinic.get("status", "")).lower():
            lines.append(
                f"  TIN {clinic.get('tin')} did not sync: {clinic.get('reason') or 'no reason recorded'}"
            )
    for roster in result.extra.get("rosters_ingested", []):
        if roster.get("error"):
            lines.append(f"  Roster {roster['key']} was not ingested: {roster['error']}")
    log = result.status.get("log") or []
    order = ["abort", "halt", "missing_tins", "ingest_error", "ingest_warning", "skip", "probable_duplicates"]
    for kind in order:
        for entry in log:
            if entry.get("kind") != kind:
                continue
            if kind == "probable_duplicates" and entry.get("level") != "warning":
                continue  # the pairs themselves are in probable-duplicates.csv
            message = located_once(str(entry.get("message")))
            lines.append(f"  {message}{_context(entry, message)}")
    targets = (result.quality_score or {}).get("ranked_targets") or []
    if targets:
        lines.append("  To lift the score (most points per patient first):")
        for target in targets[:5]:
            lines.append(
                f"    {target['message'][:1].upper()}{target['message'][1:]}: "
                f"+{float(target['points_gained']):.2f} points "
                f"({float(target['points_per_patient']):.2f} per patient)"
            )
    if len(lines) == 1:
        lines.append("  Nothing: every file, row and clinic synced.")
    return "\n".join(lines)


def render_clinics_detail(result: LocalSyncResult) -> str:
    """Per-TIN status with patients and data completeness (from clinic_stats.json, when written)."""
    clinics = result.status.get("clinics") or []
    if not clinics:
        return "Member clinics (TINs)\n  (none recorded)"
    stats = {str(c.get("tin")): c for c in _clinic_stats(result)}
    rows = []
    for c in clinics:
        tin_stats = stats.get(str(c.get("tin")), {})
        completeness = tin_completeness(tin_stats) if tin_stats else None
        rows.append(
            (
                c.get("tin"),
                c.get("name") or None,
                c.get("status"),
                tin_stats.get("patients"),
                None if completeness is None else f"{completeness:.0f}%",
                c.get("reason"),
                c.get("last_synced"),
            )
        )
    headers = ["TIN", "Name", "Status", "Patients", "Complete", "Reason", "Last synced"]
    text = "Member clinics (TINs)\n" + table(headers, rows)
    rates = render_tin_rates(result)
    return text + ("\n\n" + rates if rates else "")


def render_tin_rates(result: LocalSyncResult) -> str:
    """Each TIN's own rate per measure instance, with its data completeness: which TIN to chase."""
    clinic_stats = _clinic_stats(result)
    if not clinic_stats:
        return ""
    instances = sorted(
        {(m["measure_id"], m["collection_type"]) for c in clinic_stats for m in c.get("measures") or []}
    )
    rows = []
    for clinic in sorted(clinic_stats, key=lambda c: str(c.get("tin"))):
        by_instance = {(m["measure_id"], m["collection_type"]): m for m in clinic.get("measures") or []}
        cells: list[Any] = [clinic.get("tin")]
        for instance in instances:
            m = by_instance.get(instance)
            if m is None:
                cells.append(None)
                continue
            rate = "-" if m.get("performance_rate") is None else f"{float(m['performance_rate']):.0f}%"
            complete = "-" if m.get("data_completeness") is None else f"{float(m['data_completeness']):.0f}%"
            cells.append(f"{rate} ({complete})")
        rows.append(cells)
    headers = ["TIN", *(f"{m} {t}" for m, t in instances)]
    return "Per-TIN rate (data completeness)\n" + table(headers, rows)


def render_files(result: LocalSyncResult) -> str:
    """Every file the sync wrote, with what it is for."""
    folder = sync_results_dir(result)
    lines = ["Files written"]
    if folder is None:
        if result.status.get("results_prefix"):
            lines.append(f"  {result.status['results_prefix']} in the data bucket")
        else:
            lines.append("  (no results were written)")
        return "\n".join(lines)
    lines.append(f"  {folder}/")
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        name = path.name
        base = name.removeprefix("DRAFT-")
        if name.startswith("gaps-"):
            tin = name.removeprefix("gaps-").removesuffix(".csv")
            what = f"TIN {tin}: patients who count against a measure, with the chart to pull"
        elif base.startswith("qpp-submission"):
            what = "the QPP Submissions API file" + (" (draft)" if name != base else "")
        else:
            what = FILE_DESCRIPTIONS.get(base, "") + (" (draft)" if name != base else "")
        lines.append(f"    {name:<28} {what}".rstrip())
    lines.extend(f"  {line}" for line in submission_lines(result))
    return "\n".join(lines)


def render_next_steps(result: LocalSyncResult) -> str:
    folder = result.folder if not result.folder.startswith("stack ") else "<folder>"
    results = sync_results_dir(result)
    log = result.status.get("log") or []
    problems = any(e.get("kind") in FIX_KINDS for e in log) or any(
        "fail" in str(c.get("status", "")).lower() for c in result.status.get("clinics") or []
    )
    steps = ["Next steps"]
    steps.append("  Open the report:              aco-sync report --open")
    if problems:
        steps.append(f"  Fix the files named above, then check them: aco-sync validate {folder}")
    if results and any(results.glob("gaps-*.csv")):
        steps.append("  Send each clinic its gaps-<TIN>.csv (each row names the file and row or encounter)")
    if results and (results / "probable-duplicates.csv").is_file():
        steps.append(
            "  Review probable-duplicates.csv: fill `decision` (same / not_same) and save it as "
            f"reviews/{result.aco_id}/duplicate-decisions.csv in the folder; the next sync applies it"
        )
    steps.append(f"  Sync again after fixes:       aco-sync run {folder}  (the report then shows the change)")
    steps.append(
        "  Submit to CMS:                the submission files listed above (a draft needs the settings' "
        "submission ids first, docs/SCORING.md)"
    )
    return "\n".join(steps)


def render_summary(result: LocalSyncResult) -> str:
    """Everything ``aco-sync run`` prints, top-down: result, what to fix, details, files, next steps."""
    sections = [
        render_result(result),
        render_measures_scored(result),
        render_fixes(result),
        render_clinics_detail(result),
        render_decisions(result),
        render_history(result),
        render_files(result),
        render_next_steps(result),
    ]
    return terminal_safe("\n\n".join(sections) + "\n")


def render_status(result: LocalSyncResult) -> str:
    """``aco-sync status``: the latest sync, per-TIN status and completeness, and the measures."""
    sections = [
        render_result(result)
        + (
            "\n  from " + result.folder
            if result.folder.startswith("stack ")
            else f"\n  local run finished {result.finished_at}"
        ),
        render_measures_scored(result),
        render_clinics_detail(result),
        render_report_location(result),
    ]
    return terminal_safe("\n\n".join(sections) + "\n")


def summary_json(result: LocalSyncResult) -> dict[str, Any]:
    """``--json``: the aggregated measure results and per-TIN status (plus the sync they belong to)."""
    return {
        "aco_id": result.aco_id,
        "sync": result.sync,
        "clinics": result.status.get("clinics") or [],
        "measures": result.status.get("measures") or [],
        "executions": [
            {k: e.get(k) for k in ("state_machine", "name", "status", "duration_ms", "error", "cause")}
            for e in result.executions
        ],
        "report_html": result.report_html,
        "quality_score": result.quality_score,
    }
