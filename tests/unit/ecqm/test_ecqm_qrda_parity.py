"""The QRDA-I path applies the rules that used to work on the FHIR path only:

- Hospice "discharged to hospice": an "Encounter Inpatient" whose discharge disposition
  (``sdtc:dischargeDispositionCode``) is a hospice discharge, ending in the period, makes the patient a
  denominator exclusion;
- CMS165 ignores blood pressures taken during an emergency department visit or an inpatient stay (in
  QRDA-I the reading's relation to the encounter is its time within the encounter's relevant period);
- encounter diagnoses (QRDA "Encounter Diagnosis" inside "Encounter, Performed") count as conditions.

Each scenario is written once and rendered both as FHIR R4 resources (the QI-Core shape of the
published test cases: ``Observation.encounter``, ``Encounter.class``,
``Encounter.hospitalization.dischargeDisposition``, encounter-diagnosis Conditions) and as a CMS IG
2025 QRDA-I document (Encounter Performed V6 with ``sdtc:dischargeDispositionCode``, "Encounter
Diagnosis QDM", "Encounter Class", separate systolic/diastolic Physical Exam Performed): the same
patient must fall in the same populations of all five measures on both paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aco_sync.domain import qrda_document as q
from aco_sync.domain.records import Performance
from aco_sync.ecqm import calculate_fhir, calculate_qrda
from aco_sync.ecqm.engine import evaluate_all
from aco_sync.ecqm.fhir import patient_from_fhir
from aco_sync.ecqm.model import EntryKind
from aco_sync.ecqm.populations import MeasurePopulations
from aco_sync.ecqm.qrda import calculate_qrda_detailed, patient_from_qrda
from aco_sync.ingest.qrda import parse_qrda
from qrda_samples import (
    LOINC_OID,
    code_xml,
    effective_time,
    qrda_document,
    relationship,
    section_entry,
    statement,
)

PERIOD = (date(2025, 1, 1), date(2025, 12, 31))
TIN = "123456789"

SYSTEMS = {  # name -> (FHIR system URL, QRDA code system OID)
    "cpt": ("http://www.ama-assn.org/go/cpt", "2.16.840.1.113883.6.12"),
    "snomed": ("http://snomed.info/sct", "2.16.840.1.113883.6.96"),
    "icd10": ("http://hl7.org/fhir/sid/icd-10-cm", "2.16.840.1.113883.6.90"),
    "loinc": ("http://loinc.org", "2.16.840.1.113883.6.1"),
}
OFFICE_VISIT = ("cpt", "99213")  # Office Visit
ED_VISIT = ("cpt", "99283")  # Emergency Department Evaluation and Management Visit
INPATIENT = ("snomed", "183452005")  # Encounter Inpatient (Emergency hospital admission)
HYPERTENSION = ("icd10", "I10")  # Essential Hypertension
HOSPICE_DIAGNOSIS = ("snomed", "170935008")  # Hospice Diagnosis (Full care by hospice)
DISCHARGE_HOME_HOSPICE = "428361000124107"
DISCHARGE_FACILITY_HOSPICE = "428371000124100"
DISCHARGE_HOME = "306689006"  # Discharge to home (not hospice)
CMS165_SET_ID = "ABDC37CC-BAC6-4156-9B91-D1BE2C8B7268"


# ---------------------------------------------------------------- one scenario, two renderings
@dataclass
class Encounter:
    id: str
    code: tuple[str, str]
    start: datetime
    end: datetime
    encounter_class: str = "AMB"  # FHIR Encounter.class (v3 ActCode)
    discharge: str | None = None  # SNOMED discharge disposition
    diagnoses: list[tuple[str, str]] = field(default_factory=list)
    qrda_states_class: bool = False  # write the STU 5.3 "Encounter Class" act into the QRDA-I file
    qrda_status: str = "completed"  # statusCode of the QRDA-I encounter ("active": in progress)
    qrda_without_end: bool = False  # leave effectiveTime/high out of the QRDA-I encounter


@dataclass
class Reading:
    moment: datetime
    systolic: int
    diastolic: int
    encounter: str | None = None  # the encounter it was taken in (FHIR Observation.encounter)


@dataclass
class Scenario:
    birth: date = date(1960, 5, 1)
    gender: str = "male"
    encounters: list[Encounter] = field(default_factory=list)
    problems: list[tuple[tuple[str, str], date]] = field(default_factory=list)  # (code, onset)
    readings: list[Reading] = field(default_factory=list)


def _fhir_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _hl7_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _coding(code: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": SYSTEMS[code[0]][0], "code": code[1]}]}


def _category(value: str) -> list[dict[str, Any]]:
    system = "http://terminology.hl7.org/CodeSystem/condition-category"
    return [{"coding": [{"system": system, "code": value}]}]


def _clinical_status(value: str) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    return {"coding": [{"system": system, "code": value}]}


def to_fhir(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario as QI-Core resources, shaped like the published test cases."""
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": "parity-patient",
            "birthDate": scenario.birth.isoformat(),
            "gender": scenario.gender,
            "name": [{"family": "Parity", "given": ["Pat"]}],
        }
    ]
    for encounter in scenario.encounters:
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": encounter.id,
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": encounter.encounter_class,
            },
            "type": [_coding(encounter.code)],
            "period": {"start": _fhir_time(encounter.start), "end": _fhir_time(encounter.end)},
        }
        if encounter.discharge:
            resource["hospitalization"] = {"dischargeDisposition": _coding(("snomed", encounter.discharge))}
        if encounter.diagnoses:
            resource["diagnosis"] = []
        for number, diagnosis in enumerate(encounter.diagnoses, start=1):
            condition_id = f"{encounter.id}-dx-{number}"
            resource["diagnosis"].append({"condition": {"reference": f"Condition/{condition_id}"}})
            resources.append(
                {
                    "resourceType": "Condition",
                    "id": condition_id,
                    "clinicalStatus": _clinical_status("resolved"),
                    "category": _category("encounter-diagnosis"),
                    "code": _coding(diagnosis),
                    "onsetDateTime": _fhir_time(encounter.start),
                    "abatementDateTime": _fhir_time(encounter.end),
                }
            )
        resources.append(resource)
    for number, (code, onset) in enumerate(scenario.problems, start=1):
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"problem-{number}",
                "clinicalStatus": _clinical_status("active"),
                "category": _category("problem-list-item"),
                "code": _coding(code),
                "onsetDateTime": f"{onset.isoformat()}T00:00:00.000Z",
            }
        )
    for number, reading in enumerate(scenario.readings, start=1):
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"bp-{number}",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": _coding(("loinc", "85354-9")),
            "effectiveDateTime": _fhir_time(reading.moment),
            "component": [
                {
                    "code": _coding(("loinc", "8480-6")),
                    "valueQuantity": {"value": reading.systolic, "unit": "mm[Hg]", "code": "mm[Hg]"},
                },
                {
                    "code": _coding(("loinc", "8462-4")),
                    "valueQuantity": {"value": reading.diastolic, "unit": "mm[Hg]", "code": "mm[Hg]"},
                },
            ],
        }
        if reading.encounter:
            observation["encounter"] = {"reference": f"Encounter/{reading.encounter}"}
        resources.append(observation)
    return resources


