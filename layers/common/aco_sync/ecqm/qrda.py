"""QRDA Category I adapter: a parsed :class:`~aco_sync.domain.qrda_document.QrdaDocument` ->
:class:`PatientModel`, and :func:`calculate_qrda`, which turns one document into the eCQM
performance records the aggregation engine consumes.

QDM data types map onto the QI-Core vocabulary the measure logic uses:

| QDM (QRDA-I template)                      | model entry                                               |
|--------------------------------------------|-----------------------------------------------------------|
| Encounter, Performed                       | encounter, status ``finished``                            |
| Diagnosis / Symptom                        | condition (``problem-list-item``) / observation (symptom) |
| Laboratory Test, Performed                 | observation, category ``laboratory``, status ``final``    |
| Physical Exam, Performed                   | observation, category ``exam``                            |
| Assessment, Performed                      | observation, category ``survey``                          |
| Diagnostic Study, Performed                | observation                                               |
| Procedure / Intervention, Performed        | procedure, status ``completed``                           |
| Intervention / Procedure / Referral, Order | service request, ``active`` ``order``                     |
| Medication, Order / Active                 | medication request, ``active`` ``order``                  |
| Device, Order                              | device request, ``active`` ``order``                      |
| Payer                                      | coverage                                                  |
| ..., Not Performed (negationInd)           | the same entry, negated, status ``cancelled``, its reason |
| Encounter Diagnosis (inside the encounter) | condition (``encounter-diagnosis``) over the encounter    |

Encounters keep their discharge disposition (``sdtc:dischargeDispositionCode``: Hospice's
"discharged to hospice") and a class: the "Encounter Class" act when the file has one (STU 5.3),
else ``EMER`` / ``IMP`` when the encounter's code is in "Emergency Department Evaluation and
Management Visit" / "Encounter Inpatient". QRDA-I links an observation to its encounter only by time,
so an observation whose time falls within an encounter's relevant period gets that encounter as
``encounter_id`` (an emergency/inpatient one first): the QI-Core ``Observation.encounter`` the CMS165
logic reads to ignore blood pressures taken in an emergency department visit or inpatient stay.

A negated entry whose code is ``nullFlavor="NA"`` with ``sdtc:valueSet`` stands for every code of
that value set. QRDA times carry no usable offset (the reader keeps wall-clock time); they are read
as UTC.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import NotRequired, TypedDict, Unpack

from aws_lambda_powertools import Logger

from aco_sync.domain import qrda_document as q
from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.errors import failure_facts
from aco_sync.domain.records import Gender, IngestIssue, PerformanceRecord
from aco_sync.domain.safe_echo import quoted_if_safe
from aco_sync.ecqm import codes as c
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.engine import evaluate, measurement_period, to_performance_record
from aco_sync.ecqm.measures.cms165 import NON_OUTPATIENT_BP_ENCOUNTER_CLASSES
from aco_sync.ecqm.model import ClinicalEntry, Component, EntryKind, MedicationSupply, PatientModel, Quantity
from aco_sync.ecqm.populations import MeasurePopulations
from aco_sync.ecqm.registry import required_value_sets, supported_measures, supported_years
from aco_sync.ecqm.valuesets import ValueSetLibrary, default_value_sets

logger = Logger(child=True)  # counts and measure ids only: never names, birth dates, MBIs or file names

_ORDER_MOODS = frozenset({"RQO", "ARQ"})
_HAPPENED_MOODS = frozenset({"", "EVN"})
ACT_CODE_OID = "2.16.840.1.113883.5.4"  # HL7 v3 ActCode: the encounter class code system
# The encounter classes a QRDA-I encounter gets from its code when the file states no class.
CLASS_FROM_VALUE_SET = (
    ("Emergency Department Evaluation and Management Visit", "EMER"),
    ("Encounter Inpatient", "IMP"),
)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _codes(codes: Iterable[q.QrdaCode | None], value_sets: ValueSetLibrary) -> frozenset[Code]:
    result: set[Code] = set()
    for code in codes:
        if code is None:
            continue
        for single in code.all_codes():
            if single.code:
                result.add(Code.of(single.system, single.code))
        if code.value_set and not code.code:
            with contextlib.suppress(KeyError):  # a value set the engine does not use
                result |= value_sets.codes(code.value_set)
    return frozenset(result)


def _value(entry: q.QrdaEntry, value_sets: ValueSetLibrary) -> tuple[Quantity | None, frozenset[Code], bool]:
    quantity: Quantity | None = None
    coded: list[q.QrdaCode] = []
    for value in entry.values:
        if isinstance(value, q.QrdaQuantity) and quantity is None:
            quantity = Quantity(float(value.value), value.unit or "")
        elif isinstance(value, q.QrdaCode):
            coded.append(value)
    # an organizer's (or a nested "Result") observation values
    for component in entry.components:
        if component.kind in (q.QrdaEntryKind.RESULT, q.QrdaEntryKind.LAB_RESULT, q.QrdaEntryKind.OTHER):
            for value in component.values:
                if isinstance(value, q.QrdaQuantity) and quantity is None:
                    quantity = Quantity(float(value.value), value.unit or "")
                elif isinstance(value, q.QrdaCode):
                    coded.append(value)
    codes = _codes(coded, value_sets)
    has_value = quantity is not None or bool(codes) or any(isinstance(v, q.TextValue) for v in entry.values)
    return quantity, codes, has_value


def _times(entry: q.QrdaEntry) -> tuple[datetime | None, datetime | None]:
    if entry.effective_low is not None or entry.effective_high is not None:
        low = entry.effective_low or entry.effective_high
        return _utc(low), _utc(entry.effective_high)
    moment = _utc(entry.effective_time)
    return moment, moment


def to_entry(entry: q.QrdaEntry, value_sets: ValueSetLibrary) -> ClinicalEntry | None:
    """One top-level QRDA-I entry as a :class:`ClinicalEntry`, or None when no measure uses it."""
    codes = _codes(entry.codes, value_sets)
    datatype, mood = entry.qdm_datatype or "", (entry.mood_code or "").upper()
    if "Recommended" in datatype:
        return None
    is_order = mood in _ORDER_MOODS or "Order" in datatype
    if not is_order and mood not in _HAPPENED_MOODS:
        return None  # intended/proposed, not done
    start, end = _times(entry)
    reason = _codes([entry.negation_reason], value_sets)
    authored = _utc(entry.author_time) or start
    eid = entry.entry_id or ""
    kind = entry.kind
    if kind == q.QrdaEntryKind.ENCOUNTER:
        if is_order or entry.negated:
            return None
        status = "in-progress" if (entry.status or "").lower() == "active" else "finished"
        return ClinicalEntry(
            kind=EntryKind.ENCOUNTER,
            status=status,
            start=start,
            end=end,
            codes=codes,
            id=eid,
            encounter_class=_encounter_class(entry, codes, value_sets),
            discharge_disposition=_codes([entry.discharge_disposition], value_sets),
        )
    if kind == q.QrdaEntryKind.DIAGNOSIS:
        if entry.negated:
            return None
        return ClinicalEntry(
            kind=EntryKind.CONDITION,
            categories=frozenset({"problem-list-item"}),
            start=start,
            end=_utc(entry.effective_high),
            clinical_status="active" if entry.effective_high is None else "resolved",
            codes=codes,
            id=eid,
        )
    categories = {
        q.QrdaEntryKind.LAB_RESULT: frozenset({"laboratory"}),
        q.QrdaEntryKind.PHYSICAL_EXAM: frozenset({"exam", "vital-signs"}),
        q.QrdaEntryKind.ASSESSMENT: frozenset({"survey"}),
        q.QrdaEntryKind.DIAGNOSTIC_STUDY: frozenset({"imaging"}),
        q.QrdaEntryKind.SYMPTOM: frozenset(),
    }
    if kind in categories:
        if is_order and not entry.negated:
            return None
        quantity, value_codes, has_value = _value(entry, value_sets)
        components = tuple(
            Component(_codes(nested.codes, value_sets), Quantity(float(value.value), value.unit or ""))
            for nested in entry.components
            for value in nested.values[:1]
            if isinstance(value, q.QrdaQuantity) and nested.codes
        )
        return ClinicalEntry(
            kind=EntryKind.OBSERVATION,
            components=components,
            status="cancelled" if entry.negated else "final",
            categories=categories[kind],
            start=start,
            end=end,
            issued=authored,
            value_quantity=quantity,
            value_codes=value_codes,
            has_value=has_value,
            negated=entry.negated,
            not_done_reason=reason,
            codes=codes,
            id=eid,
        )
    if kind in (q.QrdaEntryKind.PROCEDURE, q.QrdaEntryKind.INTERVENTION):
        if entry.negated:
            return None  # not performed / not ordered: no procedure and no order
        if is_order:
            return ClinicalEntry(
                kind=EntryKind.SERVICE_REQUEST,
                status="active",
                intent="order",
                authored_on=authored,
                codes=codes,
                id=eid,
            )
        return ClinicalEntry(
            kind=EntryKind.PROCEDURE, status="completed", start=start, end=end, codes=codes, id=eid
        )
    if kind == q.QrdaEntryKind.MEDICATION:
        if entry.negated:
            return None
        if not (is_order or "Active" in datatype):
            return None
        return ClinicalEntry(
            kind=EntryKind.MEDICATION_REQUEST,
            status="active",
            intent="order",
            authored_on=authored,
            supply=MedicationSupply(bounds_start=start, bounds_end=end),
            codes=codes,
            id=eid,
        )
    if kind == q.QrdaEntryKind.DEVICE:
        if not is_order:
            return None
        return ClinicalEntry(
            kind=EntryKind.DEVICE_REQUEST,
            status="active",
            intent="order",
            authored_on=authored,
            do_not_perform=entry.negated,
            codes=codes,
            id=eid,
        )
    if kind == q.QrdaEntryKind.PAYER:
        return ClinicalEntry(
            kind=EntryKind.COVERAGE, status="active", start=start, end=end, codes=codes, id=eid
        )
    return None


def _encounter_class(entry: q.QrdaEntry, codes: frozenset[Code], value_sets: ValueSetLibrary) -> str:
    """The v3 ActCode class of a QRDA-I encounter: the file's "Encounter Class" when it has one, else
    EMER / IMP from the encounter's code (the value sets the QDM measures name), else unknown."""
    stated = entry.encounter_class
    if stated is not None:
        for single in stated.all_codes():
            if single.code and single.system in (None, ACT_CODE_OID):
                return single.code.upper()
    for value_set, encounter_class in CLASS_FROM_VALUE_SET:
        with contextlib.suppress(KeyError):  # a user library without it: no class
            if not value_sets.codes(value_set).isdisjoint(codes):
                return encounter_class
    return ""


