"""The demo ACO: a folder laid out like the data bucket, built from the real input formats.

``write_demo_aco(folder, seed=2025)`` writes (deterministically for a seed):

- ``config/acos/demo-aco.json``: the ACO's settings (performance year 2025, MCQM opt-in);
- ``rosters/demo-aco/2025/roster.csv``: the Medicare roster, with two beneficiaries who share a name,
  birth date and gender (so roster matching must skip that patient) and two bad rows;
- four member TINs under ``members/demo-aco/<tin>/``, each with ``providers.csv``:
  two CQM template TINs whose patients overlap (M001, M112, M134, M236), an MCQM template TIN (M001 and
  M134 rows plus denominator-only counts), and an eCQM TIN with one CMS IG 2025-style QRDA-I file per
  patient (encounters, diagnoses, HbA1c results, blood pressures, colonoscopies: CMS122, CMS165 and
  CMS130 are computable), a zip of two more, and one incomplete file. Together they exercise every
  collection-type rule (see ``CQM_MEASURES``);
- a few deliberately bad rows and files so the demo shows how errors are reported.

Codes are embedded here (from the 2025 value set expansions); nothing is read from ../shared.
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from aco_sync.ingest.tabular import npi_with_check_digit

ACO_ID = "demo-aco"
PERFORMANCE_YEAR = 2025

TIN_CQM_A = "100000001"
TIN_CQM_B = "100000002"
TIN_MCQM = "100000003"
TIN_ECQM = "100000004"
CLINICS = {
    TIN_CQM_A: "Riverside Family Medicine",
    TIN_CQM_B: "Lakeside Internal Medicine",
    TIN_MCQM: "Hillcrest Medicare Clinic",
    TIN_ECQM: "Summit Health Partners",
}

# Codes (2025 eCQM value sets) -------------------------------------------------------------------
CPT = "2.16.840.1.113883.6.12"
LOINC = "2.16.840.1.113883.6.1"
SNOMED = "2.16.840.1.113883.6.96"
ICD10CM = "2.16.840.1.113883.6.90"
SOP = "2.16.840.1.113883.3.221.5"
OFFICE_VISIT = ("99213", CPT, "Office or other outpatient visit, established patient")  # Office Visit
DIABETES = ("E11.9", ICD10CM, "Type 2 diabetes mellitus without complications")  # Diabetes
HYPERTENSION = ("I10", ICD10CM, "Essential (primary) hypertension")  # Essential Hypertension
HBA1C = ("4548-4", LOINC, "Hemoglobin A1c/Hemoglobin.total in Blood")  # HbA1c Laboratory Test
SYSTOLIC = ("8480-6", LOINC, "Systolic blood pressure")
DIASTOLIC = ("8462-4", LOINC, "Diastolic blood pressure")
COLONOSCOPY = ("45378", CPT, "Colonoscopy, flexible; diagnostic")  # Colonoscopy
MEDICARE = ("1", SOP, "MEDICARE")
SET_IDS = {
    "CMS122": ("2c928082-8e7d-3c8e-018e-b2b3a7e0153b", "F2986519-5A4E-4149-A8F2-AF0A1DC7F6BC", "13",
               "Diabetes: Glycemic Status Assessment Greater Than 9%"),
    "CMS165": ("2c928082-8e7d-3c8e-018e-b3b6e4ef1b9d", "ABDC37CC-BAC6-4156-9B91-D1BE2C8B7268", "13",
               "Controlling High Blood Pressure"),
    "CMS130": ("2c928082-8e7d-3c8e-018e-b2fbb8681485", "AA2A4BBC-864F-45EE-B17A-7EBCC62E6AAC", "13",
               "Colorectal Cancer Screening"),
}  # fmt: skip

FIRST_NAMES_F = ["Maria", "Linda", "Patricia", "Susan", "Dorothy", "Helen", "Carol", "Ruth", "Janet", "Joan",
                 "Evelyn", "Gloria", "Alice", "Rose", "Irene", "Nancy", "Diane", "Martha"]  # fmt: skip
FIRST_NAMES_M = ["James", "Robert", "John", "William", "Richard", "Thomas", "Charles", "George", "Frank",
                 "Raymond", "Walter", "Harold", "Eugene", "Ralph", "Roy", "Louis", "Henry",
                 "Arthur"]  # fmt: skip
LAST_NAMES = ["Garcia", "Johnson", "Nguyen", "Okafor", "Kowalski", "Haddad", "Larsen", "Rossi", "Patel",
              "O'Brien", "Schmidt", "Tanaka", "Morales", "Dubois", "Fischer", "Yilmaz", "Novak", "Silva",
              "Murphy", "Lindqvist", "Ivanova", "Chen", "Brooks", "Alvarez", "Kim", "Walsh"]  # fmt: skip

_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"


@dataclass
class DemoPatient:
    first_name: str
    last_name: str
    birth_date: date
    gender: str  # "F" | "M"
    mbi: str
    diabetic: bool
    hypertensive: bool
    hba1c: float
    systolic: int
    diastolic: int
    colonoscopy_year: int | None
    visits: list[date] = field(default_factory=list)

    @property
    def age(self) -> int:
        return PERFORMANCE_YEAR - self.birth_date.year


def _mbi(rng: random.Random) -> str:
    def letter() -> str:
        return rng.choice(_MBI_LETTERS)

    def alnum() -> str:
        return rng.choice(_MBI_LETTERS + "0123456789")

    def digit() -> str:
        return str(rng.randint(0, 9))

    return (
        str(rng.randint(1, 9)) + letter() + alnum() + digit() + letter() + alnum() + digit()
        + letter() + letter() + digit() + digit()
    )  # fmt: skip


def _patients(rng: random.Random, count: int) -> list[DemoPatient]:
    patients: list[DemoPatient] = []
    used: set[tuple[str, str]] = set()
    while len(patients) < count:
        gender = rng.choice("FM")
        first = rng.choice(FIRST_NAMES_F if gender == "F" else FIRST_NAMES_M)
        last = rng.choice(LAST_NAMES)
        if (first, last) in used:
            continue
        used.add((first, last))
        born = date(rng.randint(1950, 1976), rng.randint(1, 12), rng.randint(1, 28))
        diabetic = rng.random() < 0.55
        patients.append(
            DemoPatient(
                first_name=first,
                last_name=last,
                birth_date=born,
                gender=gender,
                mbi=_mbi(rng),
                diabetic=diabetic,
                hypertensive=rng.random() < 0.6,
                hba1c=round(rng.uniform(5.6, 10.8), 1),
                systolic=rng.randint(108, 152),
                diastolic=rng.randint(64, 94),
                colonoscopy_year=rng.choice([None, None, 2017, 2019, 2021, 2023, 2025]),
                visits=sorted(_visit_dates(rng)),
            )
        )
    return patients


def _visit_dates(rng: random.Random) -> set[date]:
    start = date(PERFORMANCE_YEAR, 1, 6)
    return {start + timedelta(days=rng.randint(0, 340)) for _ in range(rng.randint(1, 3))}


# -- writers ---------------------------------------------------------------------------------------


def _write(folder: Path, relative: str, content: str | bytes) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")


def _csv(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def write_demo_aco(folder: Path, *, seed: int = 2025) -> str:
    """Write the demo ACO into ``folder`` (created if needed) and return its aco_id (``"demo-aco"``)."""
    folder = Path(folder)
    rng = random.Random(seed)
    patients = _patients(rng, 40)
    # Two roster beneficiaries who share name, birth date and gender (different MBIs): patient 39
    # becomes the twin of patient 21, who is seen at the MCQM TIN.
    twin_source = patients[21]
    patients[39] = DemoPatient(
        **{**twin_source.__dict__, "mbi": _mbi(rng), "visits": list(twin_source.visits)}
    )

    settings = {
        "aco_id": ACO_ID,
        "name": "Demo ACO",
        "performance_year": PERFORMANCE_YEAR,
        "member_clinics": [{"tin": tin, "name": name} for tin, name in CLINICS.items()],
        "roster_required": True,
        "mcqm_opt_in": True,
        "roster_mbi_tiebreak": False,
        # example submission ids (not issued by CMS): the demo's submission files are not drafts
        "apm_entity_id": "A9999",
        "cehrt_id": "0015CDEMO000001",
        "program_name": "appPlus",
    }
    _write(folder, f"config/acos/{ACO_ID}.json", json.dumps(settings, indent=2) + "\n")
    _write(folder, f"rosters/{ACO_ID}/{PERFORMANCE_YEAR}/roster.csv", _roster_csv(patients))

    npis = {tin: [npi_with_check_digit(f"1{tin[-1]}{i:02d}{rng.randint(10000, 99999)}") for i in range(3)]
            for tin in CLINICS}  # fmt: skip
    for tin in CLINICS:
        _write(folder, f"members/{ACO_ID}/{tin}/providers.csv", _providers_csv(tin, npis[tin], rng))

    base = f"members/{ACO_ID}"
    _write(
        folder,
        f"{base}/{TIN_CQM_A}/templates/cqm_2025.csv",
        _template_csv(patients[0:16], npis[TIN_CQM_A], rng, encounter_ids=True),
    )
    tin_b_rows = _template_rows(patients[10:26], npis[TIN_CQM_B], rng, collection="CQM", encounter_ids=False)
    tin_b_rows += _bad_template_rows(patients[12], npis[TIN_CQM_B])
    _write(folder, f"{base}/{TIN_CQM_B}/templates/quality_export.csv", _csv([TEMPLATE_HEADER, *tin_b_rows]))
    mcqm_rows = _template_rows(patients[18:30], npis[TIN_MCQM], rng, collection="MCQM", encounter_ids=True)
    _write(folder, f"{base}/{TIN_MCQM}/templates/mcqm_2025.csv", _csv([TEMPLATE_HEADER, *mcqm_rows]))
    _write(
        folder,
        f"{base}/{TIN_MCQM}/templates/mcqm_denominator_counts.csv",
        _csv([["measure_id", "collection_type", "denominator_only_count"],
              ["001", "MCQM", 14], ["134", "MCQM", 17]]),
    )  # fmt: skip
    ecqm_patients = patients[26:38]
    for number, patient in enumerate(ecqm_patients[:-2], start=1):
        name = f"{base}/{TIN_ECQM}/qrda/patient_{number:03d}.xml"
        _write(
            folder,
            name,
            qrda_document(patient, tin=TIN_ECQM, npi=npis[TIN_ECQM][number % 3], seed=seed + number),
        )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for offset, patient in enumerate(ecqm_patients[-2:], start=len(ecqm_patients) - 1):
            bundle.writestr(
                _zip_entry(f"patient_{offset:03d}.xml"),
                qrda_document(patient, tin=TIN_ECQM, npi=npis[TIN_ECQM][0], seed=seed + offset),
            )
    _write(folder, f"{base}/{TIN_ECQM}/qrda/batch_export.zip", archive.getvalue())
    incomplete = qrda_document(patients[38], tin=TIN_ECQM, npi=npis[TIN_ECQM][0], seed=seed, birth_date=False)
    _write(folder, f"{base}/{TIN_ECQM}/qrda/incomplete_record.xml", incomplete)
    return ACO_ID


def _zip_entry(name: str) -> zipfile.ZipInfo:
    """A zip member with a fixed timestamp, so the archive's bytes depend on the seed only, not the clock."""
    entry = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o600 << 16
    return entry