def _qrda_code(code: tuple[str, str], tag: str = "code", xsi: bool = False) -> str:
    typed = ' xsi:type="CD"' if xsi else ""
    return f'<{tag}{typed} code="{code[1]}" codeSystem="{SYSTEMS[code[0]][1]}"/>'


def _qrda_encounter(encounter: Encounter) -> str:
    parts = [
        '<entry><encounter classCode="ENC" moodCode="EVN">',
        '<templateId root="2.16.840.1.113883.10.20.22.4.49" extension="2015-08-01"/>',
        '<templateId root="2.16.840.1.113883.10.20.24.3.23" extension="2021-08-01"/>',
        f'<id root="1.3.6.1.4.1.115" extension="{encounter.id}"/>',
        _qrda_code(encounter.code),
        f'<statusCode code="{encounter.qrda_status}"/>',
        f'<effectiveTime><low value="{_hl7_time(encounter.start)}"/>'
        + ("" if encounter.qrda_without_end else f'<high value="{_hl7_time(encounter.end)}"/>')
        + "</effectiveTime>",
    ]
    if encounter.discharge:
        parts.append(_qrda_code(("snomed", encounter.discharge), "sdtc:dischargeDispositionCode"))
    if encounter.qrda_states_class:
        parts.append(
            '<entryRelationship typeCode="REFR"><act classCode="ACT" moodCode="EVN">'
            '<templateId root="2.16.840.1.113883.10.20.24.3.171" extension="2021-08-01"/>'
            f'<code code="{encounter.encounter_class}" codeSystem="2.16.840.1.113883.5.4"/>'
            "</act></entryRelationship>"
        )
    for rank, diagnosis in enumerate(encounter.diagnoses, start=1):
        parts.append(
            '<entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">'
            '<templateId root="2.16.840.1.113883.10.20.24.3.168" extension="2021-08-01"/>'
            '<code code="29308-4" codeSystem="2.16.840.1.113883.6.1"/>'
            f"{_qrda_code(diagnosis, 'value', xsi=True)}"
            '<entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">'
            '<templateId root="2.16.840.1.113883.10.20.24.3.166" extension="2019-12-01"/>'
            '<code code="263486008" codeSystem="2.16.840.1.113883.6.96"/>'
            f'<value xsi:type="INT" value="{rank}"/>'
            "</observation></entryRelationship>"
            "</observation></entryRelationship>"
        )
    parts.append("</encounter></entry>")
    return "\n".join(parts)


