"""Checks a QPP Submissions API submission against the documented data model and the year's measures.

The field tables come from ``../shared/fixtures/qpp/submissions-docs/data.ts`` (CMSgov/
qpp-submissions-docs): ``submissionsFields``, ``measurementSetsFields`` and ``measurementsFields`` (the
"CQM Single-Performance Rate" measurement value, ``cqmSinglePerformanceRate``). A field is allowed only
if it is documented and writable ("calculated by API" fields must not be sent); every field marked
required must be present; values have the documented type. The allowed measures come from the shared
qpp-measures-data fixture of the year (``allowedPrograms``, ``submissionMethods``), independently of the
copy bundled in the package.

``submission_errors(document)`` returns the problems (an empty list means conformant).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from shared_fixtures import shared_path

_FIELD = re.compile(r"\{\s*name: '(\w+)', value: '([^']+)',.*notes: [`']([^`']*)[`']\s*\}")
_CEHRT_FORMAT = re.compile(r"format (\S+) or (\S+)\.")


@cache
def _data_ts() -> str:
    return shared_path("fixtures", "qpp", "submissions-docs", "data.ts").read_text(encoding="utf-8")


def _table(const: str, key: str) -> dict[str, tuple[str, str]]:
    """name -> (type, notes) of the ``key: [...]`` table in ``export const <const>``."""
    text = _data_ts()
    start = text.index(f"export const {const}")
    block_start = text.index(f"{key}: [", start)
    block_end = text.index("\n  ],", block_start)
    fields = {}
    for line in text[block_start:block_end].splitlines():
        match = _FIELD.search(line)
        if match:
            fields[match.group(1)] = (match.group(2), match.group(3))
    assert fields, f"no fields parsed from data.ts {const}.{key}"
    return fields


def documented_fields() -> dict[str, dict[str, tuple[str, str]]]:
    return {
        "submission": _table("submissionsFields", "fields"),
        "measurementSet": _table("measurementSetsFields", "fields"),
        "measurement": _table("measurementsFields", "fields")
        | {
            "measureId": ("string", "writable, required"),
            "value": ("object", "writable, required"),
        },
        "value": _table("measurementsFields", "cqmSinglePerformanceRate"),
    }


def cehrt_id_pattern() -> re.Pattern[str]:
    """The formats ``cehrtId``'s description gives ("2025CXXXXXXXXXX or XX15CXXXXXXXXXX")."""
    description = next(line for line in _data_ts().splitlines() if "name: 'cehrtId'" in line)
    match = _CEHRT_FORMAT.search(description)
    assert match, "data.ts no longer documents the cehrtId format"
    alternatives = [re.escape(f).replace("X", "[0-9A-Z]") for f in match.groups()]
    return re.compile(rf"^(?:{'|'.join(alternatives)})$".replace("2025", r"\d{4}"))


def _type_ok(declared: str, value: Any) -> bool:
    if declared == "string" or declared in ("date", "datetime"):
        return isinstance(value, str)
    if declared == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if declared == "boolean":
        return isinstance(value, bool)
    if declared == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if declared == "object":
        return isinstance(value, dict)
    if declared.startswith("Array("):
        return isinstance(value, list)
    return False


def _check(kind: str, obj: dict[str, Any], fields: dict[str, tuple[str, str]], where: str) -> list[str]:
    errors = []
    for name, value in obj.items():
        if name not in fields:
            errors.append(f"{where}: field {name!r} is not in the {kind} data model")
            continue
        declared, notes = fields[name]
        if "writable" not in notes:
            errors.append(f"{where}: {name!r} is not writable ({notes.strip() or 'read-only'})")
        elif "writable if entityType is" in notes or "writable only if entityType is" in notes:
            errors.append(f"{where}: {name!r} is only for other entity types ({notes})")
        if not _type_ok(declared, value):
            errors.append(f"{where}: {name!r} should be {declared}, is {type(value).__name__}")
    for name, (_, notes) in fields.items():
        if "required" in notes and "writable" in notes and name not in obj:
            if name == "cehrtId" and obj.get("submissionMethod") != "electronicHealthRecord":
                continue  # "applicable to Promoting Interoperability and eCQM Quality measurement sets"
            if name == "entityId" and obj.get("entityType") not in ("apm", "virtualGroup", "subgroup"):
                continue
            errors.append(f"{where}: required field {name!r} is missing")
    return errors