def _roster_csv(patients: list[DemoPatient]) -> str:
    rows: list[list[object]] = [["MBI", "First Name", "Last Name", "Birth Date", "Gender"]]
    on_roster = [p for i, p in enumerate(patients) if i % 7 != 3]  # a few patients are not on the roster
    for patient in on_roster:
        rows.append(
            [
                patient.mbi,
                patient.first_name,
                patient.last_name,
                patient.birth_date.isoformat(),
                patient.gender,
            ]
        )
    rows.append(["NOT-AN-MBI", "Walter", "Brooks", "1951-05-05", "M"])  # rejected: invalid MBI
    rows.append(["9DX4HA1KR22", "Irene", "Chen", "1957-02-30", "F"])  # rejected: impossible date
    return _csv(rows)


def _providers_csv(tin: str, npis: list[str], rng: random.Random) -> str:
    names = ["Dr. Amara Osei", "Dr. Jonas Weber", "Dr. Priya Raman", "Dr. Lucas Moreau", "Dr. Hana Sato",
             "Dr. Omar Farouk", "Dr. Elena Petrova", "Dr. Samuel Reyes"]  # fmt: skip
    chosen = rng.sample(names, len(npis))
    rows: list[list[object]] = [["npi", "name", "active"]]
    rows += [
        [npi, name, "N" if index == 2 else "Y"]
        for index, (npi, name) in enumerate(zip(npis, chosen, strict=True))
    ]
    return _csv(rows)