def _qrda_problem(number: int, code: tuple[str, str], onset: date) -> str:
    diagnosis = statement(
        "Diagnosis",
        f"problem-{number}",
        code_xml("29308-4", LOINC_OID),
        effective_time(f"{onset:%Y%m%d}"),
        _qrda_code(code, "value", xsi=True),
    )
    concern = code_xml("CONC", "2.16.840.1.113883.5.6")
    subject = relationship("SUBJ", diagnosis)
    concern_act = statement("Diagnosis Concern Act", f"concern-{number}", concern, subject, status="active")
    return section_entry(concern_act)


def _qrda_exam(number: int, loinc: str, moment: datetime, value: int) -> str:
    return section_entry(
        statement(
            "Physical Exam, Performed",
            f"exam-{number}-{loinc}",
            code_xml(loinc, LOINC_OID),
            f'<effectiveTime value="{_hl7_time(moment)}"/>',
            f'<value xsi:type="PQ" value="{value}" unit="mm[Hg]"/>',
        )
    )


def to_qrda(scenario: Scenario) -> bytes:
    """The scenario as a CMS IG 2025 QRDA-I document referencing CMS165."""
    gender = {"male": "M", "female": "F"}[scenario.gender]
    entries = [_qrda_encounter(e) for e in scenario.encounters]
    entries += [_qrda_problem(n, code, onset) for n, (code, onset) in enumerate(scenario.problems, 1)]
    for number, reading in enumerate(scenario.readings, start=1):
        entries.append(_qrda_exam(number, "8480-6", reading.moment, reading.systolic))
        entries.append(_qrda_exam(number, "8462-4", reading.moment, reading.diastolic))
    return qrda_document(
        given="Pat",
        family="Parity",
        birth_time=f"{scenario.birth:%Y%m%d}",
        gender=f'<administrativeGenderCode code="{gender}" codeSystem="2.16.840.1.113883.5.1"/>',
        tin=TIN,
        measure_set_id=CMS165_SET_ID,
        measure_title="Controlling High Blood Pressure",
        entries="\n".join(entries),
    ).encode()


def parse(scenario: Scenario) -> q.QrdaDocument:
    return parse_qrda(to_qrda(scenario), file_name="parity.xml")


