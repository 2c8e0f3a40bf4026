"""In-memory stores for the service tests (a helper module, not a conftest: ``from conftest import`` must
keep meaning tests/conftest.py)."""

from __future__ import annotations

import json

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.keys import StaticPseudonymKey
from aco_sync.adapters.memory import (
    InMemoryObjectStore,
    InMemorySyncStateStore,
    InMemoryWorkflowStarter,
)
from pseudonym_keys import TEST_KEY

MAIN_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:aco-sync"
MCQM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mcqm-sync"


def memory_stores() -> Stores:
    return Stores(
        objects=InMemoryObjectStore(),
        state=InMemorySyncStateStore(),
        workflows=InMemoryWorkflowStarter(),
        pseudonym_keys=StaticPseudonymKey(TEST_KEY),
        aco_sync_state_machine_arn=MAIN_ARN,
        mcqm_state_machine_arn=MCQM_ARN,
    )


def write_config(stores: Stores, aco_id: str = "A1", **settings: object) -> None:
    config = {"aco_id": aco_id, "performance_year": 2025, **settings}
    stores.objects.put(f"config/acos/{aco_id}.json", json.dumps(config).encode())


# ----- a small ACO laid out like the data bucket -------------------------------------------------------
NORTH, SOUTH = "111111111", "222222222"
CLINICS = [{"tin": NORTH, "name": "North Clinic"}, {"tin": SOUTH, "name": "South Clinic"}]
TEMPLATE_HEADER = (
    "measure_id,collection_type,first_name,last_name,birth_date,gender,performance_date,performance,npi\n"
)
NORTH_ROWS = [
    "M236,CQM,Ann,Lee,1950-02-03,F,2025-03-01,MET,1234567893",
    "M236,CQM,Bob,Ray,1948-05-06,M,2025-04-01,NOT_MET,1234567893",
    "M134,CQM,Cy,Poe,1960-07-08,M,2025-05-01,MET,1234567893",
]
SOUTH_ROWS = [
    "M236,CQM,ann,LEE,1950-02-03,F,2025-06-01,NOT_MET,1245319599",  # same patient as North's Ann, later
    "M236,CQM,Dee,Fox,1955-09-10,F,2025-02-01,MET,1245319599",
]
ROSTER = (
    "mbi,first_name,last_name,birth_date,gender\n"
    "1EG4TE5MK73,Ann,Lee,1950-02-03,F\n"
    "2EG4TE5MK74,Dee,Fox,1955-09-10,F\n"
)


def write_small_aco(
    stores: Stores, *, mcqm: bool = False, roster_required: bool = True, aco_id: str = "A1"
) -> None:
    """Two member clinics with CQM template rows (and, with ``mcqm``, MCQM rows at South)."""
    write_config(stores, aco_id, member_clinics=CLINICS, roster_required=roster_required)
    stores.objects.put(f"members/{aco_id}/{NORTH}/providers.csv", b"npi,name,active\n1234567893,Dr North,Y\n")
    stores.objects.put(f"members/{aco_id}/{SOUTH}/providers.csv", b"npi,name,active\n1245319599,Dr South,Y\n")
    stores.objects.put(
        f"members/{aco_id}/{NORTH}/templates/cqm.csv",
        (TEMPLATE_HEADER + "\n".join(NORTH_ROWS) + "\n").encode(),
    )
    south = list(SOUTH_ROWS)
    if mcqm:
        south = [row.replace(",CQM,", ",MCQM,") for row in south]
    stores.objects.put(
        f"members/{aco_id}/{SOUTH}/templates/cqm.csv", (TEMPLATE_HEADER + "\n".join(south) + "\n").encode()
    )


def upload_roster(stores: Stores, aco_id: str = "A1", body: str = ROSTER) -> str:
    key = f"rosters/{aco_id}/2025/roster.csv"
    stores.objects.put(key, body.encode())
    return key
