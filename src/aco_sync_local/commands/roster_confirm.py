"""``aco-sync roster-confirm``: confirm a held roster (one that would drop more than the ACO's
``roster_max_drop_percent`` of the active roster's beneficiaries).

Confirming puts the marker ``rosters/<aco_id>/<year>/confirm/<file>`` where the roster-ingest rule sees
it: in a deployed stack's data bucket (``--stack``; the ingest function then activates the held roster
and starts a sync), or in a local folder (the next ``aco-sync run`` of the folder confirms it)."""

from __future__ import annotations

from pathlib import Path

import click

from aco_sync_local.commands._common import CommandError


def confirm_key(aco_id: str, year: int, file: str) -> str:
    return f"rosters/{aco_id}/{year}/confirm/{Path(file).name}"


@click.command("roster-confirm", short_help="Confirm a held roster so that it becomes the active roster.")
@click.argument("file")
@click.option("--aco", "aco_id", required=True, help="The ACO id.")
@click.option("--year", type=int, required=True, help="The roster's performance year.")
@click.option(
    "--folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="A local folder laid out like the data bucket.",
)
@click.option("--stack", metavar="NAME", default=None, help="A deployed stack (its DataBucketName output).")
@click.option("--region", default=None, help="With --stack: the stack's region.")
def command(
    file: str, aco_id: str, year: int, folder: Path | None, stack: str | None, region: str | None
) -> int:
    """Confirm the held roster FILE (its file name as uploaded, e.g. roster.csv).

    A roster that would drop a large share of the active roster's beneficiaries is held (the sync log
    says so). This confirms it: in FOLDER for the next local run, or with --stack in a deployed stack
    (which then starts a sync).
    """
    return confirm(file=file, aco_id=aco_id, year=year, folder=folder, stack=stack, region=region)


def confirm(
    *, file: str, aco_id: str, year: int, folder: Path | None, stack: str | None, region: str | None
) -> int:
    key = confirm_key(aco_id, year, file)
    if bool(folder) == bool(stack):
        raise click.UsageError("give either --folder FOLDER or --stack NAME")
    if folder:
        if not (folder / "config").is_dir():
            raise CommandError(f"{folder} is not laid out like the data bucket (no config/ folder)")
        marker = folder / key
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_bytes(b"")
        click.echo(f"Confirmed: {marker} (the next 'aco-sync run {folder}' activates the held roster)")
        return 0
    import boto3

    from aco_sync_local.deployed_stack import BUCKET_OUTPUT, stack_outputs

    session = boto3.Session(region_name=region)
    bucket = stack_outputs(stack or "", session)[BUCKET_OUTPUT]
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=b"")
    click.echo(
        f"Confirmed: s3://{bucket}/{key} (the roster-ingest function activates the roster and starts a sync)"
    )
    return 0
