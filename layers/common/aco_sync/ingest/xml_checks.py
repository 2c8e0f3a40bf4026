"""Checks on XML bytes before any parser sees them: decode as an XML parser would (every encoding XML
allows, with or without a byte order mark) and look for DTD markup (DOCTYPE, ENTITY: XXE and entity
expansion), so that no encoding can hide a declaration from the check."""

from __future__ import annotations

import re

# "<!" not starting a comment or CDATA section: DOCTYPE, ENTITY, ELEMENT, ATTLIST (all DTD syntax)
DTD_MARKUP = re.compile(r"<!(?!--|\[CDATA\[)")


def xml_text(content: bytes) -> str | None:
    """An XML part decoded as an XML parser would (byte order mark, XML 1.0 Appendix F autodetection,
    then the declared encoding), or None when it cannot be decoded (such a part is refused)."""
    boms = (
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe", "utf-16-le"),
    )
    for bom, codec in boms:
        if content.startswith(bom):
            return _decoded(content[len(bom) :], codec)
    starts = (
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00<\x00?", "utf-16-be"),
        (b"<\x00?\x00", "utf-16-le"),
        (b"\x4c\x6f\xa7\x94", "cp500"),  # EBCDIC "<?xm"
    )
    for start, codec in starts:
        if content.startswith(start):
            text = _decoded(content, codec)
            return text if text is None else _redecoded(content, text, codec)
    declared = re.match(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", content)
    return _decoded(content, declared.group(1).decode("ascii") if declared else "utf-8")


def _redecoded(content: bytes, text: str, codec: str) -> str | None:
    """An autodetected family (UTF-16, EBCDIC) may name a more precise encoding in its declaration."""
    declared = re.match(r"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", text)
    if declared is None or declared.group(1).lower().replace("_", "-") in (codec, "utf-16", "utf-32"):
        return text
    return _decoded(content, declared.group(1))


def _decoded(content: bytes, codec: str) -> str | None:
    try:
        return content.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return None


def xml_declares_dtd(content: bytes) -> bool | None:
    """True when the XML declares a DOCTYPE, ENTITY or any other DTD markup (``<!`` that does not start
    a comment or CDATA section), in whatever encoding it is written; None when it cannot be decoded."""
    text = xml_text(content)
    if text is None:
        return None
    return DTD_MARKUP.search(text) is not None


def dtd_markup_line(content: bytes) -> int | None:
    """The 1-based line of the first DTD markup, or None when there is none (or it cannot be decoded)."""
    text = xml_text(content)
    found = DTD_MARKUP.search(text) if text is not None else None
    return text.count("\n", 0, found.start()) + 1 if found and text is not None else None


def xml_encoding_family(content: bytes) -> str:
    """``"utf-8"`` (or another ASCII-compatible encoding) or the wide/EBCDIC family the bytes start
    with (``"utf-16"``, ``"utf-32"``, ``"ebcdic"``), with or without a byte order mark."""
    if content.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\x00<", b"<\x00\x00\x00")):
        return "utf-32"
    if content.startswith((b"\xfe\xff", b"\xff\xfe", b"\x00<", b"<\x00")):
        return "utf-16"
    if content.startswith(b"\x4c\x6f\xa7\x94"):
        return "ebcdic"
    return "utf-8"
