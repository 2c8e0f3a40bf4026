"""The safety of reading QRDA-I uploads: size limits, a parser that can never resolve an entity, load a
DTD or touch the network, and a zip reader that refuses bombs (ratio, total, member count, lying
directory sizes) and encrypted or damaged members.

Any DOCTYPE or ENTITY declaration is refused before parsing (XXE, billion laughs, external DTDs);
lxml runs with entity resolution, DTD loading and network access off and without ``huge_tree``.
Messages never quote the file's text (lxml's own messages can hold a patient's name)."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar

from lxml import etree

from aco_sync.domain.errors import QrdaRejectedError
from aco_sync.domain.records import IngestIssue
from aco_sync.ingest.tabular import MAX_ISSUES_PER_FILE
from aco_sync.ingest.xml_checks import dtd_markup_line, xml_declares_dtd, xml_encoding_family

MAX_QRDA_BYTES = 20 * 1024 * 1024  # one XML document
MAX_ZIP_BYTES = 100 * 1024 * 1024  # one uploaded zip (compressed)
MAX_ZIP_TOTAL_BYTES = 500 * 1024 * 1024  # all members, expanded
MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_RATIO = 100  # expanded / compressed size of one member

T = TypeVar("T")
ParseMember = Callable[[bytes, str], "T | IngestIssue"]
"""Reads one zip member (its bytes, its name ``archive.zip!member.xml``) into a result or an issue."""


def new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes) -> etree._Element:
    """The root element of one QRDA-I XML file, or :class:`QrdaRejectedError` when the file is too
    large, empty, not UTF-8, declares a DOCTYPE/ENTITY or is not well-formed."""
    if len(data) > MAX_QRDA_BYTES:
        raise QrdaRejectedError(
            f"The file is {len(data) / 1_048_576:.1f} MB; QRDA-I files over "
            f"{MAX_QRDA_BYTES // 1_048_576} MB are refused.",
            code="file_too_large",
        )
    if not data or data.isspace():
        raise QrdaRejectedError("The file is empty.", code="empty_file")
    if xml_encoding_family(data) != "utf-8":
        raise QrdaRejectedError(
            "The file is UTF-16/UTF-32 text; QRDA-I files must be UTF-8.", line=1, code="bad_encoding"
        )
    hostile = xml_declares_dtd(data)
    if hostile is None:
        raise QrdaRejectedError(
            "The file is not valid UTF-8 text (or its declared encoding); QRDA-I files must be UTF-8.",
            code="bad_encoding",
        )
    if hostile:
        raise QrdaRejectedError(
            "The file declares a DOCTYPE or ENTITY; QRDA-I files never need one and it is refused "
            "for security (XXE / entity expansion).",
            line=dtd_markup_line(data),
            code="xml_doctype",
        )
    try:
        root = etree.fromstring(data, parser=new_parser())
    except etree.XMLSyntaxError as exc:
        # lxml's message quotes tag and attribute names and bytes of the text, which in a damaged file
        # can be a patient's name ("tag mismatch: Neil and family"): only the kind of error is named
        message = str(exc.msg or exc)
        kind = _xml_error_kind(exc)
        if "encoding" in message.lower() or "utf-8" in message.lower():
            raise QrdaRejectedError(
                f"The file is not valid UTF-8 text (or its declared encoding){kind}.",
                line=exc.lineno,
                code="bad_encoding",
            ) from None
        raise QrdaRejectedError(
            f"The file is not well-formed XML{kind}.", line=exc.lineno, code="not_xml"
        ) from None
    except ValueError:  # e.g. unsupported encoding declarations
        raise QrdaRejectedError("The file cannot be read as XML.", code="not_xml") from None
    return root


def _xml_error_kind(exc: etree.XMLSyntaxError) -> str:
    """``" (ERR_TAG_NAME_MISMATCH)"``: libxml2's name of the error kind (never the text it quotes)."""
    entries: list[Any] = list(exc.error_log) if exc.error_log else []  # type: ignore[call-overload]
    name = str(getattr(entries[-1], "type_name", "") or "") if entries else ""
    return f" ({name})" if re.fullmatch(r"[A-Z0-9_]{3,60}", name) else ""


