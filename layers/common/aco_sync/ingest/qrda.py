"""Read QRDA Category I documents (one patient each).

``parse_qrda`` turns one XML file into a :class:`QrdaDocument` or raises :class:`QrdaRejectedError`
with a reason a user understands; ``read_qrda_upload`` reads an ``.xml`` or a ``.zip`` of many and
never raises for one bad file (it returns an :class:`IngestIssue` in its place).

The module is in four parts, each read on its own: :mod:`~aco_sync.ingest.qrda_safety` (limits, the
safe parser, zip bombs), :mod:`~aco_sync.ingest.qrda_templates` (the template table, as data),
:mod:`~aco_sync.ingest.qrda_elements` (small element readers) and the document reader below.
Nothing here touches the network.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath

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
    EntryKind,
    EntryValue,
    FacilityLocation,
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
from aco_sync.ingest.qrda_elements import (
    T_AUTHOR,
    T_CODE,
    T_COMPONENT,
    T_EFFECTIVE_TIME,
    T_ENTRY,
    T_ENTRY_RELATIONSHIP,
    T_HIGH,
    T_ID,
    T_LOW,
    T_SECTION,
    T_STATUS,
    T_TEMPLATE_ID,
    T_TIME,
    T_VALUE,
    code_of,
    discharge_disposition,
    encounter_class,
    encounter_diagnoses,
    entry_template_numbers,
    identifier_of,
    line_of,
    local_name,
    template_ids,
    v3,
)
from aco_sync.ingest.qrda_safety import parse_xml, read_zip
from aco_sync.ingest.qrda_schema import schema_problems
from aco_sync.ingest.qrda_templates import (
    ADMINISTRATIVE_GENDER_OID,
    CLINICAL_STATEMENTS,
    ENTRY_TEMPLATES,
    MEASURE_SECTION_TEMPLATES,
    PRODUCT_KINDS,
    QRDA_I_DOCUMENT_TEMPLATES,
    QRDA_III_DOCUMENT_TEMPLATE,
    REPORTING_PARAMETERS_ACT,
    REPORTING_PARAMETERS_SECTION,
    VALUE_IS_CONCEPT_KINDS,
    WRAPPER_TEMPLATES,
    XSI_TYPE,
)


def parse_qrda(data: bytes, *, file_name: str, catalog: MeasureCatalog | None = None) -> QrdaDocument:
    """Parse one QRDA Category I document. Raises :class:`QrdaRejectedError` when it cannot be used."""
    root = parse_xml(data)
    return _DocumentReader(root, file_name, catalog or default_catalog()).read()


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
        return read_zip(
            file_name,
            data,
            lambda content, name: _parse_or_issue(content, name, catalog),
            {} if seen is None else seen,
        )
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


class _DocumentReader:
    def __init__(self, root: etree._Element, file_name: str, catalog: MeasureCatalog) -> None:
        self.root = root
        self.file_name = file_name
        self.catalog = catalog
        self.warnings: list[QrdaWarning] = []

    def warn(self, message: str, element: etree._Element | None = None, code: str = "") -> None:
        self.warnings.append(QrdaWarning(message, line_of(element) if element is not None else None, code))

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
        if root.tag != v3("ClinicalDocument"):
            raise QrdaRejectedError(
                "Not a QRDA Category I file: the root element is not an HL7 CDA <ClinicalDocument> "
                "(namespace urn:hl7-org:v3).",
                line=line_of(root),
                code="not_qrda_cat1",
            )
        templates = template_ids(root)
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
        patient_role = root.find(f"{v3('recordTarget')}/{v3('patientRole')}")
        if patient_role is None:
            raise QrdaRejectedError(
                "The file has no patient (recordTarget/patientRole).",
                line=line_of(root),
                code="missing_patient",
            )
        if len(root.findall(v3("recordTarget"))) > 1:
            raise QrdaRejectedError(
                "The file names more than one patient (recordTarget); QRDA-I holds exactly one.",
                code="several_patients",
            )
        patient = patient_role.find(v3("patient"))
        if patient is None:
            raise QrdaRejectedError(
                "The file has no patient demographics (patientRole/patient).",
                line=line_of(patient_role),
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
            race=code_of(patient.find(v3("raceCode"))),
            ethnicity=code_of(patient.find(v3("ethnicGroupCode"))),
            patient_ids=tuple(
                identifier_of(i) for i in patient_role.iterchildren(T_ID) if not i.get("nullFlavor")
            ),
            tins=tins,
            npis=npis,
            reporting_period_start=period_start,
            reporting_period_end=period_end,
            measures=measures,
            document_templates=templates,
            entries=entries,
            warnings=tuple(self.warnings),
            document_id=str(identifier_of(document_id)) if document_id is not None else None,
        )

    def _name(self, patient: etree._Element) -> tuple[tuple[str, ...], str]:
        names = patient.findall(v3("name"))
        legal = [n for n in names if "L" in (n.get("use") or "L").split()]
        if not names:
            raise QrdaRejectedError("The patient has no name.", line=line_of(patient), code="missing_name")
        name = (legal or names)[0]
        given = tuple(
            " ".join(g.text.split())
            for g in name.iterchildren(v3("given"))
            if g.text and g.text.strip() and "CL" not in (g.get("qualifier") or "").split()  # CL: a nickname
        )
        family_parts = [
            " ".join(f.text.split()) for f in name.iterchildren(v3("family")) if f.text and f.text.strip()
        ]
        if not family_parts:
            raise QrdaRejectedError(
                "The patient has no family (last) name.", line=line_of(name), code="missing_name"
            )
        if not given:
            raise QrdaRejectedError(
                "The patient has no given (first) name.", line=line_of(name), code="missing_name"
            )
        return given, " ".join(family_parts)

    def _birth_time(self, patient: etree._Element) -> datetime:
        element = patient.find(v3("birthTime"))
        value = element.get("value") if element is not None else None
        if not value:
            raise QrdaRejectedError(
                "The patient has no birth date (patient/birthTime).",
                line=line_of(element if element is not None else patient),
                code="missing_birth_date",
            )
        try:
            born = parse_hl7_timestamp(value)
        except ValueError:
            raise QrdaRejectedError(
                "The patient's birth date (patient/birthTime) is not a valid date.",
                line=line_of(element) if element is not None else None,
                code="invalid_date",
            ) from None
        if born.date() > date.today() or born.year < 1900:  # the same rule as the templates' birth dates
            raise QrdaRejectedError(
                "The patient's birth date (patient/birthTime) is "
                + ("in the future." if born.year >= 1900 else "before 1900."),
                line=line_of(element) if element is not None else None,
                code="invalid_date",
            )
        return born

    def _gender(self, patient: etree._Element) -> tuple[Gender, Code | None]:
        element = patient.find(v3("administrativeGenderCode"))
        code = code_of(element)
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
            f"{v3('documentationOf')}/{v3('serviceEvent')}/{v3('performer')}/{v3('assignedEntity')}"
        )
        tin_elements = [i for p in performers for i in p.iterfind(f"{v3('representedOrganization')}/{T_ID}")]
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
            if child.tag in (v3("component"), v3("recordTarget")):
                continue
            found.extend(child.iter(T_ID))
        return found

    def _sections(self) -> list[etree._Element]:
        return self.root.findall(f"{T_COMPONENT}/{v3('structuredBody')}/{T_COMPONENT}/{T_SECTION}")

    def _reporting_period(self) -> tuple[datetime | None, datetime | None]:
        for act in self.root.iter(v3("act")):
            if any(t.get("root") == REPORTING_PARAMETERS_ACT for t in act.iterchildren(T_TEMPLATE_ID)):
                effective = act.find(T_EFFECTIVE_TIME)
                if effective is not None:
                    start = self.time(effective.find(T_LOW), "reporting period start")
                    end = self.time(effective.find(T_HIGH), "reporting period end")
                    return start, end
        service_time = self.root.find(f"{v3('documentationOf')}/{v3('serviceEvent')}/{T_EFFECTIVE_TIME}")
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
        documents = [d for section in measure_sections for d in section.iter(v3("externalDocument"))]
        for document in documents:
            version_id = ecqm_number = None
            for identifier in document.iterchildren(T_ID):
                if identifier.get("root") == EMEASURE_VERSION_ID_ROOT and identifier.get("extension"):
                    version_id = identifier.get("extension")
                elif identifier.get("root") == ECQM_NUMBER_ROOT:
                    ecqm_number = identifier.get("extension")
                elif version_id is None and identifier.get("root") and not identifier.get("extension"):
                    version_id = identifier.get("root")  # R1 (2012) files put the GUID in root
            set_id_element = document.find(v3("setId"))
            set_id = set_id_element.get("root") if set_id_element is not None else None
            version_element = document.find(v3("versionNumber"))
            title_text = document.findtext(v3("text"))
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
                    if local_name(statement.tag) in CLINICAL_STATEMENTS:
                        entries.append(self._statement(statement))
        return tuple(entries)

    def _statement(self, element: etree._Element) -> QrdaEntry:
        templates = template_ids(element)
        numbers = entry_template_numbers(templates)
        if any(n in WRAPPER_TEMPLATES for n in numbers):
            inner = self._wrapped(element)
            if inner is not None:
                return self._merge_wrapper(element, templates, inner)
        kind, datatype = next(
            (ENTRY_TEMPLATES[n] for n in numbers if n in ENTRY_TEMPLATES), (EntryKind.OTHER, None)
        )
        components = tuple(self._statement(child) for child in self._nested(element))
        element_code = code_of(element.find(T_CODE))
        raw_values = [v for v in element.iterchildren(T_VALUE)]
        codes: tuple[Code, ...] = ()
        values_used_as_codes: set[int] = set()
        if kind in VALUE_IS_CONCEPT_KINDS:
            codes = self._participant_codes(element, "playingEntity")
            if not codes:
                for index, value in enumerate(raw_values):
                    code = code_of(value)
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
                    for material in element.iter(v3("manufacturedMaterial"))
                    for code in [code_of(material.find(T_CODE))]
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
        is_encounter = kind is EntryKind.ENCOUNTER or local_name(element.tag) == "encounter"
        return QrdaEntry(
            kind=kind,
            qdm_datatype=datatype,
            template_ids=templates,
            element=local_name(element.tag),
            class_code=element.get("classCode"),
            mood_code=element.get("moodCode"),
            ids=tuple(identifier_of(i) for i in element.iterchildren(T_ID)),
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
            line=line_of(element),
            discharge_disposition=discharge_disposition(element) if is_encounter else None,
            encounter_class=encounter_class(element) if is_encounter else None,
            diagnoses=encounter_diagnoses(components) if is_encounter else (),
            facility_locations=self._facility_locations(element) if is_encounter else (),
        )

    def _facility_locations(self, element: etree._Element) -> tuple[FacilityLocation, ...]:
        """``participant typeCode="LOC"`` of an encounter (Facility Location, template 24.3.100)."""
        locations = []
        for participant in element.iterchildren(v3("participant")):
            if (participant.get("typeCode") or "").upper() != "LOC":
                continue
            role = participant.find(v3("participantRole"))
            code = code_of(role.find(T_CODE)) if role is not None else None
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
                if local_name(child.tag) in CLINICAL_STATEMENTS and child.find(T_TEMPLATE_ID) is not None:
                    nested.append(child)
        return nested

    def _wrapped(self, element: etree._Element) -> etree._Element | None:
        for child in self._nested(element):
            if any(n in ENTRY_TEMPLATES for n in entry_template_numbers(template_ids(child))):
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
            ids=entry.ids or tuple(identifier_of(i) for i in wrapper.iterchildren(T_ID)),
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
            line=line_of(wrapper),
            discharge_disposition=entry.discharge_disposition,
            encounter_class=entry.encounter_class,
            diagnoses=entry.diagnoses,
            facility_locations=entry.facility_locations,
        )

    def _participant_codes(self, element: etree._Element, playing: str) -> tuple[Code, ...]:
        codes = []
        for participant in element.iterchildren(v3("participant")):
            for code_element in participant.iterfind(f"{v3('participantRole')}/{v3(playing)}/{T_CODE}"):
                code = code_of(code_element)
                if code is not None:
                    codes.append(code)
        return tuple(codes)

    def _product_codes(self, element: etree._Element) -> tuple[Code, ...]:
        codes = []
        for holder in ("consumable", "product"):
            path = f"{v3(holder)}/{v3('manufacturedProduct')}/{v3('manufacturedMaterial')}/{T_CODE}"
            for code_element in element.iterfind(path):
                code = code_of(code_element)
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
            return code_of(element)
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
