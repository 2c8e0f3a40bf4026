"""Encounter attributes of QRDA-I "Encounter, Performed": discharge disposition, encounter class,
encounter diagnoses (with rank and present-on-admission) and facility locations, in every template
generation (CMS IG 2025 / STU 5.3, the STU 3-4 "Encounter Performed Act" wrapper with "Principal
Diagnosis", the C-CDA "Encounter Diagnosis" act) and in the published sample files."""

from __future__ import annotations

from datetime import datetime

import pytest

from aco_sync.domain import qrda_document as q
from aco_sync.ingest.qrda import parse_qrda
from qrda_samples import code_xml, effective_time, qrda_document, relationship, section_entry, statement
from shared_fixtures import shared_path

SNOMED, LOINC, CPT = "2.16.840.1.113883.6.96", "2.16.840.1.113883.6.1", "2.16.840.1.113883.6.12"
ICD10 = "2.16.840.1.113883.6.90"
HOSPICE_HOME = "428361000124107"  # Discharge to home for hospice care (procedure)

# CMS IG 2025 (QRDA-I STU 5.3): Encounter Performed (V6) with everything QDM 5.6 lets it carry.
ENCOUNTER_2025 = f"""
<entry><encounter classCode="ENC" moodCode="EVN">
  <templateId root="2.16.840.1.113883.10.20.22.4.49" extension="2015-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.24.3.23" extension="2021-08-01"/>
  <id root="1.3.6.1.4.1.115" extension="enc-inpatient-1"/>
  <code code="183452005" codeSystem="{SNOMED}" sdtc:valueSet="2.16.840.1.113883.3.666.5.307"/>
  <text>Encounter, Performed: Encounter Inpatient</text>
  <statusCode code="completed"/>
  <effectiveTime><low value="20251103080000"/><high value="20251110140000"/></effectiveTime>
  <sdtc:dischargeDispositionCode code="{HOSPICE_HOME}" codeSystem="{SNOMED}"
    displayName="Discharge to home for hospice care (procedure)"/>
  <participant typeCode="LOC">
    <templateId root="2.16.840.1.113883.10.20.24.3.100" extension="2017-08-01"/>
    <time><low value="20251103080000"/><high value="20251104090000"/></time>
    <participantRole classCode="SDLOC">
      <code code="1108-0" codeSystem="2.16.840.1.113883.6.259" displayName="Emergency Department"/>
    </participantRole>
  </participant>
  <entryRelationship typeCode="REFR"><act classCode="ACT" moodCode="EVN">
    <templateId root="2.16.840.1.113883.10.20.24.3.171" extension="2021-08-01"/>
    <code code="IMP" codeSystem="2.16.840.1.113883.5.4" displayName="inpatient encounter"/>
  </act></entryRelationship>
  <entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">
    <templateId root="2.16.840.1.113883.10.20.24.3.168" extension="2021-08-01"/>
    <code code="29308-4" codeSystem="{LOINC}"/>
    <value xsi:type="CD" code="I10" codeSystem="{ICD10}"/>
    <entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">
      <templateId root="2.16.840.1.113883.10.20.24.3.166" extension="2019-12-01"/>
      <code code="263486008" codeSystem="{SNOMED}"/>
      <value xsi:type="INT" value="1"/>
    </observation></entryRelationship>
    <entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">
      <templateId root="2.16.840.1.113883.10.20.24.3.169" extension="2021-08-01"/>
      <code code="78026-2" codeSystem="{LOINC}"/>
      <value xsi:type="CD" code="Y" codeSystem="2.16.840.1.113883.6.301.11"/>
    </observation></entryRelationship>
  </observation></entryRelationship>
  <entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">
    <templateId root="2.16.840.1.113883.10.20.24.3.168" extension="2021-08-01"/>
    <code code="29308-4" codeSystem="{LOINC}"/>
    <value xsi:type="CD" code="170935008" codeSystem="{SNOMED}" displayName="Full care by hospice"/>
  </observation></entryRelationship>
</encounter></entry>"""