def encounter_diagnosis_conditions(
    entry: q.QrdaEntry, encounter: ClinicalEntry, value_sets: ValueSetLibrary
) -> list[ClinicalEntry]:
    """The diagnoses of a performed encounter as conditions (QI-Core ``encounter-diagnosis``, which
    ``[Condition: ...]`` retrieves see, e.g. a hospice or advanced-illness diagnosis made at the visit).
    QRDA-I gives them no time of their own: their prevalence is the encounter's period."""
    start = encounter.start
    end = encounter.end if encounter.end is not None else start
    return [
        ClinicalEntry(
            kind=EntryKind.CONDITION,
            categories=frozenset({"encounter-diagnosis"}),
            start=start,
            end=end,
            clinical_status="active" if end is None else "resolved",
            codes=_codes([diagnosis.code], value_sets),
            id=f"{encounter.id}#diagnosis-{index}" if encounter.id else "",
        )
        for index, diagnosis in enumerate(entry.diagnoses, start=1)
    ]


def _unique_encounter_ids(entries: list[ClinicalEntry]) -> list[ClinicalEntry]:
    """QRDA-I entry ids are not always present or unique (fixture 31_): give every encounter an id
    of its own so that an observation's ``encounter_id`` names exactly one encounter."""
    seen: set[str] = set()
    result = []
    for number, entry in enumerate(entries, start=1):
        if entry.kind == EntryKind.ENCOUNTER and (not entry.id or entry.id in seen):
            entry = dataclasses.replace(entry, id=f"{entry.id or 'encounter'}#{number}")
        if entry.kind == EntryKind.ENCOUNTER:
            seen.add(entry.id)
        result.append(entry)
    return result