TEMPLATE_HEADER: list[object] = [
    "measure_id", "collection_type", "first_name", "last_name", "birth_date", "gender", "performance_date",
    "performance", "npi", "encounter_id", "mbi", "hba1c", "systolic", "diastolic",
]  # fmt: skip


def _template_csv(
    patients: list[DemoPatient], npis: list[str], rng: random.Random, *, encounter_ids: bool
) -> str:
    return _csv(
        [TEMPLATE_HEADER, *_template_rows(patients, npis, rng, collection="CQM", encounter_ids=encounter_ids)]
    )


# Which measures each kind of TIN reports, chosen so the demo shows every collection-type rule:
# M001/M134: CQM + MCQM -> MCQM only; M112: all CQM -> CQM (+ MCQM, opted in); M113: all eCQM -> eCQM
# (+ MCQM); M236: eCQM + CQM -> CQM (+ MCQM).
CQM_MEASURES = frozenset({"001", "112", "134", "236"})
MCQM_MEASURES = frozenset({"001", "134"})


def _template_rows(
    patients: list[DemoPatient], npis: list[str], rng: random.Random, *, collection: str, encounter_ids: bool
) -> list[list[object]]:
    measures = MCQM_MEASURES if collection == "MCQM" else CQM_MEASURES
    rows: list[list[object]] = []
    for patient in patients:
        npi = rng.choice(npis[:2])
        visit = rng.choice(patient.visits)
        mbi = patient.mbi if collection == "MCQM" else ""
        encounter = f"ENC-{rng.randint(100000, 999999)}" if encounter_ids else ""

        def row(measure: str, performance: str, when: date | None, hba1c: object = "", systolic: object = "",
                diastolic: object = "", patient: DemoPatient = patient, npi: str = npi, mbi: str = mbi,
                encounter: str = encounter) -> list[object]:  # fmt: skip
            return [measure, collection, patient.first_name, patient.last_name,
                    patient.birth_date.isoformat(),
                    patient.gender, when.isoformat() if when else "", performance, npi, encounter, mbi,
                    hba1c, systolic, diastolic]  # fmt: skip

        if patient.diabetic and "001" in measures:
            hba1c = round(patient.hba1c + rng.uniform(-0.6, 0.6), 1)
            rows.append(row("001", "MET" if hba1c > 9 else "NOT_MET", visit, hba1c=hba1c))
        if patient.hypertensive and "236" in measures:
            systolic, diastolic = (
                patient.systolic + rng.randint(-6, 6),
                patient.diastolic + rng.randint(-4, 4),
            )
            controlled = systolic < 140 and diastolic < 90
            rows.append(
                row("236", "MET" if controlled else "NOT_MET", visit, systolic=systolic, diastolic=diastolic)
            )
        if 46 <= patient.age <= 75 and "113" in measures:
            roll = rng.random()
            performance = "MET" if roll < 0.6 else "NOT_MET" if roll < 0.9 else "DENOMINATOR_EXCLUSION"
            rows.append(row("113", performance, visit))
        if patient.gender == "F" and 52 <= patient.age <= 74 and "112" in measures:
            rows.append(row("112", "MET" if rng.random() < 0.7 else "NOT_MET", visit))
        roll = rng.random()
        if "134" not in measures:
            continue
        if roll < 0.15:
            rows.append(row("134", "", None))  # denominator only: screened status not reported
        else:
            performance = "MET" if roll < 0.75 else "NOT_MET" if roll < 0.93 else "DENOMINATOR_EXCEPTION"
            rows.append(row("134", performance, visit))
    return rows


