"""The QRDA Category I template table, as data: which templateId roots make a QRDA-I document, which
sections hold measures and reporting parameters, and what each entry template
(2.16.840.1.113883.10.20.24.3.<n>, every version from R1 2012 to STU 5.3) means as a QDM data type.
The reader (:mod:`aco_sync.ingest.qrda`) looks templates up here; nothing here reads XML."""

from __future__ import annotations

from aco_sync.domain.qrda_document import EntryKind

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
