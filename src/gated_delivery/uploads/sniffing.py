"""What a file is, told from its bytes alone, and the name it may be shown under.

Pure functions and tables, no I/O: the magic bytes of each accepted type, the central
directory of a ZIP container (DOCX and XLSX are ZIP files told apart by their entries), and
the display name a buyer's file name becomes. Never the name or the type a browser sent.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

MIB: Final = 1024 * 1024

PDF: Final = "application/pdf"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG: Final = "image/png"
JPEG: Final = "image/jpeg"
#: Always UTF-8: anything else is refused.
TXT: Final = "text/plain"

#: The longest display name kept, in characters (``Asset.filename`` holds 255).
MAX_FILENAME_CHARS: Final = 120
#: A display name with nothing left after sanitising.
DEFAULT_FILENAME: Final = "document"

#: Enough to tell every signature below apart.
SNIFF_BYTES: Final = 8
#: How much of a ZIP container's end is kept to read its central directory: a DOCX or XLSX
#: needs a few KiB; beyond this (tens of thousands of entries) it is refused.
ZIP_TAIL_BYTES: Final = MIB
#: A ZIP file ends with a 22-byte record and a comment of at most 65535 bytes.
ZIP_EOCD_SEARCH: Final = 22 + 65535


@dataclass(frozen=True)
class Kind:
    """An accepted file type: its media type, the name people know, its extensions."""

    media_type: str
    label: str
    extensions: tuple[str, ...]


KINDS: Final[Mapping[str, Kind]] = {
    k.media_type: k
    for k in (
        Kind(PDF, "PDF", (".pdf",)),
        Kind(DOCX, "DOCX", (".docx",)),
        Kind(XLSX, "XLSX", (".xlsx",)),
        Kind(PNG, "PNG", (".png",)),
        Kind(JPEG, "JPEG", (".jpg", ".jpeg")),
        Kind(TXT, "TXT", (".txt",)),
    )
}
#: Extensions replaced (rather than kept) when they disagree with the content.
KNOWN_EXTENSIONS: Final = frozenset(e for k in KINDS.values() for e in k.extensions)
MAGIC: Final = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG))
ZIP_MAGIC: Final = b"PK\x03\x04"


def sniff(head: bytes) -> str | None:
    """The media type the first bytes show, ``ZIP`` for a ZIP container, else None (text?)."""
    for signature, media_type in MAGIC:
        if head.startswith(signature):
            return media_type
    return ZIP if head.startswith(ZIP_MAGIC) else None


#: What ``sniff`` says of a ZIP container, until its central directory tells DOCX or XLSX.
ZIP: Final = "application/zip"


def sanitize_filename(raw: str) -> str:
    """A file name fit for display only: no path, no control characters, trimmed, bounded.

    Keeps the last path part (``/`` or ``\\``), turns control characters and line breaks into
    spaces, drops invisible format characters (bidirectional overrides can disguise
    ``fdp.exe`` as ``exe.pdf``), collapses spaces and strips dots and spaces at both ends.
    Long names are cut, keeping a short extension. Never build a path from the result.
    """
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    kept: list[str] = []
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif not category.startswith("C"):
            kept.append(char)
    name = " ".join("".join(kept).split()).strip(" .")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 10:
            stem = stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip(" .")
            name = f"{stem}.{extension}"
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip(" .")
    return name


def display_name(sanitized: str, kind: Kind) -> str:
    """The sanitised name with the extension its content calls for.

    A known extension that disagrees (``budget.docx`` holding a spreadsheet) is replaced;
    an unknown one is kept and the right one added (``rapport.exe`` -> ``rapport.exe.pdf``).
    """
    name = sanitized or DEFAULT_FILENAME
    stem, dot, extension = name.rpartition(".")
    suffix = f".{extension.lower()}" if dot and stem else ""
    if suffix in kind.extensions:
        return name
    if suffix in KNOWN_EXTENSIONS:
        name = stem
    return f"{name[: MAX_FILENAME_CHARS - len(kind.extensions[0])]}{kind.extensions[0]}"


def zip_entries(tail: bytes, file_size: int) -> list[tuple[str, int]] | None:
    """Each entry's name and declared uncompressed size, from a ZIP file's central directory.

    None when the directory is missing, inconsistent, ZIP64, or not within ``tail``.
    """
    eocd = tail.rfind(b"PK\x05\x06", max(0, len(tail) - ZIP_EOCD_SEARCH))
    if eocd < 0:
        return None
    try:
        *_, entries, cd_size, cd_offset, _comment = struct.unpack_from("<IHHHHIIH", tail, eocd)
        cd_at = cd_offset - (file_size - len(tail))
        if cd_at < 0 or cd_at + cd_size > eocd:
            return None  # ZIP64 (offsets of 0xFFFFFFFF) ends up here too
        found: list[tuple[str, int]] = []
        at = cd_at
        for _ in range(entries):
            if tail[at : at + 4] != b"PK\x01\x02":
                return None
            (flags,) = struct.unpack_from("<H", tail, at + 8)
            (unzipped,) = struct.unpack_from("<I", tail, at + 24)
            name_len, extra_len, comment_len = struct.unpack_from("<HHH", tail, at + 28)
            raw = tail[at + 46 : at + 46 + name_len]
            name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            found.append((name, unzipped))
            at += 46 + name_len + extra_len + comment_len
    except struct.error:
        return None
    return found


def office_kind(names: list[str]) -> str | None:
    """DOCX or XLSX from their package layout, or None for any other ZIP file."""
    if "[Content_Types].xml" not in names:
        return None
    is_word = any(n.startswith("word/") for n in names)
    is_excel = any(n.startswith("xl/") for n in names)
    if is_word and not is_excel:
        return DOCX
    if is_excel and not is_word:
        return XLSX
    return None
