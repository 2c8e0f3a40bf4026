"""QRDA Category III (aggregate) for the ACO's eCQM instances, as an APM entity report.

Follows the CMS QRDA III Implementation Guide of the performance year (the CMS 2025 and 2026 IG
schematrons in ``../shared/fixtures/validators`` are the test of it; docs/SCORING.md):

- header: the QRDA III Report (``2.16.840.1.113883.10.20.27.1.1:2020-12-01``) and the CMS QRDA III
  Report template of the year (:data:`TEMPLATE_VERSIONS`); the program as
  ``informationRecipient/intendedRecipient/id`` (root ``2.16.840.1.113883.3.249.7``, e.g.
  ``APP_PLUS_APMENTITY``); the CEHRT ID as a ``participant typeCode="DEV"`` (root
  ``2.16.840.1.113883.3.2074.1``); the APM entity as ``documentationOf/serviceEvent/performer/
  assignedEntity`` with an NPI ``id nullFlavor="NA"`` (an APM entity has no NPI) and
  ``representedOrganization/id`` root ``2.16.840.1.113883.3.249.5.4`` = the APM Entity ID;
- one Measure Section with a narrative ``text`` table, and per eCQM a Measure Reference and Results
  organizer: ``externalDocument/id`` root ``2.16.840.1.113883.4.738`` = the year's version-specific
  measure UUID (``eMeasureUuid``), a Performance Rate, and the populations the measure defines (IPOP,
  DENOM, DENEX, NUMER, and DENEXCEP only where the measure has exceptions), each referring to the
  year's population UUID;
- supplemental data per population, as the CMS IG requires (at least one of each): sex counted from
  the patient outcomes (M, F, and unknown when some patient's sex is unknown; all unknown when the
  outcomes are not the whole population); race, ethnicity and payer, which ACO Sync does not collect,
  as one element each for the whole population: race and ethnicity ``value nullFlavor="UNK"``, payer
  ``nullFlavor="OTH"`` with the CMS Payer Grouping ``D`` (Other), the only grouping that asserts no
  payer.

A performance year without the IG template versions or without published measure UUIDs is refused
(:class:`Qrda3Refused`), never filled with another year's ids.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from aco_sync.domain.qpp_measures import QppMeasure, QppMeasureSet
from aco_sync.domain.records import CollectionType, Gender, MeasureStats, PatientOutcome, Performance
from aco_sync.reports.model import ReportInputs, ScoredSync
from aco_sync.reports.submission import SubmissionPlan, plan_submission

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACT_CODE = "2.16.840.1.113883.5.4"
LOINC = "2.16.840.1.113883.6.1"
NPI_ROOT = "2.16.840.1.113883.4.6"
APM_ENTITY_ROOT = "2.16.840.1.113883.3.249.5.4"
MEASURE_VERSION_ROOT = "2.16.840.1.113883.4.738"
PROGRAM_ROOT = "2.16.840.1.113883.3.249.7"
CEHRT_ROOT = "2.16.840.1.113883.3.2074.1"

ADMINISTRATIVE_GENDER = "2.16.840.1.113883.5.1"
NULL_FLAVOR_SYSTEM = "2.16.840.1.113883.5.1008"
CMS_PAYER_GROUPINGS = "2.16.840.1.113883.3.249.12"
SEX_AT_BIRTH_LOINC = "76689-9"
_SEX_CODES = ((Gender.MALE, "Male"), (Gender.FEMALE, "Female"))  # always reported, as in the sample
_UNKNOWN_SEX = "UNK"  # patients whose sex is unknown (Gender.UNKNOWN, or not recorded)

# programName -> the QRDA III CMS Program Name of an APM entity report (voc.xml value set 2.16.840.1.
# 113883.3.249.14.101)
PROGRAM_CODES = {"appPlus": "APP_PLUS_APMENTITY", "app1": "MIPS_APP1_APMENTITY", "mips": "MIPS_APMENTITY"}


@dataclass(frozen=True, slots=True)
class TemplateVersions:
    """The template extensions that change with the CMS QRDA III IG of a performance year."""

    cms_report: str  # 2.16.840.1.113883.10.20.27.1.2 QRDA Category III Report - CMS
    measure_section_cms: str  # 2.16.840.1.113883.10.20.27.2.3 Measure Section - CMS
    measure_reference_cms: str  # 2.16.840.1.113883.10.20.27.3.17 Measure Reference and Results - CMS
    measure_data_cms: str  # 2.16.840.1.113883.10.20.27.3.16 Measure Data - CMS
    sex_cms: str | None  # 2.16.840.1.113883.10.20.27.3.21 Sex Supplemental Data Element - CMS (2026)


# From the CMS QRDA III IG schematrons (2025 v1.1, 2026 v1.0); see docs/SCORING.md.
TEMPLATE_VERSIONS: dict[int, TemplateVersions] = {
    2025: TemplateVersions("2024-12-01", "2022-05-01", "2022-05-01", "2019-05-01", None),
    2026: TemplateVersions("2025-05-01", "2025-05-01", "2025-05-01", "2025-05-01", "2025-05-01"),
}

SexCounts = dict[str, Counter[str]]
"""Population code (IPOP, DENOM, DENEX, DENEXCEP, NUMER) -> sex code (M, F, UNK) -> patients."""

_POPULATIONS = (
    ("IPOP", "initialPopulationUuid"),
    ("DENOM", "denominatorUuid"),
    ("DENEX", "denominatorExclusionUuid"),
    ("DENEXCEP", "denominatorExceptionUuid"),
    ("NUMER", "numeratorUuid"),
)


class Qrda3Refused(Exception):
    """The QRDA III cannot be written for the year (the message says why)."""


def _el(parent: Any, tag: str, **attributes: str) -> Any:
    return etree.SubElement(parent, f"{{{HL7}}}{tag}", attributes)


def _template(parent: Any, root: str, extension: str | None = None) -> None:
    if extension:
        _el(parent, "templateId", root=root, extension=extension)
    else:
        _el(parent, "templateId", root=root)


def _typed(element: Any, xsi_type: str) -> Any:
    element.set(f"{{{XSI}}}type", xsi_type)
    return element


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "aco-sync:" + ":".join(parts)))


def _period(parent: Any, tag: str, year: int) -> None:
    period = _el(parent, tag)
    _el(period, "low", value=f"{year}0101")
    _el(period, "high", value=f"{year}1231")


def _count(parent: Any, value: int) -> None:
    relationship = _el(parent, "entryRelationship", typeCode="SUBJ", inversionInd="true")
    observation = _el(relationship, "observation", classCode="OBS", moodCode="EVN")
    _template(observation, "2.16.840.1.113883.10.20.27.3.3")
    _template(observation, "2.16.840.1.113883.10.20.27.3.24")
    _el(observation, "code", code="MSRAGG", codeSystem=ACT_CODE, codeSystemName="ActCode",
        displayName="rate aggregation")  # fmt: skip
    _el(observation, "statusCode", code="completed")
    _typed(_el(observation, "value", value=str(value)), "INT")
    _el(observation, "methodCode", code="COUNT", codeSystem="2.16.840.1.113883.5.84",
        codeSystemName="ObservationMethod", displayName="Count")  # fmt: skip


def sex_counts(outcomes: Iterable[PatientOutcome]) -> SexCounts:
    """Patients per population and sex, from one instance's outcomes (one outcome per patient).

    IPOP and DENOM hold every outcome, DENEX the exclusions, DENEXCEP the exceptions, NUMER the MET
    ones (the same membership as the aggregate counts). Unknown or unrecorded sex counts as ``UNK``.
    """
    counts: SexCounts = {code: Counter() for code, _ in _POPULATIONS}
    for outcome in outcomes:
        sex = outcome.gender.value if outcome.gender in (Gender.MALE, Gender.FEMALE) else _UNKNOWN_SEX
        counts["IPOP"][sex] += 1
        counts["DENOM"][sex] += 1
        if outcome.outcome is Performance.DENOMINATOR_EXCLUSION:
            counts["DENEX"][sex] += 1
        elif outcome.outcome is Performance.DENOMINATOR_EXCEPTION:
            counts["DENEXCEP"][sex] += 1
        elif outcome.outcome is Performance.MET:
            counts["NUMER"][sex] += 1
    return counts


def ecqm_sex_counts(inputs: ReportInputs) -> tuple[dict[str, int], dict[str, SexCounts]]:
    """Per eCQM measure: its instance's outcomes and their :func:`sex_counts` (from the patient-level
    reports' sums when the outcomes are not loaded)."""
    if inputs.patient_level is not None:
        return inputs.patient_level.ecqm_outcomes, inputs.patient_level.ecqm_sexes
    outcomes_by_measure: dict[str, list[PatientOutcome]] = {}
    for outcome in inputs.outcomes:
        if outcome.collection_type == CollectionType.ECQM:
            outcomes_by_measure.setdefault(outcome.measure_id, []).append(outcome)
    return (
        {m: len(o) for m, o in outcomes_by_measure.items()},
        {m: sex_counts(o) for m, o in outcomes_by_measure.items()},
    )


