"""Small QRDA-I documents for the reader's tests (CMS IG 2025/2026 style): entries written with one
clinical-statement builder (``statement``, ``section_entry``, ``relationship``) in the demo data's
document builder (``aco_sync_local.demo_data.qrda_i_document``)."""

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


ID_ROOT = "1.3.6.1.4.1.115"
CPT_OID, LOINC_OID, SNOMED_OID = "2.16.840.1.113883.6.12", "2.16.840.1.113883.6.1", "2.16.840.1.113883.6.96"
CLASS_CODES = {"act": "ACT", "encounter": "ENC", "observation": "OBS", "procedure": "PROC"}
# The clinical statements the samples write: element and template ids ("root@extension", roots below
# 2.16.840.1.113883.10.20.), C-CDA template first as the IG lists them.
STATEMENTS = {
    "Encounter, Performed": "encounter 22.4.49@2015-08-01 24.3.23@2021-08-01",
    "Encounter, Performed (STU 3-4)": "encounter 22.4.49@2015-08-01 24.3.23@2017-08-01",
    "Encounter, Performed (QRDA template only)": "encounter 24.3.23@2021-08-01",
    "Encounter Performed Act (STU 3-4)": "act 24.3.133",
    "Laboratory Test, Performed": "observation 22.4.2@2015-08-01 24.3.38@2019-12-01",
    "Diagnostic Study, Performed": "observation 22.4.13@2015-08-01 24.3.18@2019-12-01",
    "Physical Exam, Performed": "observation 22.4.13@2015-08-01 24.3.59@2021-08-01",
    "Diagnosis Concern Act": "act 22.4.3@2015-08-01 24.3.137@2021-08-01",
    "Diagnosis": "observation 22.4.4@2015-08-01 24.3.135@2021-08-01",
    "Diagnosis (QRDA template only)": "observation 24.3.135@2021-08-01",
}


def code_xml(code: str, system: str, display: str | None = None, *, element: str = "code") -> str:
    """A coded element (``<code>`` unless ``element`` says otherwise)."""
    shown = "" if display is None else f' displayName="{display}"'
    return f'<{element} code="{code}" codeSystem="{system}"{shown}/>'


def effective_time(low: str, high: str | None = None) -> str:
    """``<effectiveTime>`` from ``low`` (to ``high`` when given)."""
    upper = "" if high is None else f'<high value="{high}"/>'
    return f'<effectiveTime><low value="{low}"/>{upper}</effectiveTime>'


def statement(
    kind: str, entry_id: str | None, code: str, *content: str, status: str | None = "completed"
) -> str:
    """One QRDA-I clinical statement of a ``STATEMENTS`` kind in event mood: its template ids, id (root
    1.3.6.1.4.1.115, none when ``entry_id`` is None), ``code``, status, then ``content`` (effective
    time, value, relationships), one per line in the order the IG lists them."""
    element, *templates = STATEMENTS[kind].split()
    lines = [f'<{element} classCode="{CLASS_CODES[element]}" moodCode="EVN">']
    for template in templates:
        root, _, extension = template.partition("@")
        version = f' extension="{extension}"' if extension else ""
        lines.append(f'<templateId root="2.16.840.1.113883.10.20.{root}"{version}/>')
    if entry_id is not None:
        lines.append(f'<id root="{ID_ROOT}" extension="{entry_id}"/>')
    lines += [code, f'<statusCode code="{status}"/>' if status else "", *content, f"</{element}>"]
    return "\n".join(line for line in lines if line)


def section_entry(clinical_statement: str) -> str:
    """The statement as a section ``<entry>``."""
    return f"\n<entry>{clinical_statement}</entry>"


def relationship(type_code: str, clinical_statement: str) -> str:
    """The statement inside an ``<entryRelationship>`` of ``type_code`` (SUBJ, REFR, RSON, ...)."""
    return f'<entryRelationship typeCode="{type_code}">{clinical_statement}</entryRelationship>'


def encounter_entry(*, extension: str, code: str, low: str, high: str) -> str:
    """A QRDA-I Encounter, Performed entry (CPT ``code``) from ``low`` to ``high``."""
    return section_entry(
        statement("Encounter, Performed", extension, code_xml(code, CPT_OID), effective_time(low, high))
    )


def hba1c_entry(*, extension: str, time: str, percent: str) -> str:
    """A QRDA-I Laboratory Test, Performed entry: an HbA1c of ``percent`` % at ``time``."""
    return section_entry(
        statement(
            "Laboratory Test, Performed",
            extension,
            code_xml("4548-4", LOINC_OID, "Hemoglobin A1c"),
            effective_time(time, time),
            f'<value xsi:type="PQ" value="{percent}" unit="%"/>',
        )
    )


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

DIAGNOSIS_ENTRY = section_entry(
    statement(
        "Diagnosis Concern Act",
        "concern-1",
        code_xml("CONC", "2.16.840.1.113883.5.6"),
        relationship(
            "SUBJ",
            statement(
                "Diagnosis (QRDA template only)",
                "dx-1",
                code_xml("29308-4", LOINC_OID),
                effective_time("20200115"),
                f'<value xsi:type="CD" code="44054006" codeSystem="{SNOMED_OID}"/>',
                status=None,
            ),
        ),
        status="active",
    )
)


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
