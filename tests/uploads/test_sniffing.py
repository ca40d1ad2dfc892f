"""Telling a file by its bytes, pure: no storage, no request, no event loop."""

from __future__ import annotations

import io
import zipfile

import pytest

from gated_delivery.uploads.sniffing import (
    DOCX,
    JPEG,
    KINDS,
    PDF,
    PNG,
    XLSX,
    ZIP,
    display_name,
    office_kind,
    sniff,
    zip_entries,
)


def a_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (b"%PDF-1.7\n", PDF),
        (b"\x89PNG\r\n\x1a\n", PNG),
        (b"\xff\xd8\xff\xe0\x00\x10", JPEG),
        (b"PK\x03\x04\x14\x00", ZIP),
        (b"Bonjour, voici", None),  # no signature: text, if it decodes
        (b"MZ\x90\x00", None),  # a Windows program has no accepted signature either
    ],
)
def test_the_first_bytes_tell_the_type(head: bytes, found: str | None) -> None:
    assert sniff(head) == found


def test_a_zip_directory_lists_names_and_declared_sizes() -> None:
    data = a_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"x" * 5000})
    entries = zip_entries(data, len(data))
    assert entries == [("[Content_Types].xml", 8), ("word/document.xml", 5000)]
    assert zip_entries(data[:-30], len(data) - 30) is None  # the end record cut off


@pytest.mark.parametrize(
    ("names", "kind"),
    [
        (["[Content_Types].xml", "word/document.xml"], DOCX),
        (["[Content_Types].xml", "xl/workbook.xml"], XLSX),
        (["[Content_Types].xml", "word/a.xml", "xl/b.xml"], None),  # both: neither
        (["word/document.xml"], None),  # not an Office package
    ],
)
def test_office_files_are_told_by_their_entries(names: list[str], kind: str | None) -> None:
    assert office_kind(names) == kind


@pytest.mark.parametrize(
    ("name", "media_type", "shown"),
    [
        ("rapport.pdf", PDF, "rapport.pdf"),
        ("budget.docx", XLSX, "budget.xlsx"),  # a known extension that lies is replaced
        ("rapport.exe", PDF, "rapport.exe.pdf"),  # an unknown one is kept, the right added
        ("", PNG, "document.png"),
        ("photo.JPEG", JPEG, "photo.JPEG"),
    ],
)
def test_the_shown_name_carries_the_contents_extension(
    name: str, media_type: str, shown: str
) -> None:
    assert display_name(name, KINDS[media_type]) == shown
