"""The CDA R2 schema check of QRDA-I documents: each document the reader accepts is validated against
the HL7 CDA R2 schema with the SDTC extensions (bundled as package data in ``aco_sync/data/schemas/cda``,
see its README), and every schema error becomes a warning with its line. The document is still read:
the schema is a warning, not a reason to drop a patient (the reader rejects what it cannot use).

No PHI: lxml's messages can quote the document's text and attribute values ("The value 'Smith' is not
accepted by ..."), so the warning is built here from the error's kind (libxml2's error type), the
element and attribute names and, for data-type errors, the schema's type name, never from the value.
Only names the schema defines are shown: the name of an element or attribute the schema does not define
is the document's own text (a clinic could put anything there), so it is "an element (an attribute) not
in the schema".
The schema is compiled once per process; validation is bounded by the reader's size caps (only
documents that passed them get here) and the warnings by ``MAX_SCHEMA_WARNINGS`` per document.
"""

from __future__ import annotations

import contextlib
import re
import threading
from functools import lru_cache
from importlib import resources
from typing import Any

from lxml import etree

PREFIX = "CDA R2 schema"
SCHEMA_FOLDER = "data/schemas/cda"
SCHEMA_ENTRY = f"{SCHEMA_FOLDER}/infrastructure/cda/CDA_SDTC.xsd"
MAX_SCHEMA_WARNINGS = 20  # listed per document; the rest are counted in one more warning
MAX_SCHEMA_NODES = 200_000  # elements + attributes of a document checked (about 7 MB of QRDA-I)
MAX_LOCATE_WORK = 50_000_000  # problems x widest sibling group: about a second of libxml2 path building
_V3 = "urn:hl7-org:v3"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XS = "http://www.w3.org/2001/XMLSchema"
_NAMESPACES = {_V3: "", "urn:hl7-org:sdtc": "sdtc:", _XSI: "xsi:"}
_XSI_ATTRIBUTES = ("type", "nil", "schemaLocation", "noNamespaceSchemaLocation")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,79}")
_HEAD = re.compile(
    r"Element '(?P<element>[^']{1,300})'(?:, attribute '(?P<attribute>[^']{1,300})')?: (?P<rest>.*)", re.S
)
_EXPECTED = re.compile(r"Expected is (?:one of )?\( (?P<names>[^()]{1,2000}) \)\.\s*\Z")
_REQUIRED_ATTRIBUTE = re.compile(r"\AThe attribute '(?P<name>[^']{1,300})' is required but missing\.")
_TYPE_AT_END = re.compile(r"type '(?P<type>[^' ]{1,300})'\.?\s*\Z")
_FACET_AT_START = re.compile(r"\A\[facet '(?P<facet>[A-Za-z]{1,40})'\]")
_lock = threading.Lock()  # one compiled schema per process; lxml keeps a validator's error log on it


@lru_cache(maxsize=1)
def cda_schema() -> etree.XMLSchema:
    """The compiled CDA R2 + SDTC schema (the bundled files; the includes resolve relative to them)."""
    with resources.as_file(resources.files("aco_sync").joinpath(SCHEMA_ENTRY)) as path:
        return etree.XMLSchema(etree.parse(str(path), parser=etree.XMLParser(resolve_entities=False)))


@lru_cache(maxsize=1)
def schema_names() -> frozenset[tuple[str, str]]:
    """(namespace, name) of every element, attribute and type the bundled schema files define (a file
    without a target namespace is included into CDA's; local attributes are unqualified, namespace "")."""
    names = {(_XSI, name) for name in _XSI_ATTRIBUTES}
    with resources.as_file(resources.files("aco_sync").joinpath(SCHEMA_FOLDER)) as folder:
        for path in sorted(folder.rglob("*.xsd")):
            root = etree.parse(str(path), parser=etree.XMLParser(resolve_entities=False)).getroot()
            namespace = root.get("targetNamespace") or _V3
            for node in root.iter(
                *(f"{{{_XS}}}{kind}" for kind in ("element", "attribute", "complexType", "simpleType"))
            ):
                name = node.get("name")
                if name:
                    names.add((namespace, name))
                    if node.tag == f"{{{_XS}}}attribute":
                        names.add(("", name))
    return frozenset(names)


def schema_problems(root: etree._Element) -> list[tuple[str, int | None]]:
    """(message, line) for each way the document breaks the CDA R2 schema, at most
    ``MAX_SCHEMA_WARNINGS`` of them plus one that counts the rest. Messages hold no document text.

    The cost is bounded: libxml2 keeps every problem it finds (memory grows with their number, which
    is at most the number of elements and attributes), so documents over ``MAX_SCHEMA_NODES`` are not
    checked (a warning says so); and it locates each problem by its path, at a cost of the largest
    group of sibling elements, so when problems x that group could exceed ``MAX_LOCATE_WORK`` a
    streaming validation (no locations) counts them first, and their lines are shown only if
    locating that many stays under the bound."""
    nodes = widest = 0
    for element in root.iter():
        nodes += 1 + len(element.attrib)
        widest = max(widest, len(element))
    if nodes > MAX_SCHEMA_NODES:
        return [
            (
                f"{PREFIX}: not checked: the document has over {MAX_SCHEMA_NODES:,} elements and attributes "
                "(larger documents are read without the schema check).",
                None,
            )
        ]
    if nodes * max(widest, 1) <= MAX_LOCATE_WORK:
        found, located = _tree_errors(root), True
    else:
        found = _streaming_errors(root)
        located = bool(found) and len(found) * max(widest, 1) <= MAX_LOCATE_WORK
        if located:
            found = _tree_errors(root) or found
    if not found:
        return []
    shown = [
        (describe(kind, message), line if located and line > 0 else None)
        for kind, message, line in found[:MAX_SCHEMA_WARNINGS]
    ]
    if not located:
        first, _ = shown[0]
        shown[0] = (
            first[:-1] + " (the document has too many schema problems for their lines to be shown).",
            None,
        )
    problems = shown
    more = len(found) - len(shown)
    if more:
        counted = "1 more schema problem is" if more == 1 else f"{more} more schema problems are"
        note = f"{PREFIX}: {counted} not listed (only the first {MAX_SCHEMA_WARNINGS} of a document are)."
        problems = [*shown, (note, None)]
    return problems