@cache
def _allowed(year: int) -> dict[str, tuple[set[str], set[str]]]:
    path = shared_path("fixtures", "qpp", f"qpp_measures_{year}_selected.json")
    return {
        m["measureId"]: (set(m["allowedPrograms"]), set(m["submissionMethods"]))
        for m in json.loads(path.read_text(encoding="utf-8"))
    }


def submission_errors(document: dict[str, Any]) -> list[str]:
    fields = documented_fields()
    errors = _check("submission", document, fields["submission"], "submission")
    if document.get("entityType") != "apm":
        errors.append("submission: entityType should be 'apm' for an ACO")
    year = document.get("performanceYear")
    seen: set[tuple[str, str, str]] = set()
    for i, measurement_set in enumerate(document.get("measurementSets", [])):
        where = f"measurementSets[{i}]"
        errors += _check("measurementSet", measurement_set, fields["measurementSet"], where)
        key = (
            measurement_set.get("category"),
            measurement_set.get("submissionMethod"),
            measurement_set.get("programName", "mips"),
        )
        if key in seen:
            errors.append(f"{where}: a second set for category/submissionMethod/programName {key}")
        seen.add(key)
        if measurement_set.get("category") not in ("quality", "pi", "ia"):
            errors.append(f"{where}: category {measurement_set.get('category')!r}")
        if measurement_set.get("submissionMethod") not in ("registry", "electronicHealthRecord"):
            errors.append(f"{where}: submissionMethod {measurement_set.get('submissionMethod')!r}")
        if not re.match(r"^(appPlus|app1|mips|[GM]\d{4})$", str(measurement_set.get("programName"))):
            errors.append(f"{where}: programName {measurement_set.get('programName')!r}")
        if "cehrtId" in measurement_set and not cehrt_id_pattern().match(measurement_set["cehrtId"]):
            errors.append(f"{where}: cehrtId {measurement_set['cehrtId']!r} is not in the documented format")
        if (
            f"{year}-01-01" > str(measurement_set.get("performanceStart"))
            or str(measurement_set.get("performanceEnd")) > f"{year}-12-31"
        ):
            errors.append(f"{where}: performance period outside {year}")
        measure_ids = [m.get("measureId") for m in measurement_set.get("measurements", [])]
        if len(measure_ids) != len(set(measure_ids)):
            errors.append(f"{where}: a measure appears twice")
        for j, measurement in enumerate(measurement_set.get("measurements", [])):
            here = f"{where}.measurements[{j}]"
            errors += _check("measurement", measurement, fields["measurement"], here)
            value = measurement.get("value", {})
            errors += _check("value", value, fields["value"], here + ".value")
            allowed = _allowed(int(year)).get(measurement.get("measureId"))
            program, method = key[2], key[1]
            if allowed is None or program not in allowed[0] or method not in allowed[1]:
                errors.append(
                    f"{here}: measure {measurement.get('measureId')} not allowed for {program}/{method}"
                )
            if method == "registry" and value.get("eligiblePopulationExclusion", 0) != 0:
                errors.append(f"{here}: registry eligiblePopulationExclusion should be 0 (subtracted)")
            counted = sum(
                value.get(k, 0)
                for k in (
                    "performanceMet",
                    "performanceNotMet",
                    "eligiblePopulationExclusion",
                    "eligiblePopulationException",
                )
            )
            if counted > value.get("eligiblePopulation", 0):
                errors.append(f"{here}: more patients reported than eligible")
    return errors