def _bad_template_rows(patient: DemoPatient, npis: list[str]) -> list[list[object]]:
    """Rows the demo shows as errors: an unknown measure, an impossible date, a missing last name."""
    first, last, born, gender = (
        patient.first_name,
        patient.last_name,
        patient.birth_date.isoformat(),
        patient.gender,
    )
    return [
        ["999", "CQM", first, last, born, gender, "2025-04-02", "MET", npis[0], "", "", "", "", ""],
        ["236", "CQM", first, last, born, gender, "2025-02-30", "MET", npis[0], "", "", "", "128", "80"],
        ["113", "CQM", first, "", born, gender, "2025-05-12", "MET", npis[0], "", "", "", "", ""],
    ]  # fmt: skip


# -- QRDA Category I (CMS IG 2025 style) -------------------------------------------------------------


def _ts(moment: date, hour: int = 9, minute: int = 0) -> str:
    return f"{moment:%Y%m%d}{hour:02d}{minute:02d}00"


def _code(code: tuple[str, str, str], element: str = "code") -> str:
    return f'<{element} code="{code[0]}" codeSystem="{code[1]}" displayName="{escape(code[2])}"/>'


def _encounter(entry_id: str, visit: date) -> str:
    return f"""
      <entry><act classCode="ACT" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.24.3.133" extension="2021-08-01"/>
        <id root="1.3.6.1.4.1.115" extension="{entry_id}-act"/>
        <code code="ENC" codeSystem="2.16.840.1.113883.5.6" displayName="Encounter"/>
        <entryRelationship typeCode="SUBJ"><encounter classCode="ENC" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.22.4.49" extension="2015-08-01"/>
          <templateId root="2.16.840.1.113883.10.20.24.3.23" extension="2021-08-01"/>
          <id root="1.3.6.1.4.1.115" extension="{entry_id}"/>
          {_code(OFFICE_VISIT)}
          <statusCode code="completed"/>
          <effectiveTime><low value="{_ts(visit, 9)}"/><high value="{_ts(visit, 9, 30)}"/></effectiveTime>
        </encounter></entryRelationship>
      </act></entry>"""


