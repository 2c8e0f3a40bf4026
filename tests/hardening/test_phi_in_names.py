"""PHI in names of things (docs/SECURITY.md): clinics name QRDA-I files after their patient. Real QRDA-I
fixtures (../shared/fixtures/qrda), a demo patient's document, a zip and a synthetic template are
uploaded under their patient's name and birth date; after whole syncs (through the local runner, and
through the boto3 adapters over moto with the real template and ASL) no object key (every version and
delete marker), no path in the state folder, no key attribute of the table (or the local state file),
no log line and no Step Functions payload holds any of those names or birth dates, while the sync log,
``aco-sync status`` and the report still name each file as the user named it. Renaming, editing and
removing a file keep the incremental sync working."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fault_support import ingest_roster_event, run_sync, upload_aco
from test_phi_in_logs import _found, every_log_record  # noqa: F401 - the fixture

import aco_sync_local.moto_patches as moto_patches
from aco_sync.domain.catalog import default_catalog
from aco_sync.ingest.qrda import parse_qrda
from aco_sync.service.clinic_uploads import MANIFEST
from aco_sync_local.demo_data import TIN_CQM_A, TIN_ECQM, write_demo_aco
from aco_sync_local.local_aws import LocalAws
from aco_sync_local.local_stack import LocalStack
from aco_sync_local.runner import run_local_sync
from aco_sync_local.summary import render_summary
from shared_fixtures import shared_path

pytestmark = pytest.mark.slow

# a real QRDA-I fixture -> the file name a clinic gives it (family/given name and birth date, as exported)
REAL_FIXTURES = {
    "09_HL7_QRDA_I_STU5_3_Sample_v1.1.xml": "Everygirl_Eve_19920201.xml",
    "13_HL7_QRDA_I_STU4_NQF0056.xml": "Jones, Skott 1969-02-01.xml",
    "25_cypress_0_John_Smith_qdm56_with_calcs.xml": "Smith_John_01-01-1990.xml",
}
ZIP_NAME = "Mendez_Beth_19750320.zip"  # 36_popHealth_sample_cat1_2013.xml (Beth Mendez) and 34 inside
ZIP_MEMBERS = {
    "36_popHealth_sample_cat1_2013.xml": "Mendez_Beth_19750320.xml",
    "34_hds_cat1_r3_good.xml": "Flores_Norman_1989-01-01.xml",
}
KNOWN = {*REAL_FIXTURES.values(), ZIP_NAME}
TEMPLATE_NAME = "Okonkwo_Thomasina_19500203.csv"  # synthetic: a template exported for one patient
SYNTHETIC = {"Okonkwo", "Thomasina", "OKONKWO", "THOMASINA", "19500203", "1950-02-03", "02/03/1950"}


def _date_forms(value: date) -> set[str]:
    return {
        value.isoformat(),
        value.strftime("%Y%m%d"),
        value.strftime("%m/%d/%Y"),
        value.strftime("%m-%d-%Y"),
    }


def _names_and_dates(document: bytes) -> set[str]:
    parsed = parse_qrda(document, file_name="x.xml", catalog=default_catalog())
    found = {n for n in (*parsed.given_names, parsed.family_name) if n and len(n) >= 3}
    found |= {n.upper() for n in found}
    return found | (_date_forms(parsed.birth_date) if parsed.birth_date else set())


def write_patient_named_aco(folder: Path) -> tuple[str, set[str], dict[str, str]]:
    """The demo ACO plus patient-named uploads: (aco_id, the names and birth dates, TIN-folder path of
    each patient-named file -> its TIN)."""
    import zipfile

    aco_id = write_demo_aco(folder)
    qrda = folder / f"members/{aco_id}/{TIN_ECQM}/qrda"
    phi = set(SYNTHETIC)
    named: dict[str, str] = {}
    for fixture, name in REAL_FIXTURES.items():
        data = shared_path("fixtures", "qrda", fixture).read_bytes()
        (qrda / name).write_bytes(data)
        phi |= _names_and_dates(data)
        named[f"qrda/{name}"] = TIN_ECQM
    with zipfile.ZipFile(qrda / ZIP_NAME, "w") as archive:
        for fixture, member in ZIP_MEMBERS.items():
            data = shared_path("fixtures", "qrda", fixture).read_bytes()
            archive.writestr(member, data)
            phi |= _names_and_dates(data)
    named[f"qrda/{ZIP_NAME}"] = TIN_ECQM
    # a demo patient's valid 2025 document, renamed after its patient (its encounters are counted)
    demo = qrda / "patient_001.xml"
    parsed = parse_qrda(demo.read_bytes(), file_name="x.xml", catalog=default_catalog())
    assert parsed.birth_date is not None
    demo_name = f"{parsed.family_name}_{parsed.given_names[0]}_{parsed.birth_date:%Y%m%d}.xml"
    phi |= _names_and_dates(demo.read_bytes())
    demo.rename(qrda / demo_name)
    named[f"qrda/{demo_name}"] = TIN_ECQM
    templates = folder / f"members/{aco_id}/{TIN_CQM_A}/templates"
    header, first = next(templates.glob("*.csv")).read_text().splitlines()[:2]
    npi = first.split(",")[8]
    (templates / TEMPLATE_NAME).write_text(
        f"{header}\n236,CQM,Thomasina,Okonkwo,1950-02-03,F,2025-05-01,MET,{npi},ENC-PHI-1,,,128,70\n"
    )
    named[f"templates/{TEMPLATE_NAME}"] = TIN_CQM_A
    assert {"Everygirl", "Skott", "Smith", "Flores", "Mendez", "19920201", "1990-01-01"} <= phi
    return aco_id, phi, named


def _sqlite_key_values(path: Path) -> list[str]:
    """Every value of every primary-key and index column of every table of the local state file."""
    values: list[str] = []
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[5]}
            for index in db.execute(f"PRAGMA index_list({table})").fetchall():
                columns |= {row[2] for row in db.execute(f"PRAGMA index_info({index[1]})")}
            for column in sorted(c for c in columns if c):
                values.extend(str(v[0]) for v in db.execute(f'SELECT "{column}" FROM {table}'))
    return values


def _file_lines(log: list[dict[str, Any]]) -> dict[str, str]:
    return {str(e["file"]): str(e["message"]) for e in log if e.get("kind") == "file" and e.get("file")}


def test_a_local_sync_keeps_patient_names_out_of_paths_keys_logs_and_payloads(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    every_log_record: Any,  # noqa: F811 - the fixture imported above
) -> None:
    folder = tmp_path / "aco"
    aco_id, phi, named = write_patient_named_aco(folder)
    state = tmp_path / "state"
    named_copy = state / "bucket" / f"members/{aco_id}/{TIN_ECQM}/qrda/Everygirl_Eve_19920201.xml"
    named_copy.parent.mkdir(parents=True)
    named_copy.write_bytes(b"<a copy of an earlier run, stored under its own name/>")  # an older layout
    raw_events: list[str] = []  # every event of every execution: state inputs, outputs, parameters
    real_history = LocalStack.execution_history

    def history(self: LocalStack, execution_arn: str) -> Any:
        # the execution's and its distributed Map's child executions' (the clinics' states)
        for arn in [execution_arn, *self.child_executions(execution_arn)]:
            raw_events.extend(json.dumps(e, default=str) for e in self.raw_history(arn))
        return real_history(self, execution_arn)

    monkeypatch.setattr(LocalStack, "execution_history", history)
    # every handler in this process (no Map worker processes): every log record reaches the recorder
    monkeypatch.setenv("ACO_SYNC_LOCAL_WORKERS", "0")
    result = run_local_sync(folder, state_dir=state, handler_log_level="DEBUG")
    monkeypatch.undo()
    assert result.succeeded, json.dumps(result.executions, default=str)[:3000]
    out, err = capfd.readouterr()

    paths = [p.relative_to(state).as_posix() for p in state.rglob("*")]
    assert _found(phi, paths) == {}
    manifest = json.loads((state / "bucket" / f"members/{aco_id}/{TIN_ECQM}" / MANIFEST).read_text())
    assert {n for n, tin in named.items() if tin == TIN_ECQM} <= {f["name"] for f in manifest["files"]}
    assert _found(phi, _sqlite_key_values(state / "state.db")) == {}
    lines = [*out.splitlines(), *err.splitlines(), *every_log_record.lines]
    assert any("Clinic synced" in line for line in lines), "handler logs not captured"
    assert _found(phi, lines) == {}
    assert any(TIN_ECQM in event and "Sync Member Clinic" in event for event in raw_events), "no payloads"
    assert _found(phi, raw_events) == {}

    # where the user reads it, each file has the name the user gave it, with its accounting
    file_lines = _file_lines(result.status["log"])
    for name, tin in named.items():
        assert file_lines[name].startswith(f"TIN {tin}: {name}: "), file_lines.get(name)
    demo_name = next(n for n in named if n.startswith("qrda/") and n.removeprefix("qrda/") not in KNOWN)
    assert file_lines[demo_name].endswith("1 document read: 1 accepted, 0 rejected")
    assert result.report_html is not None
    report = Path(result.report_html).read_text(encoding="utf-8")
    assert all(name.rsplit("/", 1)[1].replace(",", "") in report.replace(",", "") for name in named)
    assert f"qrda/{REAL_FIXTURES['09_HL7_QRDA_I_STU5_3_Sample_v1.1.xml']}" in render_summary(result)

    # rename (identical content), edit under the same name, remove: the incremental sync still works
    ecqm_dir = folder / f"members/{aco_id}/{TIN_ECQM}/qrda"
    objects_before = {f["object"] for f in manifest["files"]}
    (ecqm_dir / demo_name.removeprefix("qrda/")).rename(ecqm_dir / "renamed_after_the_patient.xml")
    template = folder / f"members/{aco_id}/{TIN_CQM_A}/templates/{TEMPLATE_NAME}"
    template.write_text(template.read_text().replace(",MET,", ",NOT_MET,"))
    second = run_local_sync(folder, state_dir=state)
    assert second.succeeded
    assert "qrda/renamed_after_the_patient.xml: 1 document read" in render_summary(second)  # `aco-sync run`
    manifest = json.loads((state / "bucket" / f"members/{aco_id}/{TIN_ECQM}" / MANIFEST).read_text())
    assert {f["object"] for f in manifest["files"]} == objects_before  # same content: the same object
    assert "qrda/renamed_after_the_patient.xml" in {f["name"] for f in manifest["files"]}
    second_lines = _file_lines(second.status["log"])
    assert second_lines["qrda/renamed_after_the_patient.xml"].endswith(
        "1 document read: 1 accepted, 0 rejected"
    )
    assert demo_name not in second_lines
    cqm = json.loads((state / "bucket" / f"members/{aco_id}/{TIN_CQM_A}" / MANIFEST).read_text())
    assert [f["name"] for f in cqm["files"]].count(f"templates/{TEMPLATE_NAME}") == 1
    stored = {p.name for p in (state / "bucket" / f"members/{aco_id}/{TIN_CQM_A}/uploads").iterdir()}
    assert stored == {"manifest.json", *(f["object"].removeprefix("uploads/") for f in cqm["files"])}
    clinic = next(m for m in second.status["log"] if m.get("kind") == "clinic" and m.get("tin") == TIN_CQM_A)
    assert "1 added or changed" in clinic["message"], clinic["message"]

    template.unlink()
    third = run_local_sync(folder, state_dir=state)
    assert third.succeeded
    removals = [e["message"] for e in third.status["log"] if e.get("kind") == "removal" and e.get("tin")]
    assert removals == [
        f"Removed 1 aggregate encounters: their source files were deleted from TIN {TIN_CQM_A}"
    ]
    cqm = json.loads((state / "bucket" / f"members/{aco_id}/{TIN_CQM_A}" / MANIFEST).read_text())
    assert f"templates/{TEMPLATE_NAME}" not in {f["name"] for f in cqm["files"]}
    paths = [p.relative_to(state).as_posix() for p in state.rglob("*")]
    assert _found(phi, paths) == {}


def _bucket_keys_every_version(aws: LocalAws) -> list[str]:
    s3 = aws.client("s3")
    keys: list[str] = []
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket["Name"]):
            keys.extend(v["Key"] for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])])
    return keys


def _table_key_values(aws: LocalAws) -> list[str]:
    """Every value of the table's key attributes (PK, SK and every index's keys) of every item."""
    dynamodb = aws.client("dynamodb")
    values: list[str] = []
    for table in dynamodb.list_tables()["TableNames"]:
        description = dynamodb.describe_table(TableName=table)["Table"]
        schemas = [description["KeySchema"]] + [
            index["KeySchema"]
            for index in [
                *description.get("GlobalSecondaryIndexes", []),
                *description.get("LocalSecondaryIndexes", []),
            ]
        ]
        attributes = {key["AttributeName"] for schema in schemas for key in schema}
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                values.extend(str(next(iter(item[a].values()))) for a in attributes if a in item)
    return values


def _state_machine_payloads(aws: LocalAws) -> list[str]:
    return [
        json.dumps(event, default=str)
        for execution in aws.list_executions()
        for event in aws.raw_history(execution.execution_arn)
    ]


def test_uploads_to_the_deployed_bucket_are_moved_to_content_keys_with_every_version(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    every_log_record: Any,  # noqa: F811 - the fixture imported above
) -> None:
    folder = tmp_path / "aco"
    aco_id, phi, named = write_patient_named_aco(folder)
    # the clinics' states run in the distributed Map's child executions, whose histories moto does not
    # expose (no ListMapRuns): their payloads are recorded where they reach the Lambda handlers
    task_payloads: list[str] = []
    real_invoke = moto_patches.invoke_in_process

    def invoke(function_name: str, function_arn: str, body: Any) -> tuple[bytes, bool]:
        payload, errored = real_invoke(function_name, function_arn, body)
        function = function_name.rsplit("-", 1)[-1]
        task_payloads.append(f"{function} {body!s} {payload.decode()}")
        return payload, errored

    monkeypatch.setattr(moto_patches, "invoke_in_process", invoke)
    with LocalAws(fast_retries=True) as aws:
        s3, bucket = aws.client("s3"), aws.bucket_name()
        # the template's bucket is versioned (VersioningConfiguration); the local deployment is not
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        upload_aco(aws, folder, aco_id)
        template_key = f"members/{aco_id}/{TIN_CQM_A}/templates/{TEMPLATE_NAME}"
        s3.put_object(
            Bucket=bucket, Key=template_key, Body=(folder / template_key).read_bytes()
        )  # 2 versions
        ingest_roster_event(aws, f"rosters/{aco_id}/2025/roster.csv")  # starts the first sync
        aws.wait_for_executions(timeout=180)
        aws.drain_queues()
        aws.wait_for_executions(timeout=180)
        from aco_sync.service.status import latest_sync_status

        first = latest_sync_status(aco_id)
        assert first["sync"]["status"].startswith("Sync Complete"), first["sync"]
        # the user uploads an edited template under the same name
        edited = (folder / template_key).read_text().replace(",MET,", ",NOT_MET,")
        s3.put_object(Bucket=bucket, Key=template_key, Body=edited.encode())
        second = run_sync(aws, aco_id)
        assert second["sync"]["status"].startswith("Sync Complete"), second["sync"]

        keys = _bucket_keys_every_version(aws)
        table_keys = _table_key_values(aws)
        payloads = _state_machine_payloads(aws) + task_payloads
        manifest = json.loads(
            s3.get_object(Bucket=bucket, Key=f"members/{aco_id}/{TIN_CQM_A}/{MANIFEST}")["Body"].read()
        )

    assert any(f"members/{aco_id}/{TIN_ECQM}/uploads/" in key for key in keys)
    assert _found(phi, keys) == {}
    assert not [k for k in keys if "/qrda/" in k or "/templates/" in k]  # no upload kept its own key
    assert table_keys and _found(phi, table_keys) == {}
    assert any(TIN_ECQM in p and p.startswith("SyncClinicFunction") for p in payloads)
    assert _found(phi, payloads) == {}
    assert _found(phi, every_log_record.lines) == {}

    entry = next(f for f in manifest["files"] if f["name"] == f"templates/{TEMPLATE_NAME}")
    content_keys = [
        k for k in keys if k.startswith(f"members/{aco_id}/{TIN_CQM_A}/uploads/") and k.endswith(".csv")
    ]
    assert f"members/{aco_id}/{TIN_CQM_A}/{entry['object']}" in content_keys
    assert len(content_keys) == len(
        {f["object"] for f in manifest["files"]}
    )  # the edited one's old content is gone
    for status in (first, second):
        file_lines = _file_lines(status["log"])
        for name, tin in named.items():
            assert file_lines[name].startswith(f"TIN {tin}: {name}: "), file_lines.get(name)
    clinic = next(m for m in second["log"] if m.get("kind") == "clinic" and m.get("tin") == TIN_CQM_A)
    assert "1 added or changed" in clinic["message"], clinic["message"]