def both_paths(scenario: Scenario) -> tuple[dict[str, MeasurePopulations], dict[str, MeasurePopulations]]:
    fhir = calculate_fhir(to_fhir(scenario), period=PERIOD)
    qrda = evaluate_all(patient_from_qrda(parse(scenario)), PERIOD)
    return fhir, qrda


def assert_same_populations(scenario: Scenario) -> dict[str, MeasurePopulations]:
    fhir, qrda = both_paths(scenario)
    assert {m: p.counts() for m, p in qrda.items()} == {m: p.counts() for m, p in fhir.items()}
    for measure_id, populations in fhir.items():
        mirrored = qrda[measure_id]
        assert (mirrored.performance, mirrored.performance_date) == (
            populations.performance,
            populations.performance_date,
        ), measure_id
        assert (mirrored.systolic, mirrored.diastolic) == (populations.systolic, populations.diastolic)
    return qrda


# ---------------------------------------------------------------- scenarios
def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute)


def office(eid: str, day: str, **kw: Any) -> Encounter:
    return Encounter(eid, OFFICE_VISIT, at(day, 9), at(day, 9, 30), **kw)


def hypertensive(**kw: Any) -> Scenario:
    """A 65-year-old man with essential hypertension since 2020 and an office visit on 2025-03-01
    with a controlled reading (130/80)."""
    scenario = Scenario(
        encounters=[office("office-1", "2025-03-01")],
        problems=[(HYPERTENSION, date(2020, 1, 1))],
        readings=[Reading(at("2025-03-01", 9, 10), 130, 80, "office-1")],
    )
    for key, value in kw.items():
        getattr(scenario, key).extend(value)
    return scenario


ED_LATER = Encounter("ed-1", ED_VISIT, at("2025-11-05", 10), at("2025-11-05", 14), "EMER")
INPATIENT_LATER = Encounter("ip-1", INPATIENT, at("2025-10-01", 8), at("2025-10-04", 12), "IMP")


def test_blood_pressure_in_an_emergency_visit_is_ignored() -> None:
    scenario = hypertensive(encounters=[ED_LATER], readings=[Reading(at("2025-11-05", 11), 182, 104, "ed-1")])
    result = assert_same_populations(scenario)["M236"]
    assert result.numerator and result.performance is Performance.MET
    assert (result.performance_date, result.systolic, result.diastolic) == (date(2025, 3, 1), 130, 80)


def test_blood_pressure_during_an_inpatient_stay_is_ignored() -> None:
    scenario = hypertensive(
        encounters=[INPATIENT_LATER], readings=[Reading(at("2025-10-02", 20), 176, 98, "ip-1")]
    )
    result = assert_same_populations(scenario)["M236"]
    assert result.numerator and result.performance_date == date(2025, 3, 1)


@pytest.mark.parametrize("qrda_states_class", [False, True])
def test_the_reading_is_ignored_whether_the_file_states_the_class_or_not(qrda_states_class: bool) -> None:
    ed = Encounter(
        "ed-1",
        ED_VISIT,
        at("2025-11-05", 10),
        at("2025-11-05", 14),
        "EMER",
        qrda_states_class=qrda_states_class,
    )
    scenario = hypertensive(encounters=[ed], readings=[Reading(at("2025-11-05", 12), 150, 95, "ed-1")])
    assert assert_same_populations(scenario)["M236"].performance_date == date(2025, 3, 1)


def test_a_reading_within_an_office_visit_inside_an_inpatient_stay_is_ignored() -> None:
    # QRDA-I cannot say which of two overlapping encounters a reading belongs to: one taken during an
    # inpatient stay is "taken in an inpatient stay" even when an office-coded visit (listed first)
    # overlaps it. FHIR: the reading references the stay.
    consult = office("consult-1", "2025-10-02")
    stay = Encounter("ip-1", INPATIENT, at("2025-10-01", 8), at("2025-10-04", 12), "IMP")
    scenario = hypertensive(
        encounters=[consult, stay], readings=[Reading(at("2025-10-02", 9, 15), 176, 98, "ip-1")]
    )
    result = assert_same_populations(scenario)["M236"]
    assert result.numerator and result.performance_date == date(2025, 3, 1)