def _during(moment: datetime, encounter: ClinicalEntry) -> bool:
    """``moment during encounter.relevantPeriod`` at instant precision. An encounter without an end
    lasts until now only while it is in progress (statusCode active); a finished one without an end
    is only its start (else one undated discharge would swallow every later reading)."""
    if encounter.start is None:
        return False
    end = encounter.end
    if end is None:
        return encounter.start <= moment if encounter.status == "in-progress" else moment == encounter.start
    return encounter.start <= moment <= end


def link_observations_to_encounters(
    entries: list[ClinicalEntry], non_outpatient_classes: frozenset[str]
) -> list[ClinicalEntry]:
    """Set ``encounter_id`` of each observation to the performed encounter its time (``latest()``)
    falls within, preferring one whose class is in ``non_outpatient_classes`` (emergency, inpatient
    ...): QRDA-I expresses the relation of a reading to an encounter only by time."""
    encounters = [e for e in entries if e.kind == EntryKind.ENCOUNTER and e.start is not None]
    if not encounters:
        return entries
    preferred = [e for e in encounters if e.encounter_class in non_outpatient_classes]
    others = [e for e in encounters if e.encounter_class not in non_outpatient_classes]
    moments = sorted(
        (entry.latest, index)
        for index, entry in enumerate(entries)
        if entry.kind == EntryKind.OBSERVATION and not entry.encounter_id and entry.latest is not None
    )
    found: dict[int, str] = {}
    for group in (preferred, others):  # a preferred (non-outpatient) encounter wins, then document order
        for index, encounter in _first_encounter_during(
            group, [(m, i) for m, i in moments if i not in found]
        ):
            found[index] = encounter.id
    return [
        dataclasses.replace(entry, encounter_id=found[index]) if index in found else entry
        for index, entry in enumerate(entries)
    ]


