"""QRDA Category III (aggregate) for the ACO's eCQM instances, as an APM entity report.

Structure follows the CMS QRDA III implementation guide as in CMSgov/qpp-conversion-tool's
``App-Plus-ApmEntity-Qrda-III`` sample: CDA header with the QRDA III and CMS templates, the APM
entity as ``documentationOf/serviceEvent/performer/assignedEntity/representedOrganization/id``
(root ``2.16.840.1.113883.3.249.5.4``), one Measure Section with a Measure Reference and Results
organizer per eCQM (``externalDocument/id`` root ``2.16.840.1.113883.4.738`` = the version-specific
measure UUID), a Performance Rate and the IPOP, DENOM, DENEX, DENEXCEP and NUMER aggregate counts, and
the Reporting Parameters act for the performance year.

Supplemental data: each population carries the Sex Supplemental Data Element (templates
``2.16.840.1.113883.10.20.27.3.6`` and ``.3.21``) for Male (``M``) and Female (``F``) of
AdministrativeGender (``2.16.840.1.113883.5.1``), counted from the instance's patient outcomes, plus
one element with ``value nullFlavor="UNK"`` when some patients' sex is unknown, so that the sex counts
add up to the population count. Race, ethnicity and payer are not collected by ACO Sync and are left
out (their value sets exclude nulls); see docs/SCORING.md.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from lxml import etree

from aco_sync.domain.records import CollectionType, Gender, MeasureStats, PatientOutcome, Performance
from aco_sync.reports.model import ScoredSync
from aco_sync.scoring.benchmarks import bundled_years, measure_uuids

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACT_CODE = "2.16.840.1.113883.5.4"
LOINC = "2.16.840.1.113883.6.1"
APM_ENTITY_ROOT = "2.16.840.1.113883.3.249.5.4"
MEASURE_VERSION_ROOT = "2.16.840.1.113883.4.738"
PROGRAM_ROOT = "2.16.840.1.113883.3.249.7"

ADMINISTRATIVE_GENDER = "2.16.840.1.113883.5.1"
SEX_AT_BIRTH_LOINC = "76689-9"
_SEX_CODES = ((Gender.MALE, "Male"), (Gender.FEMALE, "Female"))  # always reported, as in the sample
_UNKNOWN_SEX = "UNK"  # patients whose sex is unknown (Gender.UNKNOWN, or not recorded)

SexCounts = dict[str, Counter[str]]
"""Population code (IPOP, DENOM, DENEX, DENEXCEP, NUMER) -> sex code (M, F, UNK) -> patients."""

_POPULATIONS = (
    ("IPOP", "initialPopulationUuid"),
    ("DENOM", "denominatorUuid"),
    ("DENEX", "denominatorExclusionUuid"),
    ("DENEXCEP", "denominatorExceptionUuid"),
    ("NUMER", "numeratorUuid"),
)


def _el(parent: Any, tag: str, **attributes: str) -> Any:
    return etree.SubElement(parent, f"{{{HL7}}}{tag}", attributes)


def _template(parent: Any, root: str, extension: str | None = None) -> None:
    if extension:
        _el(parent, "templateId", root=root, extension=extension)
    else:
        _el(parent, "templateId", root=root)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "aco-sync:" + ":".join(parts)))


def _measure_reference_data(performance_year: int) -> dict[str, dict[str, Any]]:
    """Measure UUIDs of the year, else of the nearest bundled year that has them."""
    data = measure_uuids(performance_year)
    if any(entry.get("eMeasureUuid") for entry in data.values()):
        return data
    for year in sorted(bundled_years(), key=lambda y: (abs(y - performance_year), -y)):
        data = measure_uuids(year)
        if any(entry.get("eMeasureUuid") for entry in data.values()):
            return data
    return {}


def _count(parent: Any, value: int) -> None:
    relationship = _el(parent, "entryRelationship", typeCode="SUBJ", inversionInd="true")
    observation = _el(relationship, "observation", classCode="OBS", moodCode="EVN")
    _template(observation, "2.16.840.1.113883.10.20.27.3.3")
    _template(observation, "2.16.840.1.113883.10.20.27.3.24")
    _el(observation, "code", code="MSRAGG", codeSystem=ACT_CODE, codeSystemName="ActCode",
        displayName="rate aggregation")  # fmt: skip
    _el(observation, "statusCode", code="completed")
    value_el = _el(observation, "value", value=str(value))
    value_el.set(f"{{{XSI}}}type", "INT")
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


def _sex_element(parent: Any, sex: str, display: str | None, count: int, year: int, *parts: str) -> None:
    relationship = _el(parent, "entryRelationship", typeCode="COMP")
    observation = _el(relationship, "observation", classCode="OBS", moodCode="EVN")
    _template(observation, "2.16.840.1.113883.10.20.27.3.6", "2016-09-01")
    _template(observation, "2.16.840.1.113883.10.20.27.3.21", "2016-11-01")
    _el(observation, "id", root=_uuid("sex", *parts, sex))
    _el(observation, "code", code=SEX_AT_BIRTH_LOINC, codeSystem=LOINC, codeSystemName="LOINC",
        displayName="Sex assigned at birth")  # fmt: skip
    _el(observation, "statusCode", code="completed")
    period = _el(observation, "effectiveTime")
    _el(period, "low", value=f"{year}0101")
    _el(period, "high", value=f"{year}1231")
    if display is None:
        value = _el(observation, "value", nullFlavor=sex)
    else:
        value = _el(observation, "value", code=sex, codeSystem=ADMINISTRATIVE_GENDER,
                    codeSystemName="AdministrativeGenderCode", displayName=display)  # fmt: skip
    value.set(f"{{{XSI}}}type", "CD")
    _count(observation, count)


def _measure_entry(
    section: Any,
    stats: MeasureStats,
    title: str,
    reference: dict[str, Any],
    *,
    year: int,
    sexes: SexCounts | None,
) -> None:
    entry = _el(section, "entry")
    organizer = _el(entry, "organizer", classCode="CLUSTER", moodCode="EVN")
    _template(organizer, "2.16.840.1.113883.10.20.24.3.98")
    _template(organizer, "2.16.840.1.113883.10.20.27.3.1", "2016-09-01")
    _template(organizer, "2.16.840.1.113883.10.20.27.3.17", "2016-11-01")
    _el(organizer, "id", root=_uuid("measure", stats.measure_id))
    _el(organizer, "statusCode", code="completed")
    ref = _el(organizer, "reference", typeCode="REFR")
    document = _el(ref, "externalDocument", classCode="DOC", moodCode="EVN")
    version_uuid = reference.get("eMeasureUuid")
    if version_uuid:
        _el(document, "id", root=MEASURE_VERSION_ROOT, extension=str(version_uuid))
    else:
        _el(document, "id", root=MEASURE_VERSION_ROOT, nullFlavor="UNK")
    _el(document, "code", code="57024-2", codeSystem=LOINC, codeSystemName="LOINC",
        displayName="Health Quality Measure Document")  # fmt: skip
    _el(document, "text").text = title
    population_ids: dict[str, Any] = reference.get("populationUuids") or {}

    if stats.performance_rate is not None:
        component = _el(organizer, "component")
        rate = _el(component, "observation", classCode="OBS", moodCode="EVN")
        _template(rate, "2.16.840.1.113883.10.20.27.3.30", "2016-09-01")
        _template(rate, "2.16.840.1.113883.10.20.27.3.14", "2016-09-01")
        _template(rate, "2.16.840.1.113883.10.20.27.3.25", "2016-11-01")
        _el(rate, "code", code="72510-1", codeSystem=LOINC, codeSystemName="LOINC",
            displayName="Performance Rate")  # fmt: skip
        _el(rate, "statusCode", code="completed")
        value = _el(rate, "value", value=f"{stats.performance_rate / 100:.6f}")
        value.set(f"{{{XSI}}}type", "REAL")
        numerator_ref = _el(rate, "reference", typeCode="REFR")
        external = _el(numerator_ref, "externalObservation", classCode="OBS", moodCode="EVN")
        _el(external, "id", root=str(population_ids.get("numeratorUuid") or _uuid("NUMER", stats.measure_id)))
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
        component = _el(organizer, "component")
        observation = _el(component, "observation", classCode="OBS", moodCode="EVN")
        _template(observation, "2.16.840.1.113883.10.20.27.3.5", "2016-09-01")
        _template(observation, "2.16.840.1.113883.10.20.27.3.16", "2018-05-01")
        _el(observation, "code", code="ASSERTION", codeSystem=ACT_CODE, codeSystemName="ActCode",
            displayName="Assertion")  # fmt: skip
        _el(observation, "statusCode", code="completed")
        value = _el(observation, "value", code=code, codeSystem=ACT_CODE, codeSystemName="ActCode")
        value.set(f"{{{XSI}}}type", "CD")
        _count(observation, counts[code])
        if sexes is not None:
            by_sex = sexes[code]
            for gender, display in _SEX_CODES:
                _sex_element(
                    observation, gender.value, display, by_sex[gender.value], year, stats.measure_id, code
                )
            if by_sex[_UNKNOWN_SEX]:
                _sex_element(
                    observation, _UNKNOWN_SEX, None, by_sex[_UNKNOWN_SEX], year, stats.measure_id, code
                )
        population_ref = _el(observation, "reference", typeCode="REFR")
        external = _el(population_ref, "externalObservation", classCode="OBS", moodCode="EVN")
        _el(external, "id", root=str(population_ids.get(uuid_key) or _uuid(code, stats.measure_id)))


def qrda3_document(scored: ScoredSync) -> bytes | None:
    """The QRDA III file for the eCQM instances; None when the sync has none."""
    ecqm_stats = [s for s in scored.inputs.stats if s.collection_type == CollectionType.ECQM]
    if not ecqm_stats:
        return None
    inputs = scored.inputs
    settings = inputs.settings
    year = settings.performance_year
    timestamp = inputs.generated_at.strftime("%Y%m%d%H%M%S")
    organization_name = settings.name or settings.aco_id

    namespaces: Any = {None: HL7, "xsi": XSI}
    root = etree.Element(f"{{{HL7}}}ClinicalDocument", nsmap=namespaces)
    _el(root, "realmCode", code="US")
    _el(root, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    _template(root, "2.16.840.1.113883.10.20.27.1.1", "2017-06-01")
    _template(root, "2.16.840.1.113883.10.20.27.1.2", "2024-12-01")
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
    _el(organization, "id", root=APM_ENTITY_ROOT, extension=settings.aco_id)
    _el(organization, "name").text = organization_name

    custodian = _el(_el(_el(root, "custodian"), "assignedCustodian"), "representedCustodianOrganization")
    _el(custodian, "id", root=APM_ENTITY_ROOT, extension=settings.aco_id)
    _el(custodian, "name").text = organization_name
    recipient = _el(_el(root, "informationRecipient"), "intendedRecipient")
    _el(recipient, "id", root=PROGRAM_ROOT, extension="APP_PLUS_APMENTITY")
    authenticator = _el(root, "legalAuthenticator")
    _el(authenticator, "time", value=timestamp)
    _el(authenticator, "signatureCode", code="S")
    entity = _el(authenticator, "assignedEntity")
    _el(entity, "id", root=_uuid("authenticator", settings.aco_id))
    represented = _el(entity, "representedOrganization")
    _el(represented, "id", root=APM_ENTITY_ROOT, extension=settings.aco_id)
    _el(represented, "name").text = organization_name

    service_event = _el(_el(root, "documentationOf", typeCode="DOC"), "serviceEvent", classCode="PCPR")
    period = _el(service_event, "effectiveTime")
    _el(period, "low", value=f"{year}0101")
    _el(period, "high", value=f"{year}1231")
    performer = _el(service_event, "performer", typeCode="PRF")
    performer_time = _el(performer, "time")
    _el(performer_time, "low", value=f"{year}0101")
    _el(performer_time, "high", value=f"{year}1231")
    apm = _el(_el(performer, "assignedEntity"), "representedOrganization")
    _el(apm, "id", root=APM_ENTITY_ROOT, extension=settings.aco_id)
    _el(apm, "name").text = organization_name

    section = _el(_el(_el(_el(root, "component"), "structuredBody"), "component"), "section")
    _template(section, "2.16.840.1.113883.10.20.24.2.2")
    _template(section, "2.16.840.1.113883.10.20.27.2.1", "2020-12-01")
    _template(section, "2.16.840.1.113883.10.20.27.2.3", "2022-05-01")
    _el(section, "code", code="55186-1", codeSystem=LOINC, displayName="measure section")
    _el(section, "title").text = "Measure Section"

    references = _measure_reference_data(year)
    outcomes_by_measure: dict[str, list[PatientOutcome]] = {}
    for outcome in inputs.outcomes:
        if outcome.collection_type == CollectionType.ECQM:
            outcomes_by_measure.setdefault(outcome.measure_id, []).append(outcome)
    for stats in ecqm_stats:
        score = scored.score_for(stats)
        qpp_id = score.qpp_measure_id if score else stats.measure_id
        title = score.title if score else stats.measure_id
        outcomes = outcomes_by_measure.get(stats.measure_id, [])
        # Sex counts only when the outcomes are the whole population (never counts that do not add up).
        sexes = sex_counts(outcomes) if len(outcomes) == stats.eligible_population else None
        _measure_entry(section, stats, title, references.get(qpp_id, {}), year=year, sexes=sexes)

    parameters = _el(_el(section, "entry", typeCode="DRIV"), "act", classCode="ACT", moodCode="EVN")
    _template(parameters, "2.16.840.1.113883.10.20.17.3.8", "2020-12-01")
    _el(parameters, "id", root=_uuid("reporting-parameters", settings.aco_id, str(year)))
    _el(parameters, "code", code="252116004", codeSystem="2.16.840.1.113883.6.96",
        displayName="Observation Parameters")  # fmt: skip
    parameters_time = _el(parameters, "effectiveTime")
    _el(parameters_time, "low", value=f"{year}0101")
    _el(parameters_time, "high", value=f"{year}1231")

    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))
