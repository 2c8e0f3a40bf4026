"""Read QRDA Category I documents (one patient each), safely.

``parse_qrda`` turns one XML file into a :class:`QrdaDocument` or raises :class:`QrdaRejectedError`
with a reason a user understands; ``read_qrda_upload`` reads an ``.xml`` or a ``.zip`` of many and
never raises for one bad file (it returns an :class:`IngestIssue` in its place).

Security: any DOCTYPE or ENTITY declaration is refused before parsing (XXE, billion laughs,
external DTDs); lxml runs with entity resolution, DTD loading and network access off and without
``huge_tree``; files and zip expansion are capped. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from collections import Counter
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Any

from lxml import etree

from aco_sync.domain.catalog import MeasureCatalog, default_catalog
from aco_sync.domain.errors import QrdaRejectedError
from aco_sync.domain.qrda_document import (
    EMEASURE_VERSION_ID_ROOT,
    NPI_ROOT,
    SNOMED_FEMALE,
    SNOMED_MALE,
    TIN_ROOT,
    Code,
    EncounterDiagnosis,
    EntryKind,
    EntryValue,
    FacilityLocation,
    Identifier,
    MeasureReference,
    QrdaDocument,
    QrdaEntry,
    QrdaWarning,
    Quantity,
    TemplateId,
    TextValue,
)
from aco_sync.domain.records import Gender, IngestIssue
from aco_sync.ingest.hl7_time import parse_hl7_timestamp
from aco_sync.ingest.measure_refs import ECQM_NUMBER_ROOT, recognise_ecqm
from aco_sync.ingest.qrda_schema import schema_problems
from aco_sync.ingest.tabular import MAX_ISSUES_PER_FILE
from aco_sync.ingest.xml_checks import dtd_markup_line, xml_declares_dtd, xml_encoding_family

MAX_QRDA_BYTES = 20 * 1024 * 1024  # one XML document
MAX_ZIP_BYTES = 100 * 1024 * 1024  # one uploaded zip (compressed)
MAX_ZIP_TOTAL_BYTES = 500 * 1024 * 1024  # all members, expanded
MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_RATIO = 100  # expanded / compressed size of one member

V3 = "urn:hl7-org:v3"
SDTC = "urn:hl7-org:sdtc"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

QRDA_I_DOCUMENT_TEMPLATES = {
    "2.16.840.1.113883.10.20.24.1.1",  # QRDA Category I Framework (R1 2012 ... STU 5.3)
    "2.16.840.1.113883.10.20.24.1.2",  # QDM-based QRDA
    "2.16.840.1.113883.10.20.24.1.3",  # CMS QRDA I (CMS IGs 2015 ... 2026)
}
QRDA_III_DOCUMENT_TEMPLATE = "2.16.840.1.113883.10.20.27.1.1"
MEASURE_SECTION_TEMPLATES = {"2.16.840.1.113883.10.20.24.2.2", "2.16.840.1.113883.10.20.24.2.3"}
REPORTING_PARAMETERS_SECTION = "2.16.840.1.113883.10.20.17.2.1"
REPORTING_PARAMETERS_ACT = "2.16.840.1.113883.10.20.17.3.8"
QRDA_ENTRY_PREFIX = "2.16.840.1.113883.10.20.24.3."
REASON_TEMPLATE = QRDA_ENTRY_PREFIX + "88"
# Encounter attributes (QDM "Encounter, Performed": diagnoses, class, facility locations).
ENCOUNTER_DIAGNOSIS_QDM_TEMPLATE = QRDA_ENTRY_PREFIX + "168"  # STU 5.1+ (value = the diagnosis)
PRINCIPAL_DIAGNOSIS_TEMPLATE = QRDA_ENTRY_PREFIX + "152"  # STU 3-4 (value = the principal diagnosis)
CCDA_ENCOUNTER_DIAGNOSIS_TEMPLATE = "2.16.840.1.113883.10.20.22.4.80"  # act around problem observations
DIAGNOSIS_RANK_TEMPLATE = QRDA_ENTRY_PREFIX + "166"
PRESENT_ON_ADMISSION_TEMPLATE = QRDA_ENTRY_PREFIX + "169"
ENCOUNTER_CLASS_TEMPLATE = QRDA_ENTRY_PREFIX + "171"
ADMINISTRATIVE_GENDER_OID = "2.16.840.1.113883.5.1"

CLINICAL_STATEMENTS = frozenset(
    {"act", "observation", "encounter", "procedure", "substanceAdministration", "supply", "organizer"}
)

_K = EntryKind
# QRDA-I entry templates (2.16.840.1.113883.10.20.24.3.<n>) -> (kind, QDM data type).
ENTRY_TEMPLATES: dict[int, tuple[EntryKind, str]] = {
    1: (_K.CARE_GOAL, "Care Goal"),
    2: (_K.COMMUNICATION, "Communication: From Patient to Provider"),
    3: (_K.COMMUNICATION, "Communication: From Provider to Patient"),
    4: (_K.COMMUNICATION, "Communication: From Provider to Provider"),
    5: (_K.ALLERGY, "Device, Adverse Event"),
    6: (_K.ALLERGY, "Device, Allergy"),
    7: (_K.DEVICE, "Device, Applied"),
    8: (_K.ALLERGY, "Device, Intolerance"),
    9: (_K.DEVICE, "Device, Order"),
    10: (_K.DEVICE, "Device, Recommended"),
    11: (_K.DIAGNOSIS, "Diagnosis, Active"),
    12: (_K.FAMILY_HISTORY, "Family History"),
    13: (_K.DIAGNOSIS, "Diagnosis, Inactive"),
    14: (_K.DIAGNOSIS, "Diagnosis, Resolved"),
    15: (_K.ALLERGY, "Diagnostic Study, Adverse Event"),
    16: (_K.ALLERGY, "Diagnostic Study, Intolerance"),
    17: (_K.DIAGNOSTIC_STUDY, "Diagnostic Study, Order"),
    18: (_K.DIAGNOSTIC_STUDY, "Diagnostic Study, Performed"),
    19: (_K.DIAGNOSTIC_STUDY, "Diagnostic Study, Recommended"),
    20: (_K.DIAGNOSTIC_STUDY, "Diagnostic Study, Result"),
    21: (_K.ENCOUNTER, "Encounter, Active"),
    22: (_K.ENCOUNTER, "Encounter, Order"),
    23: (_K.ENCOUNTER, "Encounter, Performed"),
    24: (_K.ENCOUNTER, "Encounter, Recommended"),
    25: (_K.ASSESSMENT, "Functional Status, Order"),
    26: (_K.ASSESSMENT, "Functional Status, Performed"),
    27: (_K.ASSESSMENT, "Functional Status, Recommended"),
    28: (_K.ASSESSMENT, "Functional Status, Result"),
    29: (_K.ALLERGY, "Intervention, Adverse Event"),
    30: (_K.ALLERGY, "Intervention, Intolerance"),
    31: (_K.INTERVENTION, "Intervention, Order"),
    32: (_K.INTERVENTION, "Intervention, Performed"),
    33: (_K.INTERVENTION, "Intervention, Recommended"),
    34: (_K.INTERVENTION, "Intervention, Result"),
    35: (_K.ALLERGY, "Laboratory Test, Adverse Event"),
    36: (_K.ALLERGY, "Laboratory Test, Intolerance"),
    37: (_K.LAB_RESULT, "Laboratory Test, Order"),
    38: (_K.LAB_RESULT, "Laboratory Test, Performed"),
    39: (_K.LAB_RESULT, "Laboratory Test, Recommended"),
    40: (_K.LAB_RESULT, "Laboratory Test, Result"),
    41: (_K.MEDICATION, "Medication, Active"),
    42: (_K.MEDICATION, "Medication, Administered"),
    43: (_K.ALLERGY, "Medication, Adverse Effects"),
    44: (_K.ALLERGY, "Medication, Allergy"),
    45: (_K.MEDICATION, "Medication, Dispensed"),
    46: (_K.ALLERGY, "Medication, Intolerance"),
    47: (_K.MEDICATION, "Medication, Order"),
    48: (_K.OTHER, "Patient Care Experience"),
    49: (_K.PATIENT_CHARACTERISTIC, "Patient Characteristic"),
    51: (_K.PATIENT_CHARACTERISTIC, "Patient Characteristic Clinical Trial Participant"),
    54: (_K.PATIENT_CHARACTERISTIC, "Patient Characteristic Expired"),
    55: (_K.PAYER, "Patient Characteristic Payer"),
    58: (_K.PHYSICAL_EXAM, "Physical Exam, Order"),
    59: (_K.PHYSICAL_EXAM, "Physical Exam, Performed"),
    60: (_K.PHYSICAL_EXAM, "Physical Exam, Recommended"),
    61: (_K.ALLERGY, "Procedure, Adverse Event"),
    62: (_K.ALLERGY, "Procedure, Intolerance"),
    63: (_K.PROCEDURE, "Procedure, Order"),
    64: (_K.PROCEDURE, "Procedure, Performed"),
    65: (_K.PROCEDURE, "Procedure, Recommended"),
    66: (_K.PROCEDURE, "Procedure, Result"),
    67: (_K.OTHER, "Provider Care Experience"),
    69: (_K.ASSESSMENT, "Risk Category Assessment"),
    75: (_K.MEDICATION, "Substance, Recommended"),
    76: (_K.SYMPTOM, "Symptom, Active"),
    77: (_K.SYMPTOM, "Symptom, Assessed"),
    78: (_K.SYMPTOM, "Symptom, Inactive"),
    79: (_K.SYMPTOM, "Symptom, Resolved"),
    81: (_K.OTHER, "Transfer From"),
    82: (_K.OTHER, "Transfer To"),
    85: (_K.OTHER, "Reaction"),
    87: (_K.RESULT, "Result"),
    88: (_K.REASON, "Reason"),
    90: (_K.ALLERGY, "Allergy/Intolerance"),
    100: (_K.FACILITY_LOCATION, "Facility Location"),
    103: (_K.PATIENT_CHARACTERISTIC, "Patient Characteristic"),
    105: (_K.MEDICATION, "Medication, Discharge"),
    112: (_K.FAMILY_HISTORY, "Family History"),
    114: (_K.OTHER, "Provider Characteristic"),
    135: (_K.DIAGNOSIS, "Diagnosis"),
    136: (_K.SYMPTOM, "Symptom"),
    140: (_K.IMMUNIZATION, "Immunization, Administered"),
    143: (_K.IMMUNIZATION, "Immunization, Order"),
    144: (_K.ASSESSMENT, "Assessment, Performed"),
    145: (_K.ASSESSMENT, "Assessment, Recommended"),
    146: (_K.ALLERGY, "Adverse Event"),
    147: (_K.ALLERGY, "Allergy/Intolerance"),
    153: (_K.MEDICATION, "Substance, Administered"),
    154: (_K.PARTICIPATION, "Participation"),
    156: (_K.COMMUNICATION, "Communication, Performed"),
    158: (_K.ASSESSMENT, "Assessment, Order"),
    168: (_K.DIAGNOSIS, "Encounter Diagnosis"),
    170: (_K.OTHER, "Related Person"),
}
# Acts that only wrap the real data element (concern acts, "... Act" order/performed wrappers).
WRAPPER_TEMPLATES = frozenset({120, 121, 122, 123, 124, 125, 127, 130, 131, 132, 133, 134, 137, 138, 139})
# Templates whose concept is in <value> rather than <code>.
VALUE_IS_CONCEPT_KINDS = frozenset(
    {
        _K.DIAGNOSIS,
        _K.SYMPTOM,
        _K.PATIENT_CHARACTERISTIC,
        _K.PAYER,
        _K.FAMILY_HISTORY,
        _K.ALLERGY,
        _K.PARTICIPATION,
        _K.REASON,
    }
)
PRODUCT_KINDS = frozenset({_K.MEDICATION, _K.IMMUNIZATION})


def _v3(tag: str) -> str:
    return f"{{{V3}}}{tag}"


T_TEMPLATE_ID = _v3("templateId")
T_ID = _v3("id")
T_CODE = _v3("code")
T_VALUE = _v3("value")
T_TRANSLATION = _v3("translation")
T_EFFECTIVE_TIME = _v3("effectiveTime")
T_LOW = _v3("low")
T_HIGH = _v3("high")
T_STATUS = _v3("statusCode")
T_AUTHOR = _v3("author")
T_TIME = _v3("time")
T_ENTRY_RELATIONSHIP = _v3("entryRelationship")
T_COMPONENT = _v3("component")
T_ENTRY = _v3("entry")
T_SECTION = _v3("section")


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_qrda(data: bytes, *, file_name: str, catalog: MeasureCatalog | None = None) -> QrdaDocument:
    """Parse one QRDA Category I document. Raises :class:`QrdaRejectedError` when it cannot be used."""
    if len(data) > MAX_QRDA_BYTES:
        raise QrdaRejectedError(
            f"The file is {len(data) / 1_048_576:.1f} MB; QRDA-I files over "
            f"{MAX_QRDA_BYTES // 1_048_576} MB are refused.",
            code="file_too_large",
        )
    if not data or data.isspace():
        raise QrdaRejectedError("The file is empty.", code="empty_file")
    if xml_encoding_family(data) != "utf-8":
        raise QrdaRejectedError(
            "The file is UTF-16/UTF-32 text; QRDA-I files must be UTF-8.", line=1, code="bad_encoding"
        )
    hostile = xml_declares_dtd(data)
    if hostile is None:
        raise QrdaRejectedError(
            "The file is not valid UTF-8 text (or its declared encoding); QRDA-I files must be UTF-8.",
            code="bad_encoding",
        )
    if hostile:
        raise QrdaRejectedError(
            "The file declares a DOCTYPE or ENTITY; QRDA-I files never need one and it is refused "
            "for security (XXE / entity expansion).",
            line=dtd_markup_line(data),
            code="xml_doctype",
        )
    try:
        root = etree.fromstring(data, parser=_new_parser())
    except etree.XMLSyntaxError as exc:
        # lxml's message quotes tag and attribute names and bytes of the text, which in a damaged file
        # can be a patient's name ("tag mismatch: Neil and family"): only the kind of error is named
        message = str(exc.msg or exc)
        kind = _xml_error_kind(exc)
        if "encoding" in message.lower() or "utf-8" in message.lower():
            raise QrdaRejectedError(
                f"The file is not valid UTF-8 text (or its declared encoding){kind}.",
                line=exc.lineno,
                code="bad_encoding",
            ) from None
        raise QrdaRejectedError(
            f"The file is not well-formed XML{kind}.", line=exc.lineno, code="not_xml"
        ) from None
    except ValueError:  # e.g. unsupported encoding declarations
        raise QrdaRejectedError("The file cannot be read as XML.", code="not_xml") from None
    return _DocumentReader(root, file_name, catalog or default_catalog()).read()


def _xml_error_kind(exc: etree.XMLSyntaxError) -> str:
    """``" (ERR_TAG_NAME_MISMATCH)"``: libxml2's name of the error kind (never the text it quotes)."""
    entries: list[Any] = list(exc.error_log) if exc.error_log else []  # type: ignore[call-overload]
    name = str(getattr(entries[-1], "type_name", "") or "") if entries else ""
    return f" ({name})" if re.fullmatch(r"[A-Z0-9_]{3,60}", name) else ""


