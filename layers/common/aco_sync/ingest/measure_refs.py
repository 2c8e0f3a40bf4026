"""Recognise the eCQM a QRDA-I Measure Section names, tolerantly.

Real files get this wrong in many ways (ids and set ids swapped or truncated, lower/upper case GUIDs,
no set id, only a title). We try, in order: an eCQM number id (root ``2.16.840.1.113883.3.560.101.2``),
the version-neutral set id, the version-specific id, a ``CMS<n>[v<m>]`` token in the title, and the
title itself.
"""

from __future__ import annotations

import re

ECQM_NUMBER_ROOT = "2.16.840.1.113883.3.560.101.2"

# Version-neutral set ids (stable across versions) of eCQMs seen in real files.
KNOWN_SET_IDS: dict[str, str] = {
    "F2986519-5A4E-4149-A8F2-AF0A1DC7F6BC": "CMS122",
    "ABDC37CC-BAC6-4156-9B91-D1BE2C8B7268": "CMS165",
    "AA2A4BBC-864F-45EE-B17A-7EBCC62E6AAC": "CMS130",
    "9A031E24-3D9B-11E1-8634-00237D5BF174": "CMS2",
    "1D8363CE-A529-490B-8C98-9B54AA75DA06": "CMS65",
    "C0D72444-7C26-4863-9B51-8080F8928A85": "CMS123",
    "979F21BD-3F93-4CDD-8273-B23DFE9C0513": "CMS111",
    "0B63F730-25D6-4248-B11F-8C09C66A04EB": "CMS155",
    "C3657D72-21B4-4675-820A-86C7FE293BF5": "CMS137",
    "0B81B6BA-3B30-41BF-A2F3-95BDC9F558F2": "CMS74",
}

# Version-specific ids seen in files that carry no usable set id.
KNOWN_VERSION_IDS: dict[str, str] = {
    "40280381-4B9A-3825-014B-C290ABF408CA": "CMS165",
    "40280381-4CC2-8FFD-014C-C7A21FDA042C": "CMS65",
    "2C928085-7198-38EE-0171-9989A2CF03D2": "CMS2",
    "2C928085-7198-38EE-0171-9E951AE1097E": "CMS159",
}

# Titles (normalised: lower case, letters and digits only) -> eCQM. A title starting with one of the
# prefixes matches (titles gain suffixes like "(> 9%)" across versions).
TITLE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("diabetes hemoglobin a1c hba1c poor control", "CMS122"),
    ("diabetes hemoglobin a1c poor control", "CMS122"),
    ("diabetes glycemic status assessment greater than 9", "CMS122"),
    ("diabetes glycemic status assessment 9", "CMS122"),
    ("breast cancer screening", "CMS125"),
    ("colorectal cancer screening", "CMS130"),
    ("controlling high blood pressure", "CMS165"),
    ("preventive care and screening screening for depression and follow up plan", "CMS2"),
    ("hypertension improvement in blood pressure", "CMS65"),
    ("depression remission at twelve months", "CMS159"),
    ("diabetes foot exam", "CMS123"),
    ("venous thromboembolism prophylaxis", "CMS108"),
    ("intensive care unit venous thromboembolism prophylaxis", "CMS190"),
    ("initiation and engagement of alcohol and other drug dependence", "CMS137"),
)

_CMS_TOKEN = re.compile(r"\bCMS\s?(\d{1,4})(?:v\d+)?\b", re.IGNORECASE)


def _guid_key(text: str | None) -> str:
    return re.sub(r"[^0-9A-F]", "", (text or "").upper())


_SET_ID_KEYS = {_guid_key(k): v for k, v in KNOWN_SET_IDS.items()}
_VERSION_ID_KEYS = {_guid_key(k): v for k, v in KNOWN_VERSION_IDS.items()}
_MIN_PREFIX = 24  # a truncated GUID must keep at least this many hex digits to match


def _normalise_title(title: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())


def _match_guid(text: str | None) -> str | None:
    key = _guid_key(text)
    if not key:
        return None
    for table in (_SET_ID_KEYS, _VERSION_ID_KEYS):
        if key in table:
            return table[key]
    if len(key) >= _MIN_PREFIX:  # truncated or over-long copies of a known id
        for table in (_SET_ID_KEYS, _VERSION_ID_KEYS):
            for known, ecqm in table.items():
                if known.startswith(key) or key.startswith(known):
                    return ecqm
    return None


def recognise_ecqm(
    *,
    ecqm_number: str | None,
    set_id: str | None,
    version_specific_id: str | None,
    title: str | None,
) -> str | None:
    """The eCQM ("CMS122") a measure reference names, or None when it cannot be recognised."""
    if ecqm_number and ecqm_number.strip().isdigit():
        return f"CMS{int(ecqm_number)}"
    for guid in (set_id, version_specific_id):
        found = _match_guid(guid)
        if found:
            return found
    if title:
        token = _CMS_TOKEN.search(title)
        if token:
            return f"CMS{int(token.group(1))}"
        normalised = _normalise_title(title)
        for prefix, ecqm in TITLE_PREFIXES:
            if normalised.startswith(prefix):
                return ecqm
    return None
