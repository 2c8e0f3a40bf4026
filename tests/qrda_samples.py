"""Small QRDA-I documents for the reader's tests (CMS IG 2025/2026 style): hand-written entries in the
demo data's document builder (``aco_sync_local.demo_data.qrda_i_document``)."""

from __future__ import annotations

from aco_sync_local.demo_data import qrda_i_document

GENDER_F = '<administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>'
GENDER_2026_MALE = (
    '<administrativeGenderCode nullFlavor="OTH">'
    '<translation code="248153007" codeSystem="2.16.840.1.113883.6.96" displayName="Male (finding)"/>'
    "</administrativeGenderCode>"
)
GENDER_2026_FEMALE = (
    '<administrativeGenderCode nullFlavor="OTH">'
    '<translation code="248152002" codeSystem="2.16.840.1.113883.6.96" displayName="Female (finding)"/>'
    "</administrativeGenderCode>"
)


def encounter_entry(*, extension: str, code: str, low: str, high: str) -> str:
    """A QRDA-I Encounter, Performed entry (CPT ``code``) from ``low`` to ``high``."""
    return f"""
<entry><encounter classCode="ENC" moodCode="EVN">
  <templateId root="2.16.840.1.113883.10.20.22.4.49" extension="2015-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.24.3.23" extension="2021-08-01"/>
  <id root="1.3.6.1.4.1.115" extension="{extension}"/>
  <code code="{code}" codeSystem="2.16.840.1.113883.6.12"/>
  <statusCode code="completed"/>
  <effectiveTime><low value="{low}"/><high value="{high}"/></effectiveTime>
</encounter></entry>"""


def hba1c_entry(*, extension: str, time: str, percent: str) -> str:
    """A QRDA-I Laboratory Test, Performed entry: an HbA1c of ``percent`` % at ``time``."""
    return f"""
<entry><observation classCode="OBS" moodCode="EVN">
  <templateId root="2.16.840.1.113883.10.20.22.4.2" extension="2015-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.24.3.38" extension="2019-12-01"/>
  <id root="1.3.6.1.4.1.115" extension="{extension}"/>
  <code code="4548-4" codeSystem="2.16.840.1.113883.6.1" displayName="Hemoglobin A1c"/>
  <statusCode code="completed"/>
  <effectiveTime><low value="{time}"/><high value="{time}"/></effectiveTime>
  <value xsi:type="PQ" value="{percent}" unit="%"/>
</observation></entry>"""


HBA1C_ENTRY = hba1c_entry(extension="lab-1", time="20250310083000-0500", percent="7.4")

UNK_CODE_BP_ENTRY = """
<entry><observation classCode="OBS" moodCode="EVN">
  <templateId root="2.16.840.1.113883.10.20.24.3.59" extension="2019-12-01"/>
  <id root="1.3.6.1.4.1.115" extension="bp-1"/>
  <code nullFlavor="UNK"><translation code="8480-6" codeSystem="2.16.840.1.113883.6.1"/></code>
  <statusCode code="completed"/>
  <effectiveTime><low value="2025-06-01T09:00:00Z"/><high value="2025-06-01T09:00:00Z"/></effectiveTime>
  <value xsi:type="PQ" value="128" unit="mm[Hg]"/>
</observation></entry>"""

NEGATED_ENTRY = """
<entry><act classCode="ACT" moodCode="EVN" negationInd="true">
  <templateId root="2.16.840.1.113883.10.20.24.3.32" extension="2021-08-01"/>
  <id root="1.3.6.1.4.1.115" extension="int-1"/>
  <code nullFlavor="NA" sdtc:valueSet="2.16.840.1.113883.3.600.1.1525"/>
  <statusCode code="completed"/>
  <author><time value="20250401"/></author>
  <entryRelationship typeCode="RSON"><observation classCode="OBS" moodCode="EVN">
    <templateId root="2.16.840.1.113883.10.20.24.3.88" extension="2017-08-01"/>
    <code code="77301-0" codeSystem="2.16.840.1.113883.6.1"/>
    <value xsi:type="CD" code="183932001" codeSystem="2.16.840.1.113883.6.96"/>
  </observation></entryRelationship>
</act></entry>"""

DIAGNOSIS_ENTRY = """
<entry><act classCode="ACT" moodCode="EVN">
  <templateId root="2.16.840.1.113883.10.20.22.4.3" extension="2015-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.24.3.137" extension="2021-08-01"/>
  <id root="1.3.6.1.4.1.115" extension="concern-1"/>
  <code code="CONC" codeSystem="2.16.840.1.113883.5.6"/>
  <statusCode code="active"/>
  <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">
    <templateId root="2.16.840.1.113883.10.20.24.3.135" extension="2021-08-01"/>
    <id root="1.3.6.1.4.1.115" extension="dx-1"/>
    <code code="29308-4" codeSystem="2.16.840.1.113883.6.1"/>
    <effectiveTime><low value="20200115"/></effectiveTime>
    <value xsi:type="CD" code="44054006" codeSystem="2.16.840.1.113883.6.96"/>
  </observation></entryRelationship>
</act></entry>"""


def qrda_document(
    *,
    given: str = "Ada",
    family: str = "Example",
    birth_time: str = "19560412",
    gender: str = GENDER_F,
    mbi: str = "1EG4TE5MK73",
    tin: str = "123456789",
    npi: str = "1234567893",
    period: tuple[str, str] = ("20250101", "20251231"),
    measure_set_id: str = "F2986519-5A4E-4149-A8F2-AF0A1DC7F6BC",
    measure_title: str = "Diabetes: Glycemic Status Assessment Greater Than 9%",
    entries: str = HBA1C_ENTRY,
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
    name_xml: str | None = None,
) -> str:
    name = (
        name_xml if name_xml is not None else f"<name><given>{given}</given><family>{family}</family></name>"
    )
    measure = f"""
      <entry><organizer classCode="CLUSTER" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.24.3.98"/>
        <statusCode code="completed"/>
        <reference typeCode="REFR"><externalDocument classCode="DOC" moodCode="EVN">
          <id root="2.16.840.1.113883.4.738" extension="2c928082-8e7d-3c8e-018e-b2b3a7e0153b"/>
          <text>{measure_title}</text>
          <setId root="{measure_set_id}"/>
          <versionNumber value="13"/>
        </externalDocument></reference>
      </organizer></entry>"""
    return qrda_i_document(
        id_prefix="sample",
        mbi=mbi,
        other_ids='<id root="1.2.3.4.5" extension="MRN-77"/>',
        name_xml=name,
        gender_xml=gender,
        birth_xml=f'<birthTime value="{birth_time}"/>' if birth_time else "",
        tin=tin,
        npi=npi,
        clinic_name="Sample Clinic",
        measures_xml=measure,
        period=period,
        entries_xml=entries,
        prolog=prolog,
    )