def _supplemental(
    parent: Any, templates: Sequence[tuple[str, str | None]], code: tuple[str, str], *parts: str
) -> Any:
    relationship = _el(parent, "entryRelationship", typeCode="COMP")
    observation = _el(relationship, "observation", classCode="OBS", moodCode="EVN")
    for root, extension in templates:
        _template(observation, root, extension)
    _el(observation, "id", root=_uuid(*parts))
    _el(observation, "code", code=code[0], codeSystem=LOINC, codeSystemName="LOINC", displayName=code[1])
    _el(observation, "statusCode", code="completed")
    return observation


def _sex_element(
    parent: Any, sex: str, display: str | None, count: int, year: int, versions: TemplateVersions, *parts: str
) -> None:
    templates: list[tuple[str, str | None]] = [("2.16.840.1.113883.10.20.27.3.6", "2016-09-01")]
    if versions.sex_cms:
        templates.append(("2.16.840.1.113883.10.20.27.3.21", versions.sex_cms))
    observation = _supplemental(
        parent, templates, (SEX_AT_BIRTH_LOINC, "Sex assigned at birth"), "sex", *parts, sex
    )
    _period(observation, "effectiveTime", year)
    if versions.sex_cms:
        # CMS 2026: value nullFlavor="OTH" with the sex as a translation (Federal Administrative Sex)
        value = _typed(_el(observation, "value", nullFlavor="OTH"), "CD")
        if display is None:
            _el(value, "translation", code=sex, codeSystem=NULL_FLAVOR_SYSTEM, codeSystemName="NullFlavor",
                displayName="unknown")  # fmt: skip
        else:
            _el(value, "translation", code=sex, codeSystem=ADMINISTRATIVE_GENDER,
                codeSystemName="AdministrativeGender", displayName=display)  # fmt: skip
    elif display is None:
        _typed(_el(observation, "value", nullFlavor=sex), "CD")
    else:
        _typed(_el(observation, "value", code=sex, codeSystem=ADMINISTRATIVE_GENDER,
                   codeSystemName="AdministrativeGenderCode", displayName=display), "CD")  # fmt: skip
    _count(observation, count)