def test_a_stated_ambulatory_class_keeps_the_reading_like_fhir_does() -> None:
    # An ED-coded encounter the file says was ambulatory (class AMB): FHIR keeps its reading, so does QRDA.
    ed = Encounter(
        "ed-1", ED_VISIT, at("2025-11-05", 10), at("2025-11-05", 14), "AMB", qrda_states_class=True
    )
    scenario = hypertensive(encounters=[ed], readings=[Reading(at("2025-11-05", 12), 150, 95, "ed-1")])
    result = assert_same_populations(scenario)["M236"]
    assert not result.numerator and (result.performance_date, result.systolic) == (date(2025, 11, 5), 150)


def test_a_reading_outside_the_emergency_visit_counts() -> None:
    # Same day, but taken at the office before the ED visit started: it counts (uncontrolled).
    scenario = hypertensive(
        encounters=[ED_LATER, office("office-2", "2025-11-05")],
        readings=[
            Reading(at("2025-11-05", 9, 15), 150, 92, "office-2"),
            Reading(at("2025-11-05", 11), 120, 70, "ed-1"),
        ],
    )
    result = assert_same_populations(scenario)["M236"]
    assert result.performance is Performance.NOT_MET
    assert (result.performance_date, result.systolic, result.diastolic) == (date(2025, 11, 5), 150, 92)


def test_only_emergency_readings_leave_no_qualifying_reading() -> None:
    scenario = Scenario(
        encounters=[office("office-1", "2025-03-01"), ED_LATER],
        problems=[(HYPERTENSION, date(2020, 1, 1))],
        readings=[Reading(at("2025-11-05", 11), 120, 70, "ed-1")],
    )
    result = assert_same_populations(scenario)["M236"]
    assert result.denominator and not result.numerator
    assert "no qualifying blood pressure" in result.note


@pytest.mark.parametrize("disposition", [DISCHARGE_HOME_HOSPICE, DISCHARGE_FACILITY_HOSPICE])
def test_inpatient_discharge_to_hospice_is_a_denominator_exclusion(disposition: str) -> None:
    stay = Encounter("ip-1", INPATIENT, at("2025-12-10", 8), at("2025-12-20", 12), "IMP", disposition)
    result = assert_same_populations(hypertensive(encounters=[stay]))
    assert result["M236"].denominator_exclusion
    assert result["M236"].performance is Performance.DENOMINATOR_EXCLUSION


@pytest.mark.parametrize(
    "stay",
    [
        # discharged home, not to hospice
        Encounter("ip-1", INPATIENT, at("2025-12-10", 8), at("2025-12-20", 12), "IMP", DISCHARGE_HOME),
        # discharged to hospice, but the stay ends after the period
        Encounter(
            "ip-1", INPATIENT, at("2025-12-28", 8), at("2026-01-03", 12), "IMP", DISCHARGE_HOME_HOSPICE
        ),
        # a hospice disposition on an encounter that is not an inpatient encounter
        Encounter(
            "office-9", OFFICE_VISIT, at("2025-06-01", 9), at("2025-06-01", 10), "AMB", DISCHARGE_HOME_HOSPICE
        ),
    ],
    ids=["home", "ends-after-period", "not-inpatient"],
)
def test_no_hospice_exclusion_without_all_of_its_conditions(stay: Encounter) -> None:
    result = assert_same_populations(hypertensive(encounters=[stay]))
    assert result["M236"].denominator and not result["M236"].denominator_exclusion


def test_hospice_diagnosis_given_as_an_encounter_diagnosis_excludes() -> None:
    visit = office("office-2", "2025-08-12", diagnoses=[HOSPICE_DIAGNOSIS])
    result = assert_same_populations(hypertensive(encounters=[visit]))
    assert result["M236"].denominator_exclusion