def read_qrda_upload(
    file_name: str,
    data: bytes,
    *,
    catalog: MeasureCatalog | None = None,
    seen: dict[str, str] | None = None,
) -> list[QrdaDocument | IngestIssue]:
    """Read an uploaded ``.xml`` (one document) or ``.zip`` (many). One result per document found;
    a rejected document becomes an :class:`IngestIssue` naming the file (``archive.zip!member.xml``).
    ``seen`` (sha256 of content -> file) makes a zip member identical to a file read earlier (in or out
    of a zip) a ``duplicate_file`` warning instead of a second document; members are added to it."""
    suffix = PurePosixPath(file_name).suffix.lower()
    if suffix == ".zip" or data[:4] == b"PK\x03\x04":
        return _read_zip(file_name, data, catalog, {} if seen is None else seen)
    if suffix != ".xml":
        return [
            IngestIssue(
                file=file_name,
                reason="Not a QRDA-I upload: expected an .xml or .zip file.",
                code="unknown_file_type",
            )
        ]
    return [_parse_or_issue(data, file_name, catalog)]


def _parse_or_issue(
    data: bytes, file_name: str, catalog: MeasureCatalog | None
) -> QrdaDocument | IngestIssue:
    try:
        return parse_qrda(data, file_name=file_name, catalog=catalog)
    except QrdaRejectedError as exc:
        return IngestIssue(file=file_name, reason=exc.reason, line=exc.line, code=exc.code)