def _diagnosis(entry_id: str, code: tuple[str, str, str], onset: date) -> str:
    return f"""
      <entry><act classCode="ACT" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.22.4.3" extension="2015-08-01"/>
        <templateId root="2.16.840.1.113883.10.20.24.3.137" extension="2021-08-01"/>
        <id root="1.3.6.1.4.1.115" extension="{entry_id}-concern"/>
        <code code="CONC" codeSystem="2.16.840.1.113883.5.6" displayName="Concern"/>
        <statusCode code="active"/>
        <effectiveTime><low value="{_ts(onset)}"/></effectiveTime>
        <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.22.4.4" extension="2015-08-01"/>
          <templateId root="2.16.840.1.113883.10.20.24.3.135" extension="2021-08-01"/>
          <id root="1.3.6.1.4.1.115" extension="{entry_id}"/>
          <code code="282291009" codeSystem="{SNOMED}" displayName="Diagnosis"/>
          <statusCode code="completed"/>
          <effectiveTime><low value="{_ts(onset)}"/></effectiveTime>
          {_code(code, "value").replace("<value ", '<value xsi:type="CD" ')}
        </observation></entryRelationship>
      </act></entry>"""


def _result(
    entry_id: str, template: str, code: tuple[str, str, str], when: date, value: object, unit: str
) -> str:
    return f"""
      <entry><observation classCode="OBS" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.24.3.{template}" extension="2019-12-01"/>
        <id root="1.3.6.1.4.1.115" extension="{entry_id}"/>
        {_code(code)}
        <statusCode code="completed"/>
        <effectiveTime><low value="{_ts(when, 9, 10)}"/><high value="{_ts(when, 9, 10)}"/></effectiveTime>
        <value xsi:type="PQ" value="{value}" unit="{unit}"/>
        <author><templateId root="2.16.840.1.113883.10.20.24.3.155" extension="2019-12-01"/>
          <time value="{_ts(when, 9, 15)}"/><assignedAuthor><id nullFlavor="NA"/></assignedAuthor></author>
      </observation></entry>"""


def _procedure(entry_id: str, code: tuple[str, str, str], when: date) -> str:
    return f"""
      <entry><procedure classCode="PROC" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.22.4.14" extension="2014-06-09"/>
        <templateId root="2.16.840.1.113883.10.20.24.3.64" extension="2021-08-01"/>
        <id root="1.3.6.1.4.1.115" extension="{entry_id}"/>
        {_code(code)}
        <statusCode code="completed"/>
        <effectiveTime><low value="{_ts(when, 8)}"/><high value="{_ts(when, 9)}"/></effectiveTime>
      </procedure></entry>"""


def _payer(entry_id: str) -> str:
    return f"""
      <entry><observation classCode="OBS" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.24.3.55"/>
        <id root="1.3.6.1.4.1.115" extension="{entry_id}"/>
        <code code="48768-6" codeSystem="{LOINC}" displayName="Payment source"/>
        <statusCode code="completed"/>
        <effectiveTime><low value="{PERFORMANCE_YEAR}0101"/></effectiveTime>
        {_code(MEDICARE, "value").replace("<value ", '<value xsi:type="CD" ')}
      </observation></entry>"""