def test_hypertension_given_only_as_an_encounter_diagnosis_puts_the_patient_in_the_population() -> None:
    scenario = Scenario(
        encounters=[office("office-1", "2025-03-01", diagnoses=[HYPERTENSION])],
        readings=[Reading(at("2025-03-01", 9, 10), 145, 85, "office-1")],
    )
    result = assert_same_populations(scenario)["M236"]
    assert result.initial_population and result.performance is Performance.NOT_MET
    model = patient_from_qrda(parse(scenario))
    [condition] = [e for e in model.entries if e.kind == EntryKind.CONDITION]
    assert condition.categories == frozenset({"encounter-diagnosis"})
    assert (condition.start, condition.end) == (
        datetime(2025, 3, 1, 9, tzinfo=condition.start.tzinfo if condition.start else None),
        datetime(2025, 3, 1, 9, 30, tzinfo=condition.end.tzinfo if condition.end else None),
    )


def test_woman_with_hospice_discharge_is_excluded_from_every_measure_she_is_in() -> None:
    # 60-year-old woman: in CMS122? no diabetes. CMS125 and CMS130 (age 45-74 / 46-75) and CMS165.
    stay = Encounter(
        "ip-1", INPATIENT, at("2025-12-10", 8), at("2025-12-20", 12), "IMP", DISCHARGE_HOME_HOSPICE
    )
    scenario = hypertensive(encounters=[stay])
    scenario.birth, scenario.gender = date(1965, 2, 1), "female"
    result = assert_same_populations(scenario)
    excluded = sorted(m for m, p in result.items() if p.denominator_exclusion)
    assert excluded == ["M112", "M113", "M236"]


# ---------------------------------------------------------------- through calculate_qrda (the sync)
def test_calculate_qrda_turns_the_hospice_discharge_into_an_exclusion_record() -> None:
    stay = Encounter(
        "ip-1", INPATIENT, at("2025-12-10", 8), at("2025-12-20", 12), "IMP", DISCHARGE_HOME_HOSPICE
    )
    doc = parse(hypertensive(encounters=[stay]))
    records, issues = calculate_qrda(doc, tin=TIN, source_file="parity.xml", performance_year=2025)
    assert issues == []
    [record] = records
    assert (record.measure_id, record.performance) == ("M236", Performance.DENOMINATOR_EXCLUSION)


def test_calculate_qrda_ignores_the_emergency_reading_in_the_record() -> None:
    doc = parse(
        hypertensive(encounters=[ED_LATER], readings=[Reading(at("2025-11-05", 11), 182, 104, "ed-1")])
    )
    [record], _, _ = calculate_qrda_detailed(doc, tin=TIN, source_file="parity.xml", performance_year=2025)
    assert (record.performance, record.performance_date) == (Performance.MET, date(2025, 3, 1))
    assert (record.systolic, record.diastolic) == (130, 80)


def test_the_models_link_the_reading_to_the_same_kind_of_encounter() -> None:
    scenario = hypertensive(
        encounters=[INPATIENT_LATER], readings=[Reading(at("2025-10-02", 20), 176, 98, "ip-1")]
    )
    for model in (patient_from_fhir(to_fhir(scenario)), patient_from_qrda(parse(scenario))):
        classes = {e.id: e.encounter_class for e in model.entries if e.kind == EntryKind.ENCOUNTER}
        linked = sorted(
            classes.get(e.encounter_id, "")
            for e in model.entries
            if e.kind == EntryKind.OBSERVATION and e.start and e.start.date() == date(2025, 10, 2)
        )
        assert linked and set(linked) == {"IMP"}