_Error = tuple[str, str, int]  # libxml2 error type, its message, line (0 when not known)


def _entries(log: Any) -> list[_Error]:
    return [(str(e.type_name or ""), str(e.message or ""), int(e.line or 0)) for e in log]


def _streaming_errors(root: etree._Element) -> list[_Error]:
    parser = etree.XMLParser(
        schema=cda_schema(), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    with _lock:
        with contextlib.suppress(etree.XMLSyntaxError):  # raised when invalid: the log says why
            etree.fromstring(etree.tostring(root), parser=parser)
        return [e for e in _entries(parser.error_log) if e[0].startswith("SCHEMAV")]


def _tree_errors(root: etree._Element) -> list[_Error]:
    schema = cda_schema()
    with _lock:
        return [] if schema.validate(root) else _entries(schema.error_log)


def describe(kind: str, message: str) -> str:
    """The warning for one schema error: libxml2's error ``kind`` (e.g. ``SCHEMAV_ELEMENT_CONTENT``)
    and the element/attribute names parsed out of its ``message``; values are never copied."""
    head = _HEAD.match(message or "")
    element = _name(head["element"]) if head else None
    attribute = _name(head["attribute"]) if head and head["attribute"] else None
    rest = head["rest"] if head else ""
    unknown_element = "an element not in the schema" if head and _is_name(head["element"]) else "an element"
    subject = f"<{element}>" if element else unknown_element.capitalize()
    where = subject
    if attribute:
        where += f" attribute {attribute}"
    elif head and head["attribute"]:
        where += ": an attribute not in the schema"
    if kind == "SCHEMAV_ELEMENT_CONTENT":
        expected = _expected(rest)
        tail = f" (expected {expected})" if expected else ""
        if rest.startswith("Missing child element"):
            return f"{PREFIX}: {where} is missing a required child element{tail}."
        return f"{PREFIX}: {where} is not allowed here{tail}."
    if kind in ("SCHEMAV_CVC_COMPLEX_TYPE_3_2_1", "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2"):
        return f"{PREFIX}: {where} is not allowed."
    if kind == "SCHEMAV_CVC_COMPLEX_TYPE_4":
        required = _REQUIRED_ATTRIBUTE.match(rest)
        name = _name(required["name"]) if required else None
        return f"{PREFIX}: {where} lacks the required attribute{f' {name}' if name else ''}."
    if kind in ("SCHEMAV_CVC_COMPLEX_TYPE_2_1", "SCHEMAV_CVC_COMPLEX_TYPE_2_3"):
        return f"{PREFIX}: {where} must not contain text."
    if kind == "SCHEMAV_CVC_ELT_1":
        return f"{PREFIX}: {where} is not a CDA document root (<ClinicalDocument> expected)."
    if kind.startswith("SCHEMAV_CVC_ELT_4"):
        return f"{PREFIX}: {subject} has an xsi:type the schema does not define or allow here."
    facet = _FACET_AT_START.match(rest)
    if facet:
        return f"{PREFIX}: {where}: the value breaks the schema's {facet['facet']} rule."
    typed = _TYPE_AT_END.search(rest)
    if typed and _name(typed["type"], builtin=True):
        return f"{PREFIX}: {where}: the value is not a valid {_name(typed['type'], builtin=True)}."
    rule = kind if re.fullmatch(r"[A-Z0-9_]{1,80}", kind or "") else "a schema rule"
    return f"{PREFIX}: {where} breaks {rule}."


def _split(qualified: str) -> tuple[str, str]:
    """``{namespace}local`` (or ``prefix:local``) -> (namespace, local)."""
    if qualified.startswith("{") and "}" in qualified:
        namespace, _, local = qualified[1:].partition("}")
        return namespace, local
    return "", qualified.rpartition(":")[2]


def _is_name(qualified: str | None) -> bool:
    return bool(qualified) and _NAME.fullmatch(_split(qualified or "")[1]) is not None


def _name(qualified: str | None, *, builtin: bool = False) -> str | None:
    """``{urn:hl7-org:v3}title`` -> ``title``, ``{urn:hl7-org:sdtc}x`` -> ``sdtc:x``; None unless a name
    the schema defines in that namespace, or with ``builtin`` one of XML Schema's (a type), so nothing
    the document spelled can come out of a message."""
    if not _is_name(qualified):
        return None
    namespace, local = _split(qualified or "")
    if (namespace, local) not in schema_names() and not (builtin and namespace == _XS):
        return None
    return _NAMESPACES.get(namespace, "") + local


def _expected(rest: str) -> str:
    found = _EXPECTED.search(rest)
    if not found:
        return ""
    names = [_name(n.strip()) for n in found["names"].split(",")]
    listed = [f"<{n}>" for n in names if n][:8]
    if not listed:
        return ""
    more = len(names) - len(listed)
    return (
        ("one of " if len(names) > 1 else "") + ", ".join(listed) + (f" and {more} more" if more > 0 else "")
    )
