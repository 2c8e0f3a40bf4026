"""A local sync logs a QRDA-I document's CDA R2 schema problems as warnings with the file and line
(warnings, not errors: the sync succeeds)."""

from __future__ import annotations

import shutil
from pathlib import Path

from aco_sync_local.runner import run_local_sync
from shared_fixtures import shared_path

SAMPLE_ACO = Path(__file__).resolve().parent / "fixtures" / "sample_aco"
INVALID = "31_cqm-reports_two_data_types_with_same_id.xml"


def test_the_sync_log_names_each_schema_problem_with_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "aco"
    shutil.copytree(SAMPLE_ACO, folder)
    qrda = folder / "members/DEMO1/111111111/qrda"
    qrda.mkdir()
    shutil.copy(shared_path("fixtures", "qrda", INVALID), qrda / INVALID)

    result = run_local_sync(folder, state_dir=tmp_path / "state")
    assert result.succeeded
    log = result.status.get("log") or []
    schema = [e for e in log if "CDA R2 schema" in str(e.get("message"))]
    messages = [str(e["message"]) for e in schema]
    assert any(
        m.endswith(
            f"{INVALID}, line 43: CDA R2 schema: <raceCode> attribute code: the value breaks the "
            "schema's pattern rule."
        )
        for m in messages
    ), messages
    assert any(f"{INVALID}, line 59: CDA R2 schema: <addr> is not allowed here" in m for m in messages)
    assert all(e.get("level") == "warning" for e in schema) and len(schema) == 3