def _unknown_elements(parent: Any, count: int, *parts: str) -> None:
    """Race, ethnicity and payer (not collected by ACO Sync) for the whole population."""
    race_template = [("2.16.840.1.113883.10.20.27.3.8", "2016-09-01")]
    race = _supplemental(parent, race_template, ("72826-1", "Race"), "race", *parts)
    _typed(_el(race, "value", nullFlavor="UNK"), "CD")
    _count(race, count)
    ethnicity_template = [("2.16.840.1.113883.10.20.27.3.7", "2016-09-01")]
    ethnicity = _supplemental(parent, ethnicity_template, ("69490-1", "Ethnic"), "ethnicity", *parts)
    _typed(_el(ethnicity, "value", nullFlavor="UNK"), "CD")
    _count(ethnicity, count)
    payer = _supplemental(
        parent,
        [("2.16.840.1.113883.10.20.27.3.9", "2016-02-01"), ("2.16.840.1.113883.10.20.27.3.18", "2018-05-01")],
        ("48768-6", "Payment source"),
        "payer",
        *parts,
    )
    value = _typed(_el(payer, "value", nullFlavor="OTH"), "CD")
    _el(value, "translation", code="D", codeSystem=CMS_PAYER_GROUPINGS, codeSystemName="CMS Clinical Codes",
        displayName="Other")  # fmt: skip
    _count(payer, count)