def _read_zip(
    file_name: str, data: bytes, catalog: MeasureCatalog | None, seen: dict[str, str]
) -> list[QrdaDocument | IngestIssue]:
    """A zip's documents; its issues are bounded (``MAX_ISSUES_PER_FILE`` listed, the rest counted in one
    line), so a zip of junk members costs one issue list, not one sync-log line per member."""
    results = _read_zip_members(file_name, data, catalog, seen)
    issues = [r for r in results if isinstance(r, IngestIssue)]
    if len(issues) <= MAX_ISSUES_PER_FILE:
        return results
    kept_issues = {id(i) for i in issues[:MAX_ISSUES_PER_FILE]}
    unlisted = Counter(i.severity for i in issues[MAX_ISSUES_PER_FILE:])
    unlisted_errors = [i for i in issues[MAX_ISSUES_PER_FILE:] if i.severity == "error"]
    kept: list[QrdaDocument | IngestIssue] = [
        r for r in results if not isinstance(r, IngestIssue) or id(r) in kept_issues
    ]
    kept.append(
        IngestIssue(
            file=file_name,
            reason=f"{unlisted.get('error', 0)} more rejected files and {unlisted.get('warning', 0)} more "
            f"warnings in this zip are not listed (only the first {MAX_ISSUES_PER_FILE} are listed).",
            severity="error" if unlisted_errors else "warning",
            code="more_issues",
            covers=len(unlisted_errors),  # the further rejected documents, for the accounting
        )
    )
    return kept


