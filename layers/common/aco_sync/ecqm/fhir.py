"""FHIR R4 (QI-Core) adapter: a Patient and its resources -> :class:`PatientModel`.

Accepts the resources of one patient as dicts (one JSON per resource, a Bundle's entries, or both).
Resource types the measures do not use (Practitioner, Organization, MeasureReport ...) are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.records import Gender
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.model import ClinicalEntry, Component, EntryKind, MedicationSupply, PatientModel, Quantity

DO_NOT_PERFORM_URL = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerform"
NOT_DONE_REASON_URL = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason"
NOT_DONE_URL = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDone"
MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"
US_CORE_SEX_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-sex"

_KINDS = {
    "Encounter": EntryKind.ENCOUNTER,
    "Condition": EntryKind.CONDITION,
    "Observation": EntryKind.OBSERVATION,
    "Procedure": EntryKind.PROCEDURE,
    "MedicationRequest": EntryKind.MEDICATION_REQUEST,
    "ServiceRequest": EntryKind.SERVICE_REQUEST,
    "DeviceRequest": EntryKind.DEVICE_REQUEST,
    "Coverage": EntryKind.COVERAGE,
}
_UNIT_DAYS = {
    "d": 1.0,
    "day": 1.0,
    "days": 1.0,
    "wk": 7.0,
    "week": 7.0,
    "weeks": 7.0,
    "mo": 30.0,
    "month": 30.0,
    "months": 30.0,
    "a": 365.0,
    "year": 365.0,
    "years": 365.0,
    "h": 1 / 24,
    "hour": 1 / 24,
    "hours": 1 / 24,
    "min": 1 / 1440,
}


def parse_datetime(text: str | None) -> datetime | None:
    """A FHIR date/dateTime/instant as an aware UTC datetime (partial dates: first instant)."""
    if not text:
        return None
    value = text.strip()
    try:
        if len(value) == 4:
            return datetime(int(value), 1, 1, tzinfo=UTC)
        if len(value) == 7:
            return datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=UTC)
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"invalid FHIR date/time {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _codes(concept: Mapping[str, Any] | None) -> frozenset[Code]:
    if not concept:
        return frozenset()
    return frozenset(
        Code.of(coding.get("system"), str(coding["code"]))
        for coding in concept.get("coding", [])
        if coding.get("code") is not None
    )


def _codes_of_list(concepts: Iterable[Mapping[str, Any]] | None) -> frozenset[Code]:
    result: set[Code] = set()
    for concept in concepts or ():
        result |= _codes(concept)
    return frozenset(result)


def _code_values(concepts: Iterable[Mapping[str, Any]] | None) -> frozenset[str]:
    return frozenset(code.code for code in _codes_of_list(concepts))


def _quantity(value: Mapping[str, Any] | None) -> Quantity | None:
    if not value or value.get("value") is None:
        return None
    return Quantity(float(value["value"]), str(value.get("code") or value.get("unit") or ""))


def _timing(resource: Mapping[str, Any], prefix: str) -> tuple[datetime | None, datetime | None]:
    """``<prefix>DateTime`` / ``<prefix>Period`` / ``<prefix>Instant`` -> (start, end)."""
    for suffix in ("DateTime", "Instant"):
        if f"{prefix}{suffix}" in resource:
            moment = parse_datetime(resource[f"{prefix}{suffix}"])
            return moment, moment
    period = resource.get(f"{prefix}Period")
    if period:
        return parse_datetime(period.get("start")), parse_datetime(period.get("end"))
    return None, None


def _extension(resource: Mapping[str, Any], url: str, *, modifier: bool = False) -> Mapping[str, Any] | None:
    for ext in resource.get("modifierExtension" if modifier else "extension", []) or []:
        if ext.get("url") == url:
            return ext  # type: ignore[no-any-return]
    return None


def _reference_id(reference: Mapping[str, Any] | None) -> str:
    text = (reference or {}).get("reference") or ""
    return text.rsplit("/", 1)[-1]


def _value(resource: Mapping[str, Any]) -> tuple[Quantity | None, frozenset[Code], bool]:
    quantity = _quantity(resource.get("valueQuantity"))
    value_codes = _codes(resource.get("valueCodeableConcept"))
    has_value = any(key.startswith("value") and resource[key] is not None for key in resource)
    return quantity, value_codes, has_value


def _medication_supply(resource: Mapping[str, Any]) -> MedicationSupply:
    dispense = resource.get("dispenseRequest") or {}
    days_supply = None
    duration = dispense.get("expectedSupplyDuration")
    if duration and duration.get("value") is not None:
        unit = str(duration.get("code") or duration.get("unit") or "d")
        days_supply = float(duration["value"]) * _UNIT_DAYS.get(unit, 1.0)
    quantity = (dispense.get("quantity") or {}).get("value")
    dosages = resource.get("dosageInstruction") or []
    dose = doses_per_day = None
    bounds_start = bounds_end = None
    if len(dosages) == 1:
        dosage = dosages[0]
        dose_and_rate = dosage.get("doseAndRate") or []
        if len(dose_and_rate) == 1:
            dose_value = dose_and_rate[0].get("doseQuantity") or (
                dose_and_rate[0].get("doseRange") or {}
            ).get("high")
            if dose_value and dose_value.get("value") is not None:
                dose = float(dose_value["value"])
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        frequency = repeat.get("frequencyMax", repeat.get("frequency"))
        if frequency is not None and repeat.get("period"):
            period_days = float(repeat["period"]) * _UNIT_DAYS.get(str(repeat.get("periodUnit", "d")), 1.0)
            doses_per_day = float(frequency) / period_days if period_days else None
        elif repeat.get("timeOfDay"):
            doses_per_day = float(len(repeat["timeOfDay"]))
        bounds = repeat.get("boundsPeriod") or {}
        bounds_start, bounds_end = parse_datetime(bounds.get("start")), parse_datetime(bounds.get("end"))
    validity = dispense.get("validityPeriod") or {}
    return MedicationSupply(
        days_supply=days_supply,
        quantity=float(quantity) if quantity is not None else None,
        dose=dose,
        doses_per_day=doses_per_day,
        refills=int(dispense.get("numberOfRepeatsAllowed") or 0),
        bounds_start=bounds_start,
        bounds_end=bounds_end,
        validity_start=parse_datetime(validity.get("start")),
    )


def _do_not_perform(resource: Mapping[str, Any]) -> bool:
    ext = _extension(resource, DO_NOT_PERFORM_URL, modifier=True)
    return bool(resource.get("doNotPerform")) or bool(ext and ext.get("valueBoolean"))


def _medication_codes(
    resource: Mapping[str, Any], medications: Mapping[str, frozenset[Code]]
) -> frozenset[Code]:
    """``medicationCodeableConcept``, else the code of the Medication ``medicationReference`` names
    (contained, or among the patient's resources)."""
    if resource.get("medicationCodeableConcept"):
        return _codes(resource["medicationCodeableConcept"])
    reference = ((resource.get("medicationReference") or {}).get("reference") or "").lstrip("#")
    contained = {
        str(r.get("id")): _codes(r.get("code"))
        for r in resource.get("contained", []) or []
        if r.get("resourceType") == "Medication"
    }
    target = reference.rsplit("/", 1)[-1]
    return contained.get(target) or medications.get(target, frozenset())


def to_entry(
    resource: Mapping[str, Any], medications: Mapping[str, frozenset[Code]] | None = None
) -> ClinicalEntry | None:
    """One FHIR resource as a :class:`ClinicalEntry`, or None for a type the measures do not use.
    ``medications``: Medication id -> codes, to resolve ``medicationReference``."""
    kind = _KINDS.get(resource.get("resourceType", ""))
    if kind is None:
        return None
    rid = str(resource.get("id", ""))
    status = str(resource.get("status", ""))
    if kind == EntryKind.ENCOUNTER:
        hospitalization = resource.get("hospitalization") or {}
        return _period_entry(
            kind,
            _codes_of_list(resource.get("type")),
            rid,
            status,
            resource,
            encounter_class=str((resource.get("class") or {}).get("code", "")),
            discharge_disposition=_codes(hospitalization.get("dischargeDisposition")),
        )
    if kind == EntryKind.CONDITION:
        onset, _ = _timing(resource, "onset")
        abatement_start, abatement_end = _timing(resource, "abatement")
        return _categorized_entry(
            kind,
            resource,
            rid,
            status,
            start=onset,
            end=abatement_end if abatement_end is not None else abatement_start,
            clinical_status=next(iter(_code_values([resource.get("clinicalStatus") or {}])), ""),
            verification_status=next(iter(_code_values([resource.get("verificationStatus") or {}])), ""),
            body_sites=_codes_of_list(resource.get("bodySite")),
        )
    if kind == EntryKind.OBSERVATION:
        start, end = _timing(resource, "effective")
        quantity, value_codes, has_value = _value(resource)
        reason_ext = _extension(resource, NOT_DONE_REASON_URL)
        not_done_ext = _extension(resource, NOT_DONE_URL, modifier=True)
        negated = bool(not_done_ext and not_done_ext.get("valueBoolean")) or (
            status == "cancelled" and reason_ext is not None
        )
        return _categorized_entry(
            kind,
            resource,
            rid,
            status,
            start=start,
            end=end,
            issued=parse_datetime(resource.get("issued")),
            value_quantity=quantity,
            value_codes=value_codes,
            has_value=has_value,
            components=tuple(
                Component(_codes(comp.get("code")), _quantity(comp.get("valueQuantity")))
                for comp in resource.get("component", []) or []
            ),
            negated=negated,
            not_done_reason=_codes((reason_ext or {}).get("valueCodeableConcept")),
            encounter_id=_reference_id(resource.get("encounter")),
        )
    if kind == EntryKind.PROCEDURE:
        start, end = _timing(resource, "performed")
        return ClinicalEntry(
            kind=kind, codes=_codes(resource.get("code")), id=rid, status=status, start=start, end=end
        )
    if kind == EntryKind.MEDICATION_REQUEST:
        return _request_entry(
            kind,
            _medication_codes(resource, medications or {}),
            rid,
            status,
            resource,
            supply=_medication_supply(resource),
        )
    if kind in (EntryKind.SERVICE_REQUEST, EntryKind.DEVICE_REQUEST):
        code = (
            resource.get("code") if kind == EntryKind.SERVICE_REQUEST else resource.get("codeCodeableConcept")
        )
        return _request_entry(kind, _codes(code), rid, status, resource)
    return _period_entry(kind, _codes(resource.get("type")), rid, status, resource)


def _period_entry(
    kind: EntryKind, codes: frozenset[Code], rid: str, status: str, resource: Mapping[str, Any], **fields: Any
) -> ClinicalEntry:
    """An entry timed by the resource's ``period``."""
    period = resource.get("period") or {}
    return ClinicalEntry(
        kind=kind,
        codes=codes,
        id=rid,
        status=status,
        start=parse_datetime(period.get("start")),
        end=parse_datetime(period.get("end")),
        **fields,
    )


def _categorized_entry(
    kind: EntryKind, resource: Mapping[str, Any], rid: str, status: str, **fields: Any
) -> ClinicalEntry:
    """An entry with the resource's ``code`` and ``category``."""
    return ClinicalEntry(
        kind=kind,
        codes=_codes(resource.get("code")),
        id=rid,
        status=status,
        categories=_code_values(resource.get("category")),
        **fields,
    )


def _request_entry(
    kind: EntryKind, codes: frozenset[Code], rid: str, status: str, resource: Mapping[str, Any], **fields: Any
) -> ClinicalEntry:
    """A request (medication, service, device): its intent, authoring time and doNotPerform."""
    return ClinicalEntry(
        kind=kind,
        codes=codes,
        id=rid,
        status=status,
        intent=str(resource.get("intent", "")),
        authored_on=parse_datetime(resource.get("authoredOn")),
        do_not_perform=_do_not_perform(resource),
        **fields,
    )


def _flatten(resources: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    flat: list[Mapping[str, Any]] = []
    for resource in resources:
        if resource.get("resourceType") == "Bundle":
            flat.extend(_flatten(e["resource"] for e in resource.get("entry", []) if "resource" in e))
        else:
            flat.append(resource)
    return flat


def patient_from_fhir(resources: Iterable[Mapping[str, Any]]) -> PatientModel:
    """Build the patient model from one Patient resource and its clinical resources."""
    flat = _flatten(resources)
    patients = [r for r in flat if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise InvalidInputError(f"expected exactly one Patient resource, found {len(patients)}")
    patient = patients[0]
    birth = parse_datetime(patient.get("birthDate"))
    if birth is None:
        raise InvalidInputError(f"Patient {patient.get('id', '')} has no birthDate")
    names = patient.get("name") or [{}]
    mbi = next(
        (i.get("value") for i in patient.get("identifier", []) or [] if i.get("system") == MBI_SYSTEM), None
    )
    medications = {
        str(r.get("id")): _codes(r.get("code")) for r in flat if r.get("resourceType") == "Medication"
    }
    entries = [entry for entry in (to_entry(r, medications) for r in flat) if entry is not None]
    sex_ext = _extension(patient, US_CORE_SEX_URL) or {}
    sex = sex_ext.get("valueCode") or (sex_ext.get("valueCoding") or {}).get("code") or ""
    return PatientModel(
        patient_id=str(patient.get("id", "")),
        birth_date=birth.date(),
        gender={"female": Gender.FEMALE, "male": Gender.MALE}.get(
            str(patient.get("gender", "")), Gender.UNKNOWN
        ),
        first_name=" ".join(names[0].get("given", []) or []),
        last_name=str(names[0].get("family", "")),
        mbi=mbi,
        sex=str(sex),
        entries=entries,
    )


def read_fhir_dir(folder: Path) -> list[dict[str, Any]]:
    """All ``*.json`` resources in a folder (a test-case folder: one resource per file, or Bundles)."""
    resources = []
    for path in sorted(folder.glob("*.json")):
        try:
            resources.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{path.name}: not a readable FHIR JSON resource ({exc})") from None
    return resources


__all__ = ["parse_datetime", "patient_from_fhir", "read_fhir_dir", "to_entry"]