def _first_encounter_during(
    encounters: list[ClinicalEntry], moments: list[tuple[datetime, int]]
) -> Iterator[tuple[int, ClinicalEntry]]:
    """For each (moment, index) in moment order, the first encounter (in document order) that the moment
    is ``_during``: a sweep over the encounters by start, keeping the started ones in a heap by document
    order and dropping those that ended before the moment (moments only grow). O((n + m) log n), where
    testing every encounter for every observation was O(n * m)."""
    spans = []
    for order, encounter in enumerate(encounters):
        start = encounter.start
        assert start is not None
        end = encounter.end
        if end is None:
            end = datetime.max.replace(tzinfo=start.tzinfo) if encounter.status == "in-progress" else start
        spans.append((start, end, order))
    spans.sort(key=lambda span: span[0])
    started: list[tuple[int, datetime]] = []  # (document order, end)
    next_span = 0
    for moment, index in moments:
        while next_span < len(spans) and spans[next_span][0] <= moment:
            start, end, order = spans[next_span]
            heapq.heappush(started, (order, end))
            next_span += 1
        while started and started[0][1] < moment:
            heapq.heappop(started)  # ended before this moment, so before every later one
        if started:
            yield index, encounters[started[0][0]]


def patient_from_qrda(
    doc: q.QrdaDocument, value_sets: ValueSetLibrary | None = None, *, performance_year: int | None = None
) -> PatientModel:
    """The patient model of one QRDA-I document (codes given as a value set are expanded with the
    performance year's value sets; default: the year of the document's reporting period). Raises
    ValueError without a birth date."""
    if doc.birth_date is None:
        raise ValueError(f"{doc.file_name}: the patient has no birth date (recordTarget birthTime)")
    if value_sets is None:
        year = performance_year or (doc.reporting_period_start.year if doc.reporting_period_start else None)
        library = default_value_sets(year if year in supported_years() else max(supported_years()))
    else:
        library = value_sets
    entries: list[ClinicalEntry] = []
    for qrda_entry in doc.entries:
        entry = to_entry(qrda_entry, library)
        if entry is None:
            continue
        entries.append(entry)
        if entry.kind == EntryKind.ENCOUNTER and qrda_entry.diagnoses:
            entries.extend(encounter_diagnosis_conditions(qrda_entry, entry, library))
    entries = link_observations_to_encounters(
        _unique_encounter_ids(entries), NON_OUTPATIENT_BP_ENCOUNTER_CLASSES
    )
    return PatientModel(
        patient_id=doc.document_id or doc.file_name,
        birth_date=doc.birth_date,
        gender=doc.gender,
        sex=_SEX_BY_GENDER.get(doc.gender, ""),
        first_name=doc.first_name or "",
        last_name=doc.family_name or "",
        mbi=doc.mbi,
        entries=entries,
    )


