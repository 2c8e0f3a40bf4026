"""``aco-sync report``: where the latest sync's report.html is, and the ACO quality score.

With ``--stack NAME`` the latest sync of a deployed stack: its ``results/<aco_id>/<sync_id>/`` files are
downloaded from the data bucket first (default ``./.aco-sync/stack-results/<aco_id>/<sync_id>/``).
"""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from aco_sync_local.commands._common import error, stack_options, state_dir_option
from aco_sync_local.runner import LocalSyncResult, load_latest_result
from aco_sync_local.summary import quality_score_lines


@click.command("report", short_help="The latest report's path and the quality score.")
@state_dir_option
@stack_options
@click.option(
    "--out",
    metavar="DIR",
    type=click.Path(path_type=Path, file_okay=False),
    help="With --stack: where to download the sync's results "
    "(default: ./.aco-sync/stack-results/<aco_id>/<sync_id>/).",
)
@click.option("--open", "open_report", is_flag=True, help="Open the report in the default browser.")
def command(
    state_dir: Path,
    stack: str | None,
    aco_id: str | None,
    region: str | None,
    out: Path | None,
    open_report: bool,
) -> int:
    """Print the path of the latest sync's HTML report and the ACO quality score.

    The report prints on Letter or A4 (File > Print in the browser). With --stack the sync's result
    files are downloaded from the deployed stack first.
    """
    if out is not None and not stack:
        return error("--out needs --stack (a local sync's report is already in the state folder)")
    result = _load_report(state_dir, stack, aco_id, region, out)
    if not result.report_html or not Path(result.report_html).is_file():
        where = result.results_dir or state_dir
        return error(f"the latest sync ({result.aco_id}) wrote no report.html (results: {where})")
    click.echo(result.report_html)
    for line in quality_score_lines(result):
        click.echo(line)
    if open_report:
        webbrowser.open(Path(result.report_html).resolve().as_uri())
    return 0


def _load_report(
    state_dir: Path, stack: str | None, aco_id: str | None, region: str | None, out: Path | None
) -> LocalSyncResult:
    if stack:
        import boto3

        from aco_sync_local.deployed_stack import download_stack_results

        return download_stack_results(stack, aco_id, out_dir=out, session=boto3.Session(region_name=region))
    return load_latest_result(state_dir)
