"""The CDA R2 structure of a QRDA-I document's header, as the CDA R2 schema (POCD_MT000040.ClinicalDocument)
defines it: which children ``<ClinicalDocument>`` may have, how many of each, and in which order.

This is not a full schema validation (entries and data types are checked by the reader itself); it
catches what makes a file schema-invalid at the document level (a missing ``<custodian>``, two
``<code>``s, elements out of order, an element CDA does not define) and reports each as a warning with
its line, so ``aco-sync validate`` does not call such a file OK. The sequence is the schema's, a fact
of the HL7 CDA R2 standard. No PHI: element names and lines only.
"""

from __future__ import annotations

from lxml import etree

V3 = "urn:hl7-org:v3"
SDTC = "urn:hl7-org:sdtc"
# (element, minimum, maximum or None for unbounded), in the schema's sequence
CLINICAL_DOCUMENT_SEQUENCE: tuple[tuple[str, int, int | None], ...] = (
    ("realmCode", 0, None),
    ("typeId", 1, 1),
    ("templateId", 0, None),
    ("id", 1, 1),
    ("code", 1, 1),
    ("title", 0, 1),
    ("effectiveTime", 1, 1),
    ("confidentialityCode", 1, 1),
    ("languageCode", 0, 1),
    ("setId", 0, 1),
    ("versionNumber", 0, 1),
    ("copyTime", 0, 1),
    ("recordTarget", 1, None),
    ("author", 1, None),
    ("dataEnterer", 0, 1),
    ("informant", 0, None),
    ("custodian", 1, 1),
    ("informationRecipient", 0, None),
    ("legalAuthenticator", 0, 1),
    ("authenticator", 0, None),
    ("participant", 0, None),
    ("inFulfillmentOf", 0, None),
    ("documentationOf", 0, None),
    ("relatedDocument", 0, None),
    ("authorization", 0, None),
    ("componentOf", 0, 1),
    ("component", 1, 1),
)
_POSITION = {name: index for index, (name, _, _) in enumerate(CLINICAL_DOCUMENT_SEQUENCE)}
PREFIX = "CDA R2 schema"


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def header_problems(root: etree._Element) -> list[tuple[str, int | None]]:
    """(message, line) for each way the ``<ClinicalDocument>`` header breaks the CDA R2 schema."""
    problems: list[tuple[str, int | None]] = []
    counts: dict[str, int] = {}
    last_position = -1
    for child in root:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        namespace, _, name = (
            child.tag[1:].partition("}") if child.tag.startswith("{") else ("", "", child.tag)
        )
        if namespace == SDTC:
            continue  # the SDTC extensions the CMS IG allows
        if namespace != V3 or name not in _POSITION:
            problems.append((f"{PREFIX}: <{name}> is not an element of <ClinicalDocument>.", _line(child)))
            continue
        counts[name] = counts.get(name, 0) + 1
        position = _POSITION[name]
        if position < last_position:
            after = CLINICAL_DOCUMENT_SEQUENCE[last_position][0]
            problems.append((f"{PREFIX}: <{name}> must come before <{after}>.", _line(child)))
        last_position = max(last_position, position)
    for name, minimum, maximum in CLINICAL_DOCUMENT_SEQUENCE:
        found = counts.get(name, 0)
        if found < minimum:
            problems.append((f"{PREFIX}: <ClinicalDocument> has no <{name}> (required).", _line(root)))
        elif maximum is not None and found > maximum:
            problems.append(
                (
                    f"{PREFIX}: <ClinicalDocument> has {found} <{name}> elements (at most {maximum}).",
                    _line(root),
                )
            )
    component = root.find(f"{{{V3}}}component")
    if component is not None:
        bodies = [
            c
            for c in component
            if isinstance(c.tag, str) and c.tag in (f"{{{V3}}}structuredBody", f"{{{V3}}}nonXMLBody")
        ]
        if len(bodies) != 1:
            problems.append(
                (
                    f"{PREFIX}: <component> must hold exactly one <structuredBody> or <nonXMLBody>.",
                    _line(component),
                )
            )
    return problems