def _read_zip_members(
    file_name: str, data: bytes, catalog: MeasureCatalog | None, seen: dict[str, str]
) -> list[QrdaDocument | IngestIssue]:
    def issue(reason: str, code: str, member: str | None = None) -> IngestIssue:
        return IngestIssue(file=f"{file_name}!{member}" if member else file_name, reason=reason, code=code)

    if len(data) > MAX_ZIP_BYTES:
        return [
            issue(f"The zip file is over {MAX_ZIP_BYTES // 1_048_576} MB and is refused.", "file_too_large")
        ]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError):
        return [issue("The file is not a readable zip archive.", "bad_zip")]
    if len(members) > MAX_ZIP_MEMBERS:
        return [
            issue(f"The zip holds {len(members)} files; at most {MAX_ZIP_MEMBERS} are accepted.", "zip_bomb")
        ]
    results: list[QrdaDocument | IngestIssue] = []
    expanded_total = 0
    for member in members:
        name = member.filename
        base = PurePosixPath(name).name
        if base.startswith(".") or name.startswith("__MACOSX/"):
            continue  # OS metadata, not data
        if not name.lower().endswith(".xml"):
            results.append(
                IngestIssue(
                    file=f"{file_name}!{name}",
                    reason="Skipped: only .xml files are read from a QRDA-I zip.",
                    severity="warning",
                    code="unknown_file_type",
                )
            )
            continue
        if member.flag_bits & 0x1:
            results.append(
                issue("The file is encrypted in the zip and cannot be read.", "zip_encrypted", name)
            )
            continue
        if member.file_size > MAX_QRDA_BYTES:
            results.append(
                issue(f"The file expands to over {MAX_QRDA_BYTES // 1_048_576} MB.", "file_too_large", name)
            )
            continue
        if member.compress_size and member.file_size / member.compress_size > MAX_ZIP_RATIO:
            results.append(
                issue("The file's compression ratio is suspicious (a zip bomb?).", "zip_bomb", name)
            )
            continue
        if expanded_total + member.file_size > MAX_ZIP_TOTAL_BYTES:
            results.append(
                issue(
                    f"The zip expands to over {MAX_ZIP_TOTAL_BYTES // 1_048_576} MB; this and the remaining "
                    "files were not read.",
                    "zip_bomb",
                    name,
                )
            )
            break
        try:
            with archive.open(member) as stream:
                content = stream.read(MAX_QRDA_BYTES + 1)  # sizes in the zip directory can lie
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            ValueError,
            RuntimeError,
            EOFError,
            NotImplementedError,
        ):
            results.append(issue("The file is damaged in the zip and cannot be read.", "bad_zip", name))
            continue
        expanded_total += len(content)
        if len(content) > MAX_QRDA_BYTES:
            results.append(
                issue(f"The file expands to over {MAX_QRDA_BYTES // 1_048_576} MB.", "file_too_large", name)
            )
            continue
        member_name = f"{file_name}!{name}"
        earlier = seen.setdefault(hashlib.sha256(content).hexdigest(), member_name)
        if earlier != member_name:
            results.append(
                IngestIssue(
                    file=member_name,
                    reason=f"The same file as {earlier} (identical content); it was counted once, "
                    f"as {earlier}.",
                    severity="warning",
                    code="duplicate_file",
                )
            )
            continue
        results.append(_parse_or_issue(content, member_name, catalog))
    if not results:
        results.append(issue("The zip holds no QRDA-I (.xml) files.", "empty_file"))
    return results


# --------------------------------------------------------------------------------------------
# Building blocks


def _template_ids(element: etree._Element) -> tuple[TemplateId, ...]:
    return tuple(
        TemplateId(t.get("root", ""), t.get("extension"))
        for t in element.iterchildren(T_TEMPLATE_ID)
        if t.get("root")
    )


