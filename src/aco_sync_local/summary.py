"""Readable and JSON summaries of a local sync (``aco-sync run|demo|status|history|report``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aco_sync_local.runner import LocalSyncResult

MAX_LOG_LINES = 40


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
    rows = [
        (
            f"{m.get('measure_id')} {m.get('collection_type')}",
            m.get("eligible_population"),
            m.get("performance_met"),
            m.get("performance_not_met"),
            m.get("eligible_population_exclusion"),
            m.get("eligible_population_exception"),
            "-" if m.get("performance_rate") is None else f"{float(m['performance_rate']):.2f}%",
        )
        for m in measures
    ]
    headers = ["Instance", "Eligible", "Met", "Not met", "Exclusions", "Exceptions", "Rate"]
    return "Aggregated measures\n" + table(headers, rows)


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
    for entry in log[:MAX_LOG_LINES]:
        message = str(entry.get("message"))
        kind = entry.get("kind") or entry.get("level") or "info"
        lines.append(f"  [{kind}] {message}{_context(entry, message)}")
    if len(log) > MAX_LOG_LINES:
        lines.append(f"  ... {len(log) - MAX_LOG_LINES} more entries (see the report)")
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


def render_summary(result: LocalSyncResult) -> str:
    """Everything ``aco-sync run`` prints: history, per-TIN status, measures, decisions, outputs."""
    sections = [
        sync_header(result),
        render_history(result),
        render_clinics(result),
        render_measures(result),
        render_decisions(result),
        render_report_location(result),
    ]
    return "\n\n".join(sections) + "\n"


def render_status(result: LocalSyncResult) -> str:
    """``aco-sync status``: the latest sync, per-TIN status and the measures."""
    sections = [
        sync_header(result)
        + (
            "\n  from " + result.folder
            if result.folder.startswith("stack ")
            else f"\n  local run finished {result.finished_at}"
        ),
        render_clinics(result),
        render_measures(result),
        render_report_location(result),
    ]
    return "\n\n".join(sections) + "\n"


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
