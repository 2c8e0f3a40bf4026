"""Codes and code systems.

FHIR names a code system by URL, QRDA-I (CDA) by OID, the value-set TSVs by URL and the CQL by a
short name. Everything is normalised to one short name (``LOINC``, ``SNOMEDCT``, ``CPT`` ...) so a
code from any source matches a value set loaded from any other.
"""

from __future__ import annotations

from dataclasses import dataclass

_SYSTEM_ALIASES: dict[str, str] = {
    # LOINC
    "http://loinc.org": "LOINC",
    "2.16.840.1.113883.6.1": "LOINC",
    "LOINC": "LOINC",
    # SNOMED CT
    "http://snomed.info/sct": "SNOMEDCT",
    "2.16.840.1.113883.6.96": "SNOMEDCT",
    "SNOMEDCT": "SNOMEDCT",
    "SNOMED-CT": "SNOMEDCT",
    "SNOMED CT": "SNOMEDCT",
    # CPT
    "http://www.ama-assn.org/go/cpt": "CPT",
    "2.16.840.1.113883.6.12": "CPT",
    "CPT": "CPT",
    # HCPCS
    "http://www.nlm.nih.gov/research/umls/hcpcs": "HCPCS",
    "2.16.840.1.113883.6.285": "HCPCS",
    "2.16.840.1.113883.6.14": "HCPCS",
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
    "HCPCS": "HCPCS",
    # ICD-10-CM / ICD-10-PCS / ICD-9-CM
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD10CM",
    "2.16.840.1.113883.6.90": "ICD10CM",
    "ICD10CM": "ICD10CM",
    "ICD-10-CM": "ICD10CM",
    "http://www.cms.gov/Medicare/Coding/ICD10": "ICD10PCS",
    "2.16.840.1.113883.6.4": "ICD10PCS",
    "ICD10PCS": "ICD10PCS",
    "http://hl7.org/fhir/sid/icd-9-cm": "ICD9CM",
    "2.16.840.1.113883.6.103": "ICD9CM",
    "2.16.840.1.113883.6.104": "ICD9CM",
    # RxNorm
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RXNORM",
    "2.16.840.1.113883.6.88": "RXNORM",
    "RXNORM": "RXNORM",
    # Source of Payment Typology
    "https://nahdo.org/sopt": "SOPT",
    "2.16.840.1.113883.3.221.5": "SOPT",
    "SOPT": "SOPT",
    # HL7 v3 administrative gender, CDC race & ethnicity
    "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender": "AdministrativeGender",
    "2.16.840.1.113883.5.1": "AdministrativeGender",
    "AdministrativeGender": "AdministrativeGender",
    "urn:oid:2.16.840.1.113883.6.238": "CDCREC",
    "2.16.840.1.113883.6.238": "CDCREC",
    # HL7 v3 ActCode (encounter class)
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": "ActCode",
    "2.16.840.1.113883.5.4": "ActCode",
}


def normalise_system(system: str | None) -> str:
    """The short name of a code system given as URL, OID (with or without ``urn:oid:``) or name."""
    if not system:
        return ""
    text = system.strip()
    if text.startswith("urn:oid:") and text not in _SYSTEM_ALIASES:
        text = text[len("urn:oid:") :]
    return _SYSTEM_ALIASES.get(text, text)


@dataclass(frozen=True, slots=True)
class Code:
    """A code in a normalised code system (see :func:`normalise_system`)."""

    system: str
    code: str

    @classmethod
    def of(cls, system: str | None, code: str) -> Code:
        return cls(normalise_system(system), code.strip())


# Codes the measures reference directly (CQL ``code`` declarations).
FEMALE_FINDING = Code("SNOMEDCT", "248152002")  # PY2026 CMS125: Patient.sex (us-core-sex)
MEDICAL_NUTRITION_THERAPY = frozenset(  # PY2026 CMS122 "Qualifying Encounters"
    {
        Code("CPT", "97802"),
        Code("CPT", "97803"),
        Code("CPT", "97804"),
        Code("HCPCS", "G0270"),
        Code("HCPCS", "G0271"),
    }
)
GLUCOSE_MANAGEMENT_INDICATOR = Code("LOINC", "97506-0")
SYSTOLIC_BP = Code("LOINC", "8480-6")
DIASTOLIC_BP = Code("LOINC", "8462-4")
BP_PANEL_CODES = frozenset({Code("LOINC", "85354-9"), Code("LOINC", "55284-4")})
ADOLESCENT_DEPRESSION_SCREENING = Code("LOINC", "73831-0")
ADULT_DEPRESSION_SCREENING = Code("LOINC", "73832-8")
DEPRESSION_SCREENING_DECLINED = Code("SNOMEDCT", "720834000")
DEPRESSION_SCREENING_NEGATIVE = Code("SNOMEDCT", "428171000124102")
DEPRESSION_SCREENING_POSITIVE = Code("SNOMEDCT", "428181000124104")
DISCHARGE_TO_FACILITY_FOR_HOSPICE = Code("SNOMEDCT", "428371000124100")
DISCHARGE_TO_HOME_FOR_HOSPICE = Code("SNOMEDCT", "428361000124107")
HOSPICE_CARE_MDS = Code("LOINC", "45755-6")
YES_QUALIFIER = Code("SNOMEDCT", "373066001")
FACIT_PAL = Code("LOINC", "71007-9")
HOUSING_STATUS = Code("LOINC", "71802-3")
LIVES_IN_NURSING_HOME = Code("SNOMEDCT", "160734000")
MEDICAL_EQUIPMENT_USED = Code("LOINC", "98181-1")
LEFT_QUALIFIER = Code("SNOMEDCT", "7771000")
RIGHT_QUALIFIER = Code("SNOMEDCT", "24028007")