def _entry_template_numbers(templates: tuple[TemplateId, ...]) -> list[int]:
    numbers = []
    for template in templates:
        if template.root.startswith(QRDA_ENTRY_PREFIX):
            suffix = template.root[len(QRDA_ENTRY_PREFIX) :]
            if suffix.isdigit():
                numbers.append(int(suffix))
    return numbers


def _identifier(element: etree._Element) -> Identifier:
    return Identifier(element.get("root"), element.get("extension"), element.get("nullFlavor"))


def _code(element: etree._Element | None) -> Code | None:
    if element is None:
        return None
    translations = tuple(c for c in (_code(t) for t in element.iterchildren(T_TRANSLATION)) if c is not None)
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


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _discharge_disposition(encounter: etree._Element) -> Code | None:
    """``sdtc:dischargeDispositionCode`` of an encounter (every QRDA-I version since R2). Read
    tolerantly: a producer that writes it in the CDA namespace (or another) is understood too."""
    for child in encounter.iterchildren():
        if _local(child.tag) == "dischargeDispositionCode":
            code = _code(child)
            if code is not None:
                return code
    return None


def _encounter_class(encounter: etree._Element) -> Code | None:
    """The code of the "Encounter Class" act (template 24.3.171, STU 5.3) inside an encounter. Some
    producers nest it in the encounter diagnosis (the HL7 sample does), so the whole encounter is
    searched, not nested encounters."""
    for act in encounter.iter(_v3("act")):
        if any(t.get("root") == ENCOUNTER_CLASS_TEMPLATE for t in act.iterchildren(T_TEMPLATE_ID)):
            code = _code(act.find(T_CODE))
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


def _encounter_diagnoses(components: tuple[QrdaEntry, ...]) -> tuple[EncounterDiagnosis, ...]:
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