def _measure_entry(
    section: Any,
    stats: MeasureStats,
    measure: QppMeasure,
    *,
    year: int,
    versions: TemplateVersions,
    sexes: SexCounts | None,
) -> None:
    entry = _el(section, "entry")
    organizer = _el(entry, "organizer", classCode="CLUSTER", moodCode="EVN")
    _template(organizer, "2.16.840.1.113883.10.20.24.3.98")
    _template(organizer, "2.16.840.1.113883.10.20.27.3.1", "2020-12-01")
    _template(organizer, "2.16.840.1.113883.10.20.27.3.17", versions.measure_reference_cms)
    _el(organizer, "id", root=_uuid("measure", str(year), stats.measure_id))
    _el(organizer, "statusCode", code="completed")
    ref = _el(organizer, "reference", typeCode="REFR")
    document = _el(ref, "externalDocument", classCode="DOC", moodCode="EVN")
    _el(document, "id", root=MEASURE_VERSION_ROOT, extension=str(measure.e_measure_uuid))
    _el(document, "code", code="57024-2", codeSystem=LOINC, codeSystemName="LOINC",
        displayName="Health Quality Measure Document")  # fmt: skip
    _el(document, "text").text = measure.title
    population_ids = measure.population_uuids

    if stats.performance_met + stats.performance_not_met:
        component = _el(organizer, "component")
        rate = _el(component, "observation", classCode="OBS", moodCode="EVN")
        _template(rate, "2.16.840.1.113883.10.20.27.3.30", "2016-09-01")
        _template(rate, "2.16.840.1.113883.10.20.27.3.14", "2020-12-01")
        _template(rate, "2.16.840.1.113883.10.20.27.3.25", "2022-05-01")
        _el(rate, "code", code="72510-1", codeSystem=LOINC, codeSystemName="LOINC",
            displayName="Performance Rate")  # fmt: skip
        _el(rate, "statusCode", code="completed")
        performance = stats.performance_met / (stats.performance_met + stats.performance_not_met)
        _typed(_el(rate, "value", value=f"{performance:.6f}"), "REAL")
        numerator_ref = _el(rate, "reference", typeCode="REFR")
        external = _el(numerator_ref, "externalObservation", classCode="OBS", moodCode="EVN")
        _el(external, "id", root=population_ids["numeratorUuid"])
        _el(external, "code", code="NUMER", codeSystem=ACT_CODE, codeSystemName="ActCode",
            displayName="Numerator")  # fmt: skip

    counts = {
        "IPOP": stats.eligible_population,
        "DENOM": stats.eligible_population,
        "DENEX": stats.eligible_population_exclusion,
        "DENEXCEP": stats.eligible_population_exception,
        "NUMER": stats.performance_met,
    }
    for code, uuid_key in _POPULATIONS:
        if uuid_key not in population_ids:
            continue  # the measure does not define the population (e.g. no denominator exceptions)
        component = _el(organizer, "component")
        observation = _el(component, "observation", classCode="OBS", moodCode="EVN")
        _template(observation, "2.16.840.1.113883.10.20.27.3.5", "2016-09-01")
        _template(observation, "2.16.840.1.113883.10.20.27.3.16", versions.measure_data_cms)
        _el(observation, "code", code="ASSERTION", codeSystem=ACT_CODE, codeSystemName="ActCode",
            displayName="Assertion")  # fmt: skip
        _el(observation, "statusCode", code="completed")
        _typed(_el(observation, "value", code=code, codeSystem=ACT_CODE, codeSystemName="ActCode"), "CD")
        _count(observation, counts[code])
        parts = (str(year), stats.measure_id, code)
        by_sex = sexes[code] if sexes is not None else Counter({_UNKNOWN_SEX: counts[code]})
        for gender, display in _SEX_CODES:
            _sex_element(observation, gender.value, display, by_sex[gender.value], year, versions, *parts)
        if by_sex[_UNKNOWN_SEX]:
            _sex_element(observation, _UNKNOWN_SEX, None, by_sex[_UNKNOWN_SEX], year, versions, *parts)
        _unknown_elements(observation, counts[code], *parts)
        population_ref = _el(observation, "reference", typeCode="REFR")
        external = _el(population_ref, "externalObservation", classCode="OBS", moodCode="EVN")
        _el(external, "id", root=population_ids[uuid_key])


