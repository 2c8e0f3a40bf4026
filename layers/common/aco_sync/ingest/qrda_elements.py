"""Small readers of QRDA-I (CDA) elements: tag names in the HL7 v3 namespace, templateIds, ids, coded
values, source lines and the encounter attributes (discharge disposition, class, diagnoses). Each takes
an lxml element (or an already-read :class:`QrdaEntry`) and returns a domain value; none warns or
raises, so the document reader decides what a missing value means."""

from __future__ import annotations

from lxml import etree

from aco_sync.domain.qrda_document import (
    Code,
    EncounterDiagnosis,
    EntryKind,
    EntryValue,
    Identifier,
    QrdaEntry,
    Quantity,
    TemplateId,
    TextValue,
)
from aco_sync.ingest.qrda_templates import (
    CCDA_ENCOUNTER_DIAGNOSIS_TEMPLATE,
    DIAGNOSIS_RANK_TEMPLATE,
    ENCOUNTER_CLASS_TEMPLATE,
    ENCOUNTER_DIAGNOSIS_QDM_TEMPLATE,
    PRESENT_ON_ADMISSION_TEMPLATE,
    PRINCIPAL_DIAGNOSIS_TEMPLATE,
    QRDA_ENTRY_PREFIX,
    SDTC,
    V3,
)


def v3(tag: str) -> str:
    return f"{{{V3}}}{tag}"


T_TEMPLATE_ID = v3("templateId")
T_ID = v3("id")
T_CODE = v3("code")
T_VALUE = v3("value")
T_TRANSLATION = v3("translation")
T_EFFECTIVE_TIME = v3("effectiveTime")
T_LOW = v3("low")
T_HIGH = v3("high")
T_STATUS = v3("statusCode")
T_AUTHOR = v3("author")
T_TIME = v3("time")
T_ENTRY_RELATIONSHIP = v3("entryRelationship")
T_COMPONENT = v3("component")
T_ENTRY = v3("entry")
T_SECTION = v3("section")


def template_ids(element: etree._Element) -> tuple[TemplateId, ...]:
    return tuple(
        TemplateId(t.get("root", ""), t.get("extension"))
        for t in element.iterchildren(T_TEMPLATE_ID)
        if t.get("root")
    )


def entry_template_numbers(templates: tuple[TemplateId, ...]) -> list[int]:
    numbers = []
    for template in templates:
        if template.root.startswith(QRDA_ENTRY_PREFIX):
            suffix = template.root[len(QRDA_ENTRY_PREFIX) :]
            if suffix.isdigit():
                numbers.append(int(suffix))
    return numbers


def identifier_of(element: etree._Element) -> Identifier:
    return Identifier(element.get("root"), element.get("extension"), element.get("nullFlavor"))


def code_of(element: etree._Element | None) -> Code | None:
    if element is None:
        return None
    translations = tuple(
        c for c in (code_of(t) for t in element.iterchildren(T_TRANSLATION)) if c is not None
    )
    code = element.get("code")
    null_flavor = element.get("nullFlavor")
    value_set = element.get(f"{{{SDTC}}}valueSet")
    if not code and not null_flavor and not translations and not value_set:
        return None
    return Code(
        code=code,
        system=element.get("codeSystem"),
        display=element.get("displayName"),
        system_name=element.get("codeSystemName"),
        null_flavor=null_flavor,
        value_set=value_set,
        translations=translations,
    )


def line_of(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def local_name(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def discharge_disposition(encounter: etree._Element) -> Code | None:
    """``sdtc:dischargeDispositionCode`` of an encounter (every QRDA-I version since R2). Read
    tolerantly: a producer that writes it in the CDA namespace (or another) is understood too."""
    for child in encounter.iterchildren():
        if local_name(child.tag) == "dischargeDispositionCode":
            code = code_of(child)
            if code is not None:
                return code
    return None


def encounter_class(encounter: etree._Element) -> Code | None:
    """The code of the "Encounter Class" act (template 24.3.171, STU 5.3) inside an encounter. Some
    producers nest it in the encounter diagnosis (the HL7 sample does), so the whole encounter is
    searched, not nested encounters."""
    for act in encounter.iter(v3("act")):
        if any(t.get("root") == ENCOUNTER_CLASS_TEMPLATE for t in act.iterchildren(T_TEMPLATE_ID)):
            code = code_of(act.find(T_CODE))
            if code is not None:
                return code
    return None


def _first_coded_value(entry: QrdaEntry) -> Code | None:
    """The diagnosis code of an encounter diagnosis statement; a bare nullFlavor says nothing."""
    candidates: tuple[EntryValue, ...] = entry.values
    if entry.kind is EntryKind.DIAGNOSIS and entry.codes != (entry.element_code,):  # not the fallback
        candidates = entry.codes  # <code> is "diagnosis" (29308-4): the concept was in <value>
    return next(
        (
            v
            for v in candidates
            if isinstance(v, Code) and (v.value_set or next(v.all_codes(), None) is not None)
        ),
        None,
    )


def _diagnosis_rank(entry: QrdaEntry) -> int | None:
    for nested in entry.components:
        if nested.has_template(DIAGNOSIS_RANK_TEMPLATE):
            for value in nested.values:
                text = value.text if isinstance(value, TextValue) else None
                if text is None and isinstance(value, Quantity):
                    text = str(value.value)
                if text is not None and text.strip().isdigit():
                    return int(text.strip())
    return None


def _present_on_admission(entry: QrdaEntry) -> Code | None:
    for nested in entry.components:
        if nested.has_template(PRESENT_ON_ADMISSION_TEMPLATE):
            return next((v for v in nested.values if isinstance(v, Code)), None)
    return None


def encounter_diagnoses(components: tuple[QrdaEntry, ...]) -> tuple[EncounterDiagnosis, ...]:
    """The diagnoses of an encounter, from its nested statements, in every template generation:
    "Encounter Diagnosis QDM" (24.3.168), "Principal Diagnosis" (24.3.152, rank 1) and the C-CDA
    "Encounter Diagnosis" act (22.4.80) around problem observations."""
    diagnoses: list[EncounterDiagnosis] = []
    for component in components:
        if component.has_template(ENCOUNTER_DIAGNOSIS_QDM_TEMPLATE):
            code = _first_coded_value(component)
            if code is not None:
                diagnoses.append(
                    EncounterDiagnosis(
                        code, _diagnosis_rank(component), _present_on_admission(component), component.line
                    )
                )
        elif component.has_template(PRINCIPAL_DIAGNOSIS_TEMPLATE):
            code = _first_coded_value(component)
            if code is not None:
                diagnoses.append(EncounterDiagnosis(code, 1, None, component.line))
        elif component.has_template(CCDA_ENCOUNTER_DIAGNOSIS_TEMPLATE):
            for problem in component.components:
                code = _first_coded_value(problem)
                if code is not None:
                    diagnoses.append(
                        EncounterDiagnosis(
                            code, _diagnosis_rank(problem), _present_on_admission(problem), problem.line
                        )
                    )
    return tuple(diagnoses)