class _DocumentReader:
    def __init__(self, root: etree._Element, file_name: str, catalog: MeasureCatalog) -> None:
        self.root = root
        self.file_name = file_name
        self.catalog = catalog
        self.warnings: list[QrdaWarning] = []

    def warn(self, message: str, element: etree._Element | None = None, code: str = "") -> None:
        self.warnings.append(QrdaWarning(message, _line(element) if element is not None else None, code))

    def time(self, element: etree._Element | None, what: str) -> datetime | None:
        if element is None:
            return None
        value = element.get("value")
        if not value:
            return None
        try:
            return parse_hl7_timestamp(value)
        except ValueError:
            self.warn(
                f"The {what} time is not a valid timestamp and was ignored.",
                element,
                "invalid_time",
            )
            return None

    # -- document ------------------------------------------------------------------------------

    def read(self) -> QrdaDocument:
        root = self.root
        if root.tag != _v3("ClinicalDocument"):
            raise QrdaRejectedError(
                "Not a QRDA Category I file: the root element is not an HL7 CDA <ClinicalDocument> "
                "(namespace urn:hl7-org:v3).",
                line=_line(root),
                code="not_qrda_cat1",
            )
        templates = _template_ids(root)
        roots = {t.root for t in templates}
        if QRDA_III_DOCUMENT_TEMPLATE in roots:
            raise QrdaRejectedError(
                "This is a QRDA Category III (aggregate) file; upload QRDA Category I files "
                "(one patient per file).",
                code="not_qrda_cat1",
            )
        if not roots & QRDA_I_DOCUMENT_TEMPLATES:
            raise QrdaRejectedError(
                "Not a QRDA Category I file: the document has no QRDA-I templateId "
                "(2.16.840.1.113883.10.20.24.1.1/.2/.3); it may be another kind of CDA document.",
                code="not_qrda_cat1",
            )
        for message, line in schema_problems(root):  # schema-invalid documents are not called OK
            self.warnings.append(QrdaWarning(message, line, "cda_schema"))
        patient_role = root.find(f"{_v3('recordTarget')}/{_v3('patientRole')}")
        if patient_role is None:
            raise QrdaRejectedError(
                "The file has no patient (recordTarget/patientRole).",
                line=_line(root),
                code="missing_patient",
            )
        if len(root.findall(_v3("recordTarget"))) > 1:
            raise QrdaRejectedError(
                "The file names more than one patient (recordTarget); QRDA-I holds exactly one.",
                code="several_patients",
            )
        patient = patient_role.find(_v3("patient"))
        if patient is None:
            raise QrdaRejectedError(
                "The file has no patient demographics (patientRole/patient).",
                line=_line(patient_role),
                code="missing_patient",
            )
        given, family = self._name(patient)
        birth_time = self._birth_time(patient)
        gender, gender_code = self._gender(patient)
        tins, npis = self._organisation_ids()
        period_start, period_end = self._reporting_period()
        measures = self._measures()
        entries = self._entries()
        self._check_duplicate_ids(entries)
        document_id = root.find(T_ID)
        return QrdaDocument(
            file_name=self.file_name,
            given_names=given,
            family_name=family,
            birth_date=birth_time.date(),
            birth_time=birth_time,
            gender=gender,
            gender_code=gender_code,
            race=_code(patient.find(_v3("raceCode"))),
            ethnicity=_code(patient.find(_v3("ethnicGroupCode"))),
            patient_ids=tuple(
                _identifier(i) for i in patient_role.iterchildren(T_ID) if not i.get("nullFlavor")
            ),
            tins=tins,
            npis=npis,
            reporting_period_start=period_start,
            reporting_period_end=period_end,
            measures=measures,
            document_templates=templates,
            entries=entries,
            warnings=tuple(self.warnings),
            document_id=str(_identifier(document_id)) if document_id is not None else None,
        )

    def _name(self, patient: etree._Element) -> tuple[tuple[str, ...], str]:
        names = patient.findall(_v3("name"))
        legal = [n for n in names if "L" in (n.get("use") or "L").split()]
        if not names:
            raise QrdaRejectedError("The patient has no name.", line=_line(patient), code="missing_name")
        name = (legal or names)[0]
        given = tuple(
            " ".join(g.text.split())
            for g in name.iterchildren(_v3("given"))
            if g.text and g.text.strip() and "CL" not in (g.get("qualifier") or "").split()  # CL: a nickname
        )
        family_parts = [
            " ".join(f.text.split()) for f in name.iterchildren(_v3("family")) if f.text and f.text.strip()
        ]
        if not family_parts:
            raise QrdaRejectedError(
                "The patient has no family (last) name.", line=_line(name), code="missing_name"
            )
        if not given:
            raise QrdaRejectedError(
                "The patient has no given (first) name.", line=_line(name), code="missing_name"
            )
        return given, " ".join(family_parts)

    def _birth_time(self, patient: etree._Element) -> datetime:
        element = patient.find(_v3("birthTime"))
        value = element.get("value") if element is not None else None
        if not value:
            raise QrdaRejectedError(
                "The patient has no birth date (patient/birthTime).",
                line=_line(element if element is not None else patient),
                code="missing_birth_date",
            )
        try:
            born = parse_hl7_timestamp(value)
        except ValueError:
            raise QrdaRejectedError(
                "The patient's birth date (patient/birthTime) is not a valid date.",
                line=_line(element) if element is not None else None,
                code="invalid_date",
            ) from None
        if born.date() > date.today() or born.year < 1900:  # the same rule as the templates' birth dates
            raise QrdaRejectedError(
                "The patient's birth date (patient/birthTime) is "
                + ("in the future." if born.year >= 1900 else "before 1900."),
                line=_line(element) if element is not None else None,
                code="invalid_date",
            )
        return born

    def _gender(self, patient: etree._Element) -> tuple[Gender, Code | None]:
        element = patient.find(_v3("administrativeGenderCode"))
        code = _code(element)
        if code is None:
            self.warn(
                "The patient has no administrativeGenderCode; gender is unknown.", patient, "missing_gender"
            )
            return Gender.UNKNOWN, None
        for candidate in code.all_codes():
            value = (candidate.code or "").upper()
            if candidate.system in (None, ADMINISTRATIVE_GENDER_OID) and value in ("F", "M"):
                return Gender(value), code
            if value == SNOMED_FEMALE:
                return Gender.FEMALE, code
            if value == SNOMED_MALE:
                return Gender.MALE, code
        self.warn(
            "The patient's administrative gender is not female or male; it is read as unknown.", element
        )
        return Gender.UNKNOWN, code

    def _organisation_ids(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        performers = self.root.findall(
            f"{_v3('documentationOf')}/{_v3('serviceEvent')}/{_v3('performer')}/{_v3('assignedEntity')}"
        )
        tin_elements = [i for p in performers for i in p.iterfind(f"{_v3('representedOrganization')}/{T_ID}")]
        npi_elements = [i for p in performers for i in p.iterchildren(T_ID)]
        if not tin_elements:  # some files put the organisation elsewhere in the header
            tin_elements = [i for i in self._header_ids() if i.get("root") == TIN_ROOT]
        if not npi_elements:
            npi_elements = [i for i in self._header_ids() if i.get("root") == NPI_ROOT]
        tins = tuple(
            dict.fromkeys(
                i.get("extension", "").strip()
                for i in tin_elements
                if i.get("root") == TIN_ROOT and i.get("extension")
            )
        )
        npis = tuple(
            dict.fromkeys(
                i.get("extension", "").strip()
                for i in npi_elements
                if i.get("root") == NPI_ROOT and i.get("extension")
            )
        )
        if not tins:
            self.warn(
                "The file names no TIN (representedOrganization id root 2.16.840.1.113883.4.2).",
                code="no_tin",
            )
        for tin in tins:
            if not re.fullmatch(r"[0-9]{9}", tin):
                self.warn("A TIN of the file is not 9 digits.", code="invalid_tin")
        return tins, npis

    def _header_ids(self) -> list[etree._Element]:
        found: list[etree._Element] = []
        for child in self.root:
            if child.tag in (_v3("component"), _v3("recordTarget")):
                continue
            found.extend(child.iter(T_ID))
        return found

    def _sections(self) -> list[etree._Element]:
        return self.root.findall(f"{T_COMPONENT}/{_v3('structuredBody')}/{T_COMPONENT}/{T_SECTION}")

    def _reporting_period(self) -> tuple[datetime | None, datetime | None]:
        for act in self.root.iter(_v3("act")):
            if any(t.get("root") == REPORTING_PARAMETERS_ACT for t in act.iterchildren(T_TEMPLATE_ID)):
                effective = act.find(T_EFFECTIVE_TIME)
                if effective is not None:
                    start = self.time(effective.find(T_LOW), "reporting period start")
                    end = self.time(effective.find(T_HIGH), "reporting period end")
                    return start, end
        service_time = self.root.find(f"{_v3('documentationOf')}/{_v3('serviceEvent')}/{T_EFFECTIVE_TIME}")
        if service_time is not None:
            return (
                self.time(service_time.find(T_LOW), "reporting period start"),
                self.time(service_time.find(T_HIGH), "reporting period end"),
            )
        self.warn("The file has no reporting period (Reporting Parameters act).", code="no_reporting_period")
        return None, None

    def _measures(self) -> tuple[MeasureReference, ...]:
        measures: list[MeasureReference] = []
        measure_sections = [
            section
            for section in self._sections()
            if {t.get("root") for t in section.iterchildren(T_TEMPLATE_ID)} & MEASURE_SECTION_TEMPLATES
        ]
        documents = [d for section in measure_sections for d in section.iter(_v3("externalDocument"))]
        for document in documents:
            version_id = ecqm_number = None
            for identifier in document.iterchildren(T_ID):
                if identifier.get("root") == EMEASURE_VERSION_ID_ROOT and identifier.get("extension"):
                    version_id = identifier.get("extension")
                elif identifier.get("root") == ECQM_NUMBER_ROOT:
                    ecqm_number = identifier.get("extension")
                elif version_id is None and identifier.get("root") and not identifier.get("extension"):
                    version_id = identifier.get("root")  # R1 (2012) files put the GUID in root
            set_id_element = document.find(_v3("setId"))
            set_id = set_id_element.get("root") if set_id_element is not None else None
            version_element = document.find(_v3("versionNumber"))
            title_text = document.findtext(_v3("text"))
            title = " ".join(title_text.split()) if title_text else None
            ecqm_id = recognise_ecqm(
                ecqm_number=ecqm_number,
                set_id=set_id,
                version_specific_id=version_id,
                title=title,
                catalog=self.catalog,
            )
            catalog_entry = self.catalog.resolve(ecqm_id) if ecqm_id else None
            measures.append(
                MeasureReference(
                    version_specific_id=version_id,
                    set_id=set_id,
                    version_number=version_element.get("value") if version_element is not None else None,
                    title=title,
                    ecqm_id=ecqm_id,
                    catalog_measure_id=catalog_entry.id if catalog_entry else None,
                )
            )
        if not measures:
            self.warn("The file references no measure (Measure Section).", code="no_measure")
        elif not any(m.catalog_measure_id for m in measures):
            self.warn(
                "None of the measures the file references is one ACO Sync reports.", code="unknown_measure"
            )
        return tuple(measures)

    # -- entries -------------------------------------------------------------------------------

    def _entries(self) -> tuple[QrdaEntry, ...]:
        entries: list[QrdaEntry] = []
        for section in self._sections():
            section_roots = {t.get("root") for t in section.iterchildren(T_TEMPLATE_ID)}
            if section_roots & MEASURE_SECTION_TEMPLATES or REPORTING_PARAMETERS_SECTION in section_roots:
                continue
            for entry in section.iterchildren(T_ENTRY):
                for statement in entry:
                    if _local(statement.tag) in CLINICAL_STATEMENTS:
                        entries.append(self._statement(statement))
        return tuple(entries)

    def _statement(self, element: etree._Element) -> QrdaEntry:
        templates = _template_ids(element)
        numbers = _entry_template_numbers(templates)
        if any(n in WRAPPER_TEMPLATES for n in numbers):
            inner = self._wrapped(element)
            if inner is not None:
                return self._merge_wrapper(element, templates, inner)
        kind, datatype = next(
            (ENTRY_TEMPLATES[n] for n in numbers if n in ENTRY_TEMPLATES), (EntryKind.OTHER, None)
        )
        components = tuple(self._statement(child) for child in self._nested(element))
        element_code = _code(element.find(T_CODE))
        raw_values = [v for v in element.iterchildren(T_VALUE)]
        codes: tuple[Code, ...] = ()
        values_used_as_codes: set[int] = set()
        if kind in VALUE_IS_CONCEPT_KINDS:
            codes = self._participant_codes(element, "playingEntity")
            if not codes:
                for index, value in enumerate(raw_values):
                    code = _code(value)
                    if code is not None and (value.get(XSI_TYPE) or "CD").split(":")[-1] in (
                        "CD",
                        "CE",
                        "CO",
                        "CV",
                    ):
                        codes += (code,)
                        values_used_as_codes.add(index)
            if not codes:  # e.g. Encounter Diagnosis: the concept is in the nested problem observation
                codes = tuple(c for component in components for c in component.codes)
        elif kind in PRODUCT_KINDS:
            codes = self._product_codes(element)
            if not codes:  # e.g. Discharge Medication: an act around a medication activity
                codes = tuple(
                    code
                    for material in element.iter(_v3("manufacturedMaterial"))
                    for code in [_code(material.find(T_CODE))]
                    if code is not None
                )[:1]
        elif kind is EntryKind.DEVICE:
            codes = self._participant_codes(element, "playingDevice")
        if not codes and element_code is not None:
            codes = (element_code,)
        negated = (element.get("negationInd") or "").lower() == "true"
        reason = next((c.codes[0] for c in components if c.kind is EntryKind.REASON and c.codes), None)
        effective = element.find(T_EFFECTIVE_TIME)
        status = element.find(T_STATUS)
        is_encounter = kind is EntryKind.ENCOUNTER or _local(element.tag) == "encounter"
        return QrdaEntry(
            kind=kind,
            qdm_datatype=datatype,
            template_ids=templates,
            element=_local(element.tag),
            class_code=element.get("classCode"),
            mood_code=element.get("moodCode"),
            ids=tuple(_identifier(i) for i in element.iterchildren(T_ID)),
            codes=codes,
            element_code=element_code,
            status=status.get("code") if status is not None else None,
            effective_time=self.time(effective, "entry effective"),
            effective_low=self.time(effective.find(T_LOW), "entry start") if effective is not None else None,
            effective_high=self.time(effective.find(T_HIGH), "entry end") if effective is not None else None,
            author_time=self.time(element.find(f"{T_AUTHOR}/{T_TIME}"), "author"),
            values=tuple(
                v
                for i, raw in enumerate(raw_values)
                if i not in values_used_as_codes
                for v in [self._value(raw)]
                if v
            ),
            negated=negated,
            negation_reason=reason if negated else None,
            reason=None if negated else reason,
            components=components,
            line=_line(element),
            discharge_disposition=_discharge_disposition(element) if is_encounter else None,
            encounter_class=_encounter_class(element) if is_encounter else None,
            diagnoses=_encounter_diagnoses(components) if is_encounter else (),
            facility_locations=self._facility_locations(element) if is_encounter else (),
        )

    def _facility_locations(self, element: etree._Element) -> tuple[FacilityLocation, ...]:
        """``participant typeCode="LOC"`` of an encounter (Facility Location, template 24.3.100)."""
        locations = []
        for participant in element.iterchildren(_v3("participant")):
            if (participant.get("typeCode") or "").upper() != "LOC":
                continue
            role = participant.find(_v3("participantRole"))
            code = _code(role.find(T_CODE)) if role is not None else None
            time = participant.find(T_TIME)
            low = high = None
            if time is not None:
                low = self.time(time.find(T_LOW), "facility location start") or self.time(
                    time, "facility location"
                )
                high = self.time(time.find(T_HIGH), "facility location end")
            if code is not None or low is not None:
                locations.append(FacilityLocation(code, low, high))
        return tuple(locations)

    def _nested(self, element: etree._Element) -> list[etree._Element]:
        nested = []
        for relationship in element:
            if relationship.tag not in (T_ENTRY_RELATIONSHIP, T_COMPONENT):
                continue
            for child in relationship:
                if _local(child.tag) in CLINICAL_STATEMENTS and child.find(T_TEMPLATE_ID) is not None:
                    nested.append(child)
        return nested

    def _wrapped(self, element: etree._Element) -> etree._Element | None:
        for child in self._nested(element):
            if any(n in ENTRY_TEMPLATES for n in _entry_template_numbers(_template_ids(child))):
                return child
        return None

    def _merge_wrapper(
        self, wrapper: etree._Element, templates: tuple[TemplateId, ...], inner: etree._Element
    ) -> QrdaEntry:
        entry = self._statement(inner)
        wrapper_negated = (wrapper.get("negationInd") or "").lower() == "true"
        others = tuple(self._statement(c) for c in self._nested(wrapper) if c is not inner)
        wrapper_reason = next((c.codes[0] for c in others if c.kind is EntryKind.REASON and c.codes), None)
        negated = entry.negated or wrapper_negated
        reason = entry.negation_reason or entry.reason or wrapper_reason
        return QrdaEntry(
            kind=entry.kind,
            qdm_datatype=entry.qdm_datatype,
            template_ids=templates + entry.template_ids,
            element=entry.element,
            class_code=entry.class_code,
            mood_code=entry.mood_code,
            ids=entry.ids or tuple(_identifier(i) for i in wrapper.iterchildren(T_ID)),
            codes=entry.codes,
            element_code=entry.element_code,
            status=entry.status,
            effective_time=entry.effective_time,
            effective_low=entry.effective_low,
            effective_high=entry.effective_high,
            author_time=entry.author_time or self.time(wrapper.find(f"{T_AUTHOR}/{T_TIME}"), "author"),
            values=entry.values,
            negated=negated,
            negation_reason=reason if negated else None,
            reason=None if negated else reason,
            components=entry.components + others,
            line=_line(wrapper),
            discharge_disposition=entry.discharge_disposition,
            encounter_class=entry.encounter_class,
            diagnoses=entry.diagnoses,
            facility_locations=entry.facility_locations,
        )

    def _participant_codes(self, element: etree._Element, playing: str) -> tuple[Code, ...]:
        codes = []
        for participant in element.iterchildren(_v3("participant")):
            for code_element in participant.iterfind(f"{_v3('participantRole')}/{_v3(playing)}/{T_CODE}"):
                code = _code(code_element)
                if code is not None:
                    codes.append(code)
        return tuple(codes)

    def _product_codes(self, element: etree._Element) -> tuple[Code, ...]:
        codes = []
        for holder in ("consumable", "product"):
            path = f"{_v3(holder)}/{_v3('manufacturedProduct')}/{_v3('manufacturedMaterial')}/{T_CODE}"
            for code_element in element.iterfind(path):
                code = _code(code_element)
                if code is not None:
                    codes.append(code)
        return tuple(codes)

    def _value(self, element: etree._Element) -> EntryValue | None:
        xsi_type = (element.get(XSI_TYPE) or "").split(":")[-1]
        if element.get("nullFlavor") and not element.get("value") and not element.get("code"):
            return None
        if xsi_type in ("PQ", "IVL_PQ") or (not xsi_type and element.get("unit")):
            raw = element.get("value")
            if raw is None:
                low = element.find(T_LOW)
                raw = low.get("value") if low is not None else None
            if raw is None:
                return None
            try:
                return Quantity(Decimal(raw.strip()), element.get("unit"))
            except InvalidOperation:
                self.warn(
                    "A result value (xsi:type PQ) is not a number and was kept as text.",
                    element,
                    "invalid_value",
                )
                return TextValue(raw, xsi_type)
        if xsi_type in ("CD", "CE", "CO", "CV") or element.get("code"):
            return _code(element)
        text = element.get("value") or (element.text or "").strip()
        return TextValue(text, xsi_type or None) if text else None

    def _check_duplicate_ids(self, entries: tuple[QrdaEntry, ...]) -> None:
        counts = Counter(e.entry_id for e in entries if e.entry_id)
        duplicates = sum(1 for n in counts.values() if n > 1)
        if duplicates:
            self.warn(
                f"{duplicates} entry id(s) are used by more than one entry; the entries are kept apart.",
                code="duplicate_entry_id",
            )