# ---------------------------------------------------------------- random patients: same populations
_WEEKS = st.integers(min_value=0, max_value=52)  # encounters a week apart: stays never overlap


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Hypertensive patients with visits in distinct weeks (office, ED or inpatient, some discharged
    to hospice, the last possibly ending in the next year) and readings taken within them."""
    weeks = draw(st.lists(_WEEKS, min_size=1, max_size=5, unique=True))
    scenario = Scenario(problems=[(HYPERTENSION, date(2019, 6, 1))])
    scenario.birth = date(draw(st.integers(1938, 2004)), 7, 15)
    for number, week in enumerate(weeks):
        day = (date(2025, 1, 1) + timedelta(days=7 * week)).isoformat()
        kind = draw(st.sampled_from(["office", "ed", "inpatient"]))
        if kind == "office":
            encounter = office(f"enc-{number}", day)
        elif kind == "ed":
            encounter = Encounter(
                f"enc-{number}",
                ED_VISIT,
                at(day, 10),
                at(day, 14),
                "EMER",
                qrda_states_class=draw(st.booleans()),
            )
        else:
            encounter = Encounter(
                f"enc-{number}",
                INPATIENT,
                at(day, 8),
                at(day, 8) + timedelta(days=draw(st.integers(0, 5)), hours=4),
                "IMP",
                discharge=draw(st.sampled_from([None, DISCHARGE_HOME, DISCHARGE_HOME_HOSPICE])),
            )
        scenario.encounters.append(encounter)
        for _ in range(draw(st.integers(0, 2))):
            moment = encounter.start + (encounter.end - encounter.start) * draw(st.sampled_from([0, 0.5, 1]))
            scenario.readings.append(
                Reading(moment, draw(st.integers(100, 180)), draw(st.integers(60, 110)), encounter.id)
            )
    return scenario


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_patients_fall_in_the_same_populations_on_both_paths(scenario: Scenario) -> None:
    assert_same_populations(scenario)


# ---------------------------------------------------------------- linking details
def _linked_ids(entries_xml: Scenario) -> dict[str, str]:
    model = patient_from_qrda(parse(entries_xml))
    return {e.id: e.encounter_id for e in model.entries if e.kind == EntryKind.OBSERVATION}


def _june_links(ed: Encounter) -> list[str]:
    scenario = hypertensive(encounters=[ed], readings=[Reading(at("2025-06-01", 9), 150, 95)])
    model = patient_from_qrda(parse(scenario))
    june = [e for e in model.entries if e.kind == EntryKind.OBSERVATION and e.start and e.start.month == 6]
    assert len(june) == 2  # the systolic and the diastolic exam
    return [e.encounter_id for e in june]


def test_a_finished_encounter_without_an_end_does_not_swallow_later_readings() -> None:
    start = at("2025-02-01", 10)
    ed = Encounter("ed-1", ED_VISIT, start, start, "EMER", qrda_without_end=True)
    assert _june_links(ed) == ["", ""]


def test_an_encounter_in_progress_covers_the_readings_after_its_start() -> None:
    start = at("2025-02-01", 10)
    stay = Encounter("ip-1", INPATIENT, start, start, "IMP", qrda_status="active", qrda_without_end=True)
    assert _june_links(stay) == ["1.3.6.1.4.1.115:ip-1"] * 2


def test_encounters_without_ids_or_with_shared_ids_get_unique_ones() -> None:
    scenario = hypertensive(encounters=[ED_LATER], readings=[Reading(at("2025-11-05", 11), 182, 104, "ed-1")])
    xml = to_qrda(scenario).replace(b'extension="ed-1"', b'extension="office-1"')  # a shared id
    model = patient_from_qrda(parse_qrda(xml, file_name="parity.xml"))
    ids = [e.id for e in model.entries if e.kind == EntryKind.ENCOUNTER]
    assert len(set(ids)) == len(ids) == 2
    classes = {e.id: e.encounter_class for e in model.entries if e.kind == EntryKind.ENCOUNTER}
    ed_readings = [
        e for e in model.entries if e.kind == EntryKind.OBSERVATION and e.start and e.start.month == 11
    ]
    assert ed_readings and {classes[e.encounter_id] for e in ed_readings} == {"EMER"}
    result = evaluate_all(model, PERIOD)["M236"]
    assert result.performance_date == date(2025, 3, 1)