def read_zip(
    file_name: str, data: bytes, parse: ParseMember[T], seen: dict[str, str]
) -> list[T | IngestIssue]:
    """A zip's documents; its issues are bounded (``MAX_ISSUES_PER_FILE`` listed, the rest counted in one
    line), so a zip of junk members costs one issue list, not one sync-log line per member."""
    results = _read_zip_members(file_name, data, parse, seen)
    issues = [r for r in results if isinstance(r, IngestIssue)]
    if len(issues) <= MAX_ISSUES_PER_FILE:
        return results
    kept_issues = {id(i) for i in issues[:MAX_ISSUES_PER_FILE]}
    unlisted = Counter(i.severity for i in issues[MAX_ISSUES_PER_FILE:])
    unlisted_errors = [i for i in issues[MAX_ISSUES_PER_FILE:] if i.severity == "error"]
    kept: list[T | IngestIssue] = [
        r for r in results if not isinstance(r, IngestIssue) or id(r) in kept_issues
    ]
    kept.append(
        IngestIssue(
            file=file_name,
            reason=f"{unlisted.get('error', 0)} more rejected files and {unlisted.get('warning', 0)} more "
            f"warnings in this zip are not listed (only the first {MAX_ISSUES_PER_FILE} are listed).",
            severity="error" if unlisted_errors else "warning",
            code="more_issues",
            covers=len(unlisted_errors),  # the further rejected documents, for the accounting
        )
    )
    return kept


def _read_zip_members(
    file_name: str, data: bytes, parse: ParseMember[T], seen: dict[str, str]
) -> list[T | IngestIssue]:
    def issue(reason: str, code: str, member: str | None = None) -> IngestIssue:
        return IngestIssue(file=f"{file_name}!{member}" if member else file_name, reason=reason, code=code)

    if len(data) > MAX_ZIP_BYTES:
        return [
            issue(f"The zip file is over {MAX_ZIP_BYTES // 1_048_576} MB and is refused.", "file_too_large")
        ]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError):
        return [issue("The file is not a readable zip archive.", "bad_zip")]
    if len(members) > MAX_ZIP_MEMBERS:
        return [
            issue(f"The zip holds {len(members)} files; at most {MAX_ZIP_MEMBERS} are accepted.", "zip_bomb")
        ]
    results: list[T | IngestIssue] = []
    expanded_total = 0
    for member in members:
        name = member.filename
        base = PurePosixPath(name).name
        if base.startswith(".") or name.startswith("__MACOSX/"):
            continue  # OS metadata, not data
        if not name.lower().endswith(".xml"):
            results.append(
                IngestIssue(
                    file=f"{file_name}!{name}",
                    reason="Skipped: only .xml files are read from a QRDA-I zip.",
                    severity="warning",
                    code="unknown_file_type",
                )
            )
            continue
        if member.flag_bits & 0x1:
            results.append(
                issue("The file is encrypted in the zip and cannot be read.", "zip_encrypted", name)
            )
            continue
        if member.file_size > MAX_QRDA_BYTES:
            results.append(
                issue(f"The file expands to over {MAX_QRDA_BYTES // 1_048_576} MB.", "file_too_large", name)
            )
            continue
        if member.compress_size and member.file_size / member.compress_size > MAX_ZIP_RATIO:
            results.append(
                issue("The file's compression ratio is suspicious (a zip bomb?).", "zip_bomb", name)
            )
            continue
        if expanded_total + member.file_size > MAX_ZIP_TOTAL_BYTES:
            results.append(
                issue(
                    f"The zip expands to over {MAX_ZIP_TOTAL_BYTES // 1_048_576} MB; this and the remaining "
                    "files were not read.",
                    "zip_bomb",
                    name,
                )
            )
            break
        try:
            with archive.open(member) as stream:
                content = stream.read(MAX_QRDA_BYTES + 1)  # sizes in the zip directory can lie
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            ValueError,
            RuntimeError,
            EOFError,
            NotImplementedError,
        ):
            results.append(issue("The file is damaged in the zip and cannot be read.", "bad_zip", name))
            continue
        expanded_total += len(content)
        if len(content) > MAX_QRDA_BYTES:
            results.append(
                issue(f"The file expands to over {MAX_QRDA_BYTES // 1_048_576} MB.", "file_too_large", name)
            )
            continue
        member_name = f"{file_name}!{name}"
        earlier = seen.setdefault(hashlib.sha256(content).hexdigest(), member_name)
        if earlier != member_name:
            results.append(
                IngestIssue(
                    file=member_name,
                    reason=f"The same file as {earlier} (identical content); it was counted once, "
                    f"as {earlier}.",
                    severity="warning",
                    code="duplicate_file",
                )
            )
            continue
        results.append(parse(content, member_name))
    if not results:
        results.append(issue("The zip holds no QRDA-I (.xml) files.", "empty_file"))
    return results