def _narrative(section: Any, rows: list[tuple[QppMeasure, MeasureStats]]) -> None:
    """The section's human-readable text: one row per eCQM with its counts."""
    text = _el(section, "text")
    table = _el(text, "table", border="1", width="100%")
    header = _el(_el(table, "thead"), "tr")
    for title in ("eCQM", "Title", "Denominator", "Exclusions", "Exceptions", "Numerator"):
        _el(header, "th").text = title
    body = _el(table, "tbody")
    for measure, stats in rows:
        row = _el(body, "tr")
        values = (measure.e_measure_id or measure.measure_id, measure.title, stats.eligible_population,
                  stats.eligible_population_exclusion, stats.eligible_population_exception,
                  stats.performance_met)  # fmt: skip
        for value in values:
            _el(row, "td").text = str(value)


def check_qrda3_year(year: int, measures: QppMeasureSet | None, measure_ids: list[str]) -> None:
    """Raise :class:`Qrda3Refused` when the year's IG templates or measure UUIDs are not known."""
    if year not in TEMPLATE_VERSIONS:
        known = ", ".join(map(str, sorted(TEMPLATE_VERSIONS)))
        raise Qrda3Refused(
            f"QRDA III not written: ACO Sync knows the CMS QRDA III Implementation Guide of performance "
            f"years {known}, not {year}."
        )
    if measures is None:
        raise Qrda3Refused(
            f"QRDA III not written: no CMS measure data is bundled for performance year {year}."
        )
    missing = measures.missing_qrda3_identifiers(measure_ids)
    if missing:
        raise Qrda3Refused(
            f"QRDA III not written: CMS's {year} measure data ({measures.source}) has no eCQM version "
            f"UUID (eMeasureUuid) or population UUIDs for measure {', '.join(missing)}; ACO Sync does not "
            "use another year's ids. Update the bundled qpp-measures-data once CMS publishes them, or "
            "submit the eCQMs in qpp-submission.json (settings ecqm_submission_file: qpp_json)."
        )


