"""A sync with ``performance_year: 2026`` computes eCQM results with the PY2026 specifications
(CMS122v14 logic, 2026 value sets, the 2026 measurement period), through the real ASL."""

from __future__ import annotations

import json
from pathlib import Path

from statemachine_support import CLINICS, NORTH, SOUTH, put, start

from aco_sync.service.status import latest_sync_status
from aco_sync_local.local_stack import LocalStack
from qrda_samples import DIAGNOSIS_ENTRY, encounter_entry, hba1c_entry, qrda_document

# Medical nutrition therapy (CPT 97802) is a qualifying encounter of CMS122 only from PY2026 (the
# measure's own "Qualifying Encounters"); the PY2025 logic would not put this patient in the population.
NUTRITION_VISIT_2026 = encounter_entry(
    extension="enc-2026", code="97802", low="20260310090000", high="20260310100000"
)
HBA1C_2026 = hba1c_entry(extension="lab-2026", time="20260310093000", percent="9.6")


def test_a_2026_sync_uses_the_2026_ecqm_logic(tmp_path: Path) -> None:
    with LocalStack(state_dir=tmp_path, fast_retries=True) as aws:
        config = {
            "aco_id": "A1",
            "performance_year": 2026,
            "member_clinics": CLINICS,
            "roster_required": False,
        }
        put(aws, "config/acos/A1.json", json.dumps(config))
        put(aws, f"members/A1/{NORTH}/providers.csv", "npi,name,active\n1234567893,Dr North,Y\n")
        document = qrda_document(
            tin=NORTH,
            period=("20260101", "20261231"),
            entries=NUTRITION_VISIT_2026 + DIAGNOSIS_ENTRY + HBA1C_2026,
        )
        put(aws, f"members/A1/{NORTH}/qrda/patient.xml", document)
        put(aws, f"members/A1/{SOUTH}/providers.csv", "npi,name,active\n1245319599,Dr South,Y\n")
        start(aws)
        executions = aws.wait_for_executions(timeout=60)
        assert [(e.state_machine, e.status) for e in executions] == [("AcoSyncStateMachine", "SUCCEEDED")]
        status = latest_sync_status("A1")
        assert status["sync"]["status"] == "Sync Complete"
        m001 = [m for m in status["measures"] if m["measure_id"] == "M001" and m["collection_type"] == "eCQM"]
        assert len(m001) == 1, status["measures"]
        # in the population through the 2026-only encounter; 9.6% > 9%: numerator (inverse measure)
        assert (m001[0]["eligible_population"], m001[0]["performance_met"]) == (1, 1)
        issues = [e["message"] for e in status["log"] if "ecqm" in json.dumps(e).lower()]
        assert not [m for m in issues if "period" in m], issues  # the file's period is the 2026 period