# STU 3-4 era (2016-2018): "Encounter Performed Act" wrapper (24.3.133) around the encounter, with a
# "Principal Diagnosis" (24.3.152) and a C-CDA "Encounter Diagnosis" act (22.4.80).
ENCOUNTER_WRAPPED_2017 = section_entry(
    statement(
        "Encounter Performed Act (STU 3-4)",
        None,
        code_xml("ENC", "2.16.840.1.113883.5.6"),
        relationship(
            "SUBJ",
            statement(
                "Encounter, Performed (STU 3-4)",
                "enc-2017",
                code_xml("99283", CPT),
                effective_time("20250405101500", "20250405123000"),
                f"""<sdtc:dischargeDispositionCode code="306689006" codeSystem="{SNOMED}"/>
    <entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">
      <templateId root="2.16.840.1.113883.10.20.24.3.152" extension="2017-08-01"/>
      <code code="8319008" codeSystem="{SNOMED}" displayName="Principal Diagnosis"/>
      <value xsi:type="CD" code="59621000" codeSystem="{SNOMED}"/>
    </observation></entryRelationship>
    <entryRelationship typeCode="REFR"><act classCode="ACT" moodCode="EVN">
      <templateId root="2.16.840.1.113883.10.20.22.4.80" extension="2015-08-01"/>
      <code code="29308-4" codeSystem="{LOINC}"/>
      <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.22.4.4" extension="2015-08-01"/>
        <code code="282291009" codeSystem="{SNOMED}"/>
        <value xsi:type="CD" code="44054006" codeSystem="{SNOMED}"/>
      </observation></entryRelationship>
    </act></entryRelationship>""",
            ),
        ),
        status=None,
    )
)

# A producer that forgot the sdtc namespace: the CDA-namespace element is still read.
ENCOUNTER_NO_SDTC = section_entry(
    statement(
        "Encounter, Performed (QRDA template only)",
        "enc-no-sdtc",
        code_xml("32485007", SNOMED),
        effective_time("20250601", "20250603"),
        code_xml("428371000124100", SNOMED, element="dischargeDispositionCode"),
    )
)

PLAIN_OFFICE_VISIT = section_entry(
    statement(
        "Encounter, Performed (QRDA template only)",
        "enc-office",
        code_xml("99213", CPT),
        effective_time("20250301090000", "20250301093000"),
    )
)


def parse(entries: str) -> q.QrdaDocument:
    return parse_qrda(qrda_document(entries=entries).encode(), file_name="encounters.xml")


def only_encounter(doc: q.QrdaDocument) -> q.QrdaEntry:
    [encounter] = doc.entries_of(q.QrdaEntryKind.ENCOUNTER)
    return encounter


def test_cms_ig_2025_encounter_carries_disposition_class_diagnoses_and_location() -> None:
    encounter = only_encounter(parse(ENCOUNTER_2025))
    assert encounter.qdm_datatype == "Encounter, Performed"
    assert encounter.discharge_disposition is not None
    assert (encounter.discharge_disposition.code, encounter.discharge_disposition.system) == (
        HOSPICE_HOME,
        SNOMED,
    )
    assert encounter.encounter_class is not None and encounter.encounter_class.code == "IMP"
    assert [(d.code.code, d.code.system, d.rank) for d in encounter.diagnoses] == [
        ("I10", ICD10, 1),
        ("170935008", SNOMED, None),
    ]
    principal = encounter.diagnoses[0]
    assert principal.present_on_admission is not None and principal.present_on_admission.code == "Y"
    assert principal.line is not None
    [location] = encounter.facility_locations
    assert location.code is not None and location.code.code == "1108-0"
    assert (location.low, location.high) == (datetime(2025, 11, 3, 8), datetime(2025, 11, 4, 9))
    assert (encounter.effective_low, encounter.effective_high) == (
        datetime(2025, 11, 3, 8),
        datetime(2025, 11, 10, 14),
    )


def test_wrapped_2017_encounter_keeps_principal_and_ccda_encounter_diagnoses() -> None:
    encounter = only_encounter(parse(ENCOUNTER_WRAPPED_2017))
    assert encounter.entry_id == "1.3.6.1.4.1.115:enc-2017"
    assert encounter.discharge_disposition is not None
    assert encounter.discharge_disposition.code == "306689006"
    assert [(d.code.code, d.rank) for d in encounter.diagnoses] == [("59621000", 1), ("44054006", None)]
    assert encounter.encounter_class is None  # no "Encounter Class" act before STU 5.3
    assert encounter.facility_locations == ()


def test_discharge_disposition_without_the_sdtc_namespace_is_read() -> None:
    encounter = only_encounter(parse(ENCOUNTER_NO_SDTC))
    assert encounter.discharge_disposition is not None
    assert encounter.discharge_disposition.code == "428371000124100"