# QDM administrative sex -> the SNOMED CT sex code the PY2026 QI-Core logic reads (us-core-sex)
_SEX_BY_GENDER = {Gender.FEMALE: c.FEMALE_FINDING.code, Gender.MALE: "248153007"}


def measures_to_calculate(doc: q.QrdaDocument, performance_year: int) -> tuple[list[str], list[str]]:
    """(measure ids to calculate, measures referenced that ACO Sync does not calculate)."""
    supported = supported_measures(performance_year)
    in_scope = [m for m in doc.catalog_measure_ids if m in supported]
    others = [
        m.ecqm_id or m.title or m.set_id or m.version_specific_id or "?"
        for m in doc.measures
        if m.catalog_measure_id not in supported
    ]
    return in_scope, others


class QrdaCalculation(TypedDict):
    """What a QRDA-I document is calculated for: the clinic's TIN, the file, the performance year and,
    optionally, another measurement period (default: the performance year) or value sets."""

    tin: str
    source_file: str
    performance_year: int
    period: NotRequired[tuple[date, date] | None]
    value_sets: NotRequired[ValueSetLibrary | None]


def calculate_qrda(
    doc: q.QrdaDocument, **calculation: Unpack[QrdaCalculation]
) -> tuple[list[PerformanceRecord], list[IngestIssue]]:
    """One eCQM :class:`PerformanceRecord` per measure whose denominator the patient is in, plus
    issues for what could not be calculated. ``period`` defaults to the performance year."""
    records, issues, _ = calculate_qrda_detailed(doc, **calculation)
    return records, issues