def qrda3_document(
    scored: ScoredSync, plan: SubmissionPlan | None = None, *, measures: QppMeasureSet | None = None
) -> bytes | None:
    """The QRDA III of the plan's eCQM instances (default: :func:`plan_submission`); None when there are
    none. ``measures`` overrides the year's bundled measure data (tests). Raises :class:`Qrda3Refused`.
    """
    plan = plan or plan_submission(scored)
    if not plan.ecqm:
        return None
    inputs = scored.inputs
    settings = inputs.settings
    year = settings.performance_year
    measures = measures or plan.measures
    if plan.program_name not in PROGRAM_CODES:
        raise Qrda3Refused(
            f"QRDA III not written: ACO Sync writes APM entity reports for programs "
            f"{', '.join(PROGRAM_CODES)}, not {plan.program_name} (MVP reporting)."
        )
    check_qrda3_year(year, measures, [i.qpp_measure_id for i in plan.ecqm])
    assert measures is not None
    versions = TEMPLATE_VERSIONS[year]
    timestamp = inputs.generated_at.strftime("%Y%m%d%H%M%S")
    organization_name = settings.name or settings.aco_id
    entity_id = plan.entity_id

    namespaces: Any = {None: HL7, "xsi": XSI}
    root = etree.Element(f"{{{HL7}}}ClinicalDocument", nsmap=namespaces)
    _el(root, "realmCode", code="US")
    _el(root, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    _template(root, "2.16.840.1.113883.10.20.27.1.1", "2020-12-01")
    _template(root, "2.16.840.1.113883.10.20.27.1.2", versions.cms_report)
    _el(root, "id", root=_uuid("document", settings.aco_id, inputs.sync_id))
    _el(root, "code", code="55184-6", codeSystem=LOINC, codeSystemName="LOINC",
        displayName="Quality Reporting Document Architecture Calculated Summary Report")  # fmt: skip
    _el(root, "title").text = f"{organization_name} QRDA Category III, performance year {year}"
    _el(root, "effectiveTime", value=timestamp)
    _el(root, "confidentialityCode", codeSystem="2.16.840.1.113883.5.25", code="N")
    _el(root, "languageCode", code="en")
    _el(root, "setId", root=_uuid("set", settings.aco_id, str(year)))
    _el(root, "versionNumber", value="1")
    patient_role = _el(_el(root, "recordTarget"), "patientRole")
    _el(patient_role, "id", nullFlavor="NA")

    author = _el(_el(root, "author"), "time", value=timestamp).getparent()
    assigned_author = _el(author, "assignedAuthor")
    _el(assigned_author, "id", root=_uuid("author", settings.aco_id))
    device = _el(assigned_author, "assignedAuthoringDevice")
    _el(device, "softwareName").text = "ACO Sync"
    organization = _el(assigned_author, "representedOrganization")
    _el(organization, "id", root=APM_ENTITY_ROOT, extension=entity_id)
    _el(organization, "name").text = organization_name

    custodian = _el(_el(_el(root, "custodian"), "assignedCustodian"), "representedCustodianOrganization")
    _el(custodian, "id", root=APM_ENTITY_ROOT, extension=entity_id)
    _el(custodian, "name").text = organization_name
    recipient = _el(_el(root, "informationRecipient"), "intendedRecipient")
    _el(
        recipient,
        "id",
        root=PROGRAM_ROOT,
        extension=PROGRAM_CODES[plan.program_name],
    )
    authenticator = _el(root, "legalAuthenticator")
    _el(authenticator, "time", value=timestamp)
    _el(authenticator, "signatureCode", code="S")
    entity = _el(authenticator, "assignedEntity")
    _el(entity, "id", root=_uuid("authenticator", settings.aco_id))
    represented = _el(entity, "representedOrganization")
    _el(represented, "id", root=APM_ENTITY_ROOT, extension=entity_id)
    _el(represented, "name").text = organization_name
    if settings.cehrt_id:  # without it the file is a draft (CMS requires the CEHRT ID for eCQMs)
        device_entity = _el(_el(root, "participant", typeCode="DEV"), "associatedEntity", classCode="RGPR")
        _el(device_entity, "id", root=CEHRT_ROOT, extension=settings.cehrt_id)
        _el(device_entity, "code", code="129465004", displayName="medical record, device",
            codeSystem="2.16.840.1.113883.6.96", codeSystemName="SNOMED-CT")  # fmt: skip

    service_event = _el(_el(root, "documentationOf", typeCode="DOC"), "serviceEvent", classCode="PCPR")
    _period(service_event, "effectiveTime", year)
    performer = _el(service_event, "performer", typeCode="PRF")
    _period(performer, "time", year)
    assigned = _el(performer, "assignedEntity")
    _el(assigned, "id", root=NPI_ROOT, nullFlavor="NA")
    apm = _el(assigned, "representedOrganization")
    _el(apm, "id", root=APM_ENTITY_ROOT, extension=entity_id)
    _el(apm, "name").text = organization_name

    section = _el(_el(_el(_el(root, "component"), "structuredBody"), "component"), "section")
    _template(section, "2.16.840.1.113883.10.20.24.2.2")
    _template(section, "2.16.840.1.113883.10.20.27.2.1", "2020-12-01")
    _template(section, "2.16.840.1.113883.10.20.27.2.3", versions.measure_section_cms)
    _el(section, "code", code="55186-1", codeSystem=LOINC, displayName="measure section")
    _el(section, "title").text = "Measure Section"
    _narrative(section, [(measures.measures[i.qpp_measure_id], i.stats) for i in plan.ecqm])

    outcomes, sexes_of = ecqm_sex_counts(inputs)
    for instance in plan.ecqm:
        stats = instance.stats
        measure = measures.get(instance.qpp_measure_id)
        assert measure is not None
        # Sex counts only when the outcomes are the whole population (never counts that do not add up).
        whole = outcomes.get(stats.measure_id, 0) == stats.eligible_population
        sexes = sexes_of.get(stats.measure_id, sex_counts(())) if whole else None
        _measure_entry(section, stats, measure, year=year, versions=versions, sexes=sexes)

    parameters = _el(_el(section, "entry", typeCode="DRIV"), "act", classCode="ACT", moodCode="EVN")
    _template(parameters, "2.16.840.1.113883.10.20.17.3.8", "2020-12-01")
    _el(parameters, "id", root=_uuid("reporting-parameters", settings.aco_id, str(year)))
    _el(parameters, "code", code="252116004", codeSystem="2.16.840.1.113883.6.96",
        displayName="Observation Parameters")  # fmt: skip
    _period(parameters, "effectiveTime", year)

    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))
