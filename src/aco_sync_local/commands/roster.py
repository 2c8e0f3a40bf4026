"""``aco-sync roster-confirm``: confirm a held roster (one that would drop more than the ACO's
``roster_max_drop_percent`` of the active roster's beneficiaries).

Confirming puts the marker ``rosters/<aco_id>/<year>/confirm/<file>`` where the roster-ingest rule sees
it: in a deployed stack's data bucket (``--stack``; the ingest function then activates the held roster
and starts a sync), or in a local folder (the next ``aco-sync run`` of the folder confirms it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from aco_sync_local.commands._common import error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "roster-confirm",
        help="confirm a held roster so that it becomes the active roster",
        description="A roster that would drop a large share of the active roster's beneficiaries is held "
        "(the sync log says so). This confirms it: in FOLDER for the next local run, or with --stack in a "
        "deployed stack (which then starts a sync).",
    )
    parser.add_argument("file", help="the held roster's file name, as uploaded (e.g. roster.csv)")
    parser.add_argument("--aco", dest="aco_id", required=True, help="the ACO id")
    parser.add_argument("--year", type=int, required=True, help="the roster's performance year")
    parser.add_argument("--folder", type=Path, help="a local folder laid out like the data bucket")
    parser.add_argument("--stack", metavar="NAME", help="a deployed stack (its DataBucketName output)")
    parser.add_argument("--region", help="with --stack: the stack's region (default: boto3's configuration)")
    parser.set_defaults(func=main)


def confirm_key(aco_id: str, year: int, file: str) -> str:
    return f"rosters/{aco_id}/{year}/confirm/{Path(file).name}"


def main(args: argparse.Namespace) -> int:
    key = confirm_key(args.aco_id, args.year, args.file)
    if bool(args.folder) == bool(args.stack):
        return error("give either --folder FOLDER or --stack NAME")
    if args.folder:
        if not (args.folder / "config").is_dir():
            return error(f"{args.folder} is not laid out like the data bucket (no config/ folder)")
        marker = args.folder / key
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_bytes(b"")
        print(f"Confirmed: {marker} (the next 'aco-sync run {args.folder}' activates the held roster)")
        return 0
    import boto3

    from aco_sync_local.deployed_stack import BUCKET_OUTPUT, stack_outputs

    session = boto3.Session(region_name=args.region)
    bucket = stack_outputs(args.stack, session)[BUCKET_OUTPUT]
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=b"")
    print(
        f"Confirmed: s3://{bucket}/{key} (the roster-ingest function activates the roster and starts a sync)"
    )
    return 0