def test_encounter_without_attributes_and_other_entries_keep_the_defaults() -> None:
    doc = parse(PLAIN_OFFICE_VISIT)  # the default sample also holds an HbA1c lab result
    for entry in doc.entries:
        assert entry.discharge_disposition is None
        assert entry.encounter_class is None
        assert entry.diagnoses == ()
        assert entry.facility_locations == ()
    assert doc.entry_counts() == {"encounter": 1}


def test_null_flavored_or_empty_attributes_do_not_break_the_encounter() -> None:
    entries = ENCOUNTER_NO_SDTC.replace(
        '<dischargeDispositionCode code="428371000124100" codeSystem="2.16.840.1.113883.6.96"/>',
        '<sdtc:dischargeDispositionCode nullFlavor="UNK"/>'
        '<participant typeCode="LOC"><participantRole classCode="SDLOC"/></participant>'
        '<entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">'
        '<templateId root="2.16.840.1.113883.10.20.24.3.168" extension="2021-08-01"/>'
        '<code code="29308-4" codeSystem="2.16.840.1.113883.6.1"/><value xsi:type="CD" nullFlavor="UNK"/>'
        "</observation></entryRelationship>",
    ).replace("enc-no-sdtc", "enc-empty")
    doc = parse(entries)
    encounter = only_encounter(doc)
    assert encounter.entry_id == "1.3.6.1.4.1.115:enc-empty"
    assert encounter.discharge_disposition is not None
    assert encounter.discharge_disposition.code is None
    assert encounter.discharge_disposition.null_flavor == "UNK"
    assert encounter.diagnoses == ()  # a diagnosis without a code says nothing
    assert encounter.facility_locations == ()


def test_invalid_location_time_is_a_warning_not_a_rejection() -> None:
    doc = parse(
        ENCOUNTER_2025.replace(
            '<low value="20251103080000"/><high value="20251104090000"/>', '<low value="2025-13-45"/>'
        )
    )
    [location] = only_encounter(doc).facility_locations
    assert location.low is None and location.code is not None
    assert any(w.code == "invalid_time" for w in doc.warnings)


# ---------------------------------------------------------------- published sample files
@pytest.mark.parametrize(
    ("name", "diagnoses", "encounter_class", "locations"),
    [
        # HL7 STU 5.3 sample: ED visit, diagnosis 274100004 rank 1 POA Y, class EMER (nested in the diagnosis)
        ("09_HL7_QRDA_I_STU5_3_Sample_v1.1.xml", [("274100004", 1)], "EMER", []),
        ("18_CMS_2022_QRDA_I_Sample_File.xml", [("274100004", 1)], None, []),
        # STU 5.1 CMS165 sample: principal diagnosis (24.3.152) and the office as facility location
        ("11_HL7_QRDA_I_STU5_1_Sample_CMS165.xml", [("8319008", 1)], None, ["1141-1"]),
    ],
)
def test_sample_files_encounter_attributes(
    name: str, diagnoses: list[tuple[str, int]], encounter_class: str | None, locations: list[str]
) -> None:
    doc = parse_qrda(shared_path("fixtures", "qrda", name).read_bytes(), file_name=name)
    performed = [
        e for e in doc.entries_of(q.QrdaEntryKind.ENCOUNTER) if e.qdm_datatype == "Encounter, Performed"
    ]
    first = next(e for e in performed if e.diagnoses)
    assert [(d.code.code, d.rank) for d in first.diagnoses] == diagnoses
    assert (first.encounter_class.code if first.encounter_class else None) == encounter_class
    assert [loc.code.code for loc in first.facility_locations if loc.code] == locations
    assert all(e.discharge_disposition is None for e in performed)  # none of the samples has one


def test_encounter_diagnosis_without_a_value_is_not_the_loinc_diagnosis_code() -> None:
    # the 24.3.168 observation's <code> is LOINC 29308-4 "Diagnosis": never a diagnosis itself
    entries = ENCOUNTER_NO_SDTC.replace(
        "</encounter>",
        '<entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">'
        '<templateId root="2.16.840.1.113883.10.20.24.3.168" extension="2021-08-01"/>'
        '<code code="29308-4" codeSystem="2.16.840.1.113883.6.1"/>'
        "</observation></entryRelationship></encounter>",
    )
    assert only_encounter(parse(entries)).diagnoses == ()
