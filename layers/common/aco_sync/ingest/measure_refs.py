"""Recognise the eCQM a QRDA-I Measure Section names, tolerantly.

Real files get this wrong in many ways (ids and set ids swapped or truncated, lower/upper case GUIDs,
no set id, only a title). We try, in order: an eCQM number id (root ``2.16.840.1.113883.3.560.101.2``),
the version-neutral set id, the version-specific id, a ``CMS<n>[v<m>]`` token in the title, and the
title itself. The set ids, version-specific ids and titles are the measure registry's
(``aco_sync/data/measures.json`` and CMS's per-year UUIDs, :class:`MeasureCatalog`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from aco_sync.domain.catalog import MeasureCatalog

ECQM_NUMBER_ROOT = "2.16.840.1.113883.3.560.101.2"

_CMS_TOKEN = re.compile(r"\bCMS\s?(\d{1,4})(?:v\d+)?\b", re.IGNORECASE)


def _guid_key(text: str | None) -> str:
    return re.sub(r"[^0-9A-F]", "", (text or "").upper())


_MIN_PREFIX = 24  # a truncated GUID must keep at least this many hex digits to match


def _normalise_title(title: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())


@dataclass(frozen=True, slots=True)
class _Tables:
    set_ids: dict[str, str]
    version_ids: dict[str, str]
    title_prefixes: tuple[tuple[str, str], ...]


@cache
def _tables(catalog: MeasureCatalog) -> _Tables:
    return _Tables(
        set_ids={_guid_key(k): v for k, v in catalog.set_ids().items()},
        version_ids={_guid_key(k): v for k, v in catalog.version_ids().items()},
        title_prefixes=catalog.title_prefixes(),
    )


def _match_guid(text: str | None, tables: _Tables) -> str | None:
    key = _guid_key(text)
    if not key:
        return None
    for table in (tables.set_ids, tables.version_ids):
        if key in table:
            return table[key]
    if len(key) >= _MIN_PREFIX:  # truncated or over-long copies of a known id
        for table in (tables.set_ids, tables.version_ids):
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
    catalog: MeasureCatalog,
) -> str | None:
    """The eCQM ("CMS122") a measure reference names, or None when it cannot be recognised."""
    if ecqm_number and ecqm_number.strip().isdigit():
        return f"CMS{int(ecqm_number)}"
    tables = _tables(catalog)
    for guid in (set_id, version_specific_id):
        found = _match_guid(guid, tables)
        if found:
            return found
    if title:
        token = _CMS_TOKEN.search(title)
        if token:
            return f"CMS{int(token.group(1))}"
        normalised = _normalise_title(title)
        for prefix, ecqm in tables.title_prefixes:
            if normalised.startswith(prefix):
                return ecqm
    return None