def _measure(ecqm: str) -> str:
    version_id, set_id, version, title = SET_IDS[ecqm]
    return f"""
      <entry><organizer classCode="CLUSTER" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.24.3.98"/>
        <templateId root="2.16.840.1.113883.10.20.24.3.97"/>
        <id root="1.3.6.1.4.1.115" extension="measure-{ecqm}"/>
        <statusCode code="completed"/>
        <reference typeCode="REFR"><externalDocument classCode="DOC" moodCode="EVN">
          <id root="2.16.840.1.113883.4.738" extension="{version_id}"/>
          <text>{escape(title)}</text>
          <setId root="{set_id}"/>
          <versionNumber value="{version}"/>
        </externalDocument></reference>
      </organizer></entry>"""


def qrda_document(patient: DemoPatient, *, tin: str, npi: str, seed: int, birth_date: bool = True) -> str:
    """One patient's QRDA Category I document (CMS IG 2025 style)."""
    rng = random.Random(seed)
    prefix = f"demo-{seed}"
    entries = [_payer(f"{prefix}-payer")]
    for index, visit in enumerate(patient.visits):
        entries.append(_encounter(f"{prefix}-enc-{index}", visit))
    measures = ["CMS130"]
    if patient.diabetic:
        measures.insert(0, "CMS122")
        entries.append(_diagnosis(f"{prefix}-dx-dm", DIABETES, date(rng.randint(2010, 2022), 3, 1)))
        last_visit = patient.visits[-1]
        entries.append(_result(f"{prefix}-a1c", "38", HBA1C, last_visit, patient.hba1c, "%"))
    if patient.hypertensive:
        measures.insert(0, "CMS165")
        entries.append(_diagnosis(f"{prefix}-dx-htn", HYPERTENSION, date(rng.randint(2008, 2024), 1, 15)))
        for index, visit in enumerate(patient.visits):
            drift = index * rng.randint(-8, 4)
            entries.append(
                _result(f"{prefix}-sbp-{index}", "59", SYSTOLIC, visit, patient.systolic + drift, "mm[Hg]")
            )
            entries.append(
                _result(f"{prefix}-dbp-{index}", "59", DIASTOLIC, visit, patient.diastolic, "mm[Hg]")
            )
    if patient.colonoscopy_year:
        when = date(patient.colonoscopy_year, rng.randint(1, 11), rng.randint(1, 28))
        entries.append(_procedure(f"{prefix}-colonoscopy", COLONOSCOPY, when))
    gender_xml = f'<administrativeGenderCode code="{patient.gender}" codeSystem="2.16.840.1.113883.5.1"/>'
    return qrda_i_document(
        id_prefix=prefix,
        mbi=patient.mbi,
        other_ids=f'<id root="1.3.6.1.4.1.115.{tin}" extension="MRN-{rng.randint(100000, 999999)}"/>',
        name_xml=f"<name><given>{escape(patient.first_name)}</given><family>{escape(patient.last_name)}</family></name>",
        gender_xml=gender_xml,
        birth_xml=f'<birthTime value="{patient.birth_date:%Y%m%d}"/>' if birth_date else "",
        tin=tin,
        npi=npi,
        clinic_name=CLINICS.get(tin, "Clinic"),
        measures_xml="".join(_measure(m) for m in measures),
        period=(f"{PERFORMANCE_YEAR}0101000000", f"{PERFORMANCE_YEAR}1231235959"),
        entries_xml="".join(entries),
    )