def calculate_qrda_detailed(
    doc: q.QrdaDocument,
    *,
    tin: str,
    source_file: str,
    performance_year: int,
    period: tuple[date, date] | None = None,
    value_sets: ValueSetLibrary | None = None,
) -> tuple[list[PerformanceRecord], list[IngestIssue], dict[str, MeasurePopulations]]:
    """:func:`calculate_qrda` plus the populations of every measure calculated (for the CLI)."""
    period_of_year = period or measurement_period(performance_year)
    issues: list[IngestIssue] = []

    def issue(reason: str, code: str, severity: str = "warning") -> None:
        issues.append(IngestIssue(file=source_file, reason=reason, severity=severity, code=code, tin=tin))

    if performance_year not in supported_years():
        issue(
            f"eCQM performances not calculated: ACO Sync has the eCQM specifications of performance years "
            f"{', '.join(map(str, supported_years()))}, not {performance_year}",
            "ecqm_year_not_supported",
            severity="error",
        )
        return [], issues, {}
    missing = [
        label
        for label, present in (
            ("birth date", doc.birth_date is not None),
            ("first name", bool(doc.first_name)),
            ("last name", bool(doc.family_name)),
        )
        if not present
    ]
    if missing:
        issue(
            f"eCQM performances not calculated: the patient's {', '.join(missing)} is missing "
            "(recordTarget/patientRole/patient)",
            "ecqm_missing_demographics",
            severity="error",
        )
        return [], issues, {}

    supported = supported_measures(performance_year)
    measure_ids, others = measures_to_calculate(doc, performance_year)
    if others:
        # only references of a measure id's shape are named: a title or set id is document text
        named = [o for o in others if quoted_if_safe(o, "measure")]
        unnamed = len(others) - len(named)
        listed = ", ".join([*named, *([f"{unnamed} other measure reference(s)"] if unnamed else [])])
        issue(
            f"Measure(s) {listed} referenced by the document are not calculated by ACO Sync "
            f"(eCQM measures in scope: {', '.join(_ecqm_names(supported))})",
            "ecqm_measure_not_in_scope",
        )
    if not measure_ids:
        measure_ids = list(supported)
        issue(
            "The document references none of the measures in scope; calculated all of them: "
            + ", ".join(_ecqm_names(measure_ids)),
            "ecqm_no_measure_referenced",
        )
    start, end = doc.reporting_period_start, doc.reporting_period_end
    if start is not None and end is not None and not (start.year == end.year == period_of_year[0].year):
        issue(
            # the document's own dates are not quoted: in a damaged file they can be any date
            "The document's reporting period is not the measurement "
            f"period {period_of_year[0]} to {period_of_year[1]}; data outside it does not count",
            "ecqm_period_mismatch",
        )

    library = default_value_sets(performance_year) if value_sets is None else value_sets
    patient = patient_from_qrda(doc, library)
    context = MeasureContext(
        patient,
        period_of_year,
        library,
        performance_year=performance_year,
        required_value_sets=required_value_sets(measure_ids, performance_year),
    )
    results: dict[str, MeasurePopulations] = {}
    for measure_id in measure_ids:
        try:
            results[measure_id] = evaluate(
                patient, measure_id, period_of_year, performance_year=performance_year, context=context
            )
        except (ArithmeticError, TypeError, ValueError, KeyError) as exc:  # one measure, not the file
            logger.error("eCQM calculation failed", extra={"measure_id": measure_id, **failure_facts(exc)})
            issue(
                f"eCQM calculation of {_ecqm_names([measure_id])[0]} failed ({type(exc).__name__}); "
                "the other measures of the file were calculated",
                "ecqm_calculation_failed",
                severity="error",
            )
    records = []
    for measure_id, populations in results.items():
        record = to_performance_record(
            patient,
            populations,
            tin=tin,
            source_key=f"{tin}:qrda:{source_file}:{measure_id}",
            source_file=source_file,
            npi=doc.npis[0] if doc.npis else None,
            member_patient_id=str(doc.other_ids[0]) if doc.other_ids else None,
        )
        if record is not None:
            records.append(record)
    logger.debug(
        "eCQM calculated",
        extra={"measures": sorted(results), "records": len(records), "issues": len(issues)},
    )
    return records, issues, results


def _ecqm_names(measure_ids: Iterable[str]) -> list[str]:
    catalog = default_catalog()
    return [f"{catalog.get(m).ecqm_id} ({m})" for m in measure_ids]


__all__ = [
    "calculate_qrda",
    "calculate_qrda_detailed",
    "encounter_diagnosis_conditions",
    "link_observations_to_encounters",
    "measures_to_calculate",
    "patient_from_qrda",
    "to_entry",
]
