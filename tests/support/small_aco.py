"""The small ACO of the service and state-machine tests, laid out like the data bucket: two member
clinics (North, South) with CQM template rows (South's as MCQM with ``mcqm``), provider lists and a
two-beneficiary roster. Ann is a patient of both clinics (North first, South later)."""

from __future__ import annotations

import json

from aco_sync.adapters.environment import Stores

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
ROSTER_KEY = "rosters/{aco_id}/2025/roster.csv"


def template_csv(rows: list[str]) -> bytes:
    return (TEMPLATE_HEADER + "\n".join(rows) + "\n").encode()


def small_aco_files(
    *,
    mcqm: bool = False,
    roster_required: bool = True,
    aco_id: str = "A1",
    north_rows: list[str] = NORTH_ROWS,
) -> dict[str, bytes]:
    """The ACO's configuration and member clinic files, by object key (the roster is uploaded apart)."""
    config = {
        "aco_id": aco_id,
        "performance_year": 2025,
        "member_clinics": CLINICS,
        "roster_required": roster_required,
    }
    south = [row.replace(",CQM,", ",MCQM,") for row in SOUTH_ROWS] if mcqm else list(SOUTH_ROWS)
    return {
        f"config/acos/{aco_id}.json": json.dumps(config).encode(),
        f"members/{aco_id}/{NORTH}/providers.csv": b"npi,name,active\n1234567893,Dr North,Y\n",
        f"members/{aco_id}/{SOUTH}/providers.csv": b"npi,name,active\n1245319599,Dr South,Y\n",
        f"members/{aco_id}/{NORTH}/templates/cqm.csv": template_csv(north_rows),
        f"members/{aco_id}/{SOUTH}/templates/cqm.csv": template_csv(south),
    }


def write_small_aco(
    stores: Stores, *, mcqm: bool = False, roster_required: bool = True, aco_id: str = "A1"
) -> None:
    """The small ACO's files in ``stores`` (see :func:`small_aco_files`)."""
    for key, data in small_aco_files(mcqm=mcqm, roster_required=roster_required, aco_id=aco_id).items():
        stores.objects.put(key, data)


def upload_roster(stores: Stores, aco_id: str = "A1", body: str = ROSTER) -> str:
    key = ROSTER_KEY.format(aco_id=aco_id)
    stores.objects.put(key, body.encode())
    return key