def qrda_i_document(
    *,
    id_prefix: str,
    mbi: str,
    other_ids: str,
    name_xml: str,
    gender_xml: str,
    birth_xml: str,
    tin: str,
    npi: str,
    clinic_name: str,
    measures_xml: str,
    period: tuple[str, str],
    entries_xml: str,
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
) -> str:
    """A QRDA Category I document (CMS IG 2025 style) around its patient, measure references and
    entries: the one builder of the demo data and the tests' QRDA-I samples (``tests/qrda_samples.py``).
    ``id_prefix`` starts the document's own ids; ``other_ids`` are the patient's ids besides the MBI;
    ``measures_xml`` the Measure Section's entries; ``entries_xml`` the Patient Data Section's;
    ``period`` the reporting period (HL7 times)."""
    return f"""{prolog}<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:sdtc="urn:hl7-org:sdtc"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="US"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.24.1.1" extension="2017-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.24.1.2" extension="2021-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.24.1.3" extension="2024-02-01"/>
  <id root="1.3.6.1.4.1.115" extension="{id_prefix}-document"/>
  <code code="55182-0" codeSystem="{LOINC}" displayName="Quality Measure Report"/>
  <title>QRDA Incidence Report</title>
  <effectiveTime value="{PERFORMANCE_YEAR + 1}0115090000"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="en"/>
  <recordTarget><patientRole>
    <id root="2.16.840.1.113883.4.927" extension="{mbi}"/>
    {other_ids}
    <addr use="HP"><streetAddressLine>1 Demo Street</streetAddressLine><city>Springfield</city>
      <state>IL</state><postalCode>62701</postalCode><country>US</country></addr>
    <telecom use="HP" value="tel:+1-555-555-0100"/>
    <patient>
      {name_xml}
      {gender_xml}
      {birth_xml}
      <raceCode code="2106-3" codeSystem="2.16.840.1.113883.6.238"/>
      <ethnicGroupCode code="2186-5" codeSystem="2.16.840.1.113883.6.238"/>
      <languageCommunication><languageCode code="en"/></languageCommunication>
    </patient>
  </patientRole></recordTarget>
  <author><time value="{PERFORMANCE_YEAR + 1}0115090000"/><assignedAuthor>
    <id root="2.16.840.1.113883.4.6" extension="{npi}"/>
    <assignedAuthoringDevice><manufacturerModelName>ACO Sync demo</manufacturerModelName>
      <softwareName>demo_data</softwareName></assignedAuthoringDevice>
  </assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization>
    <id root="2.16.840.1.113883.4.2" extension="{tin}"/><name>{escape(clinic_name)}</name>
  </representedCustodianOrganization></assignedCustodian></custodian>
  <documentationOf typeCode="DOC"><serviceEvent classCode="PCPR">
    <effectiveTime><low nullFlavor="UNK"/><high nullFlavor="UNK"/></effectiveTime>
    <performer typeCode="PRF"><assignedEntity>
      <id root="2.16.840.1.113883.4.6" extension="{npi}"/>
      <representedOrganization><id root="2.16.840.1.113883.4.2" extension="{tin}"/></representedOrganization>
    </assignedEntity></performer>
  </serviceEvent></documentationOf>
  <component><structuredBody>
    <component><section>
      <templateId root="2.16.840.1.113883.10.20.24.2.2"/>
      <templateId root="2.16.840.1.113883.10.20.24.2.3"/>
      <code code="55186-1" codeSystem="{LOINC}"/>
      <title>Measure Section</title>
      <text/>{measures_xml}
    </section></component>
    <component><section>
      <templateId root="2.16.840.1.113883.10.20.17.2.1"/>
      <templateId root="2.16.840.1.113883.10.20.17.2.1.1" extension="2020-12-01"/>
      <code code="55187-9" codeSystem="{LOINC}"/>
      <title>Reporting Parameters</title>
      <text/>
      <entry typeCode="DRIV"><act classCode="ACT" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.17.3.8"/>
        <templateId root="2.16.840.1.113883.10.20.17.3.8.1" extension="2020-12-01"/>
        <id root="1.3.6.1.4.1.115" extension="{id_prefix}-period"/>
        <code code="252116004" codeSystem="{SNOMED}" displayName="Observation Parameters"/>
        <effectiveTime>
          <low value="{period[0]}"/><high value="{period[1]}"/>
        </effectiveTime>
      </act></entry>
    </section></component>
    <component><section>
      <templateId root="2.16.840.1.113883.10.20.17.2.4"/>
      <templateId root="2.16.840.1.113883.10.20.24.2.1" extension="2021-08-01"/>
      <templateId root="2.16.840.1.113883.10.20.24.2.1.1" extension="2022-02-01"/>
      <code code="55188-7" codeSystem="{LOINC}"/>
      <title>Patient Data</title>
      <text/>{entries_xml}
    </section></component>
  </structuredBody></component>
</ClinicalDocument>
"""
