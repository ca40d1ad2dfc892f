"""What an upload may carry, and what a received one is."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from gated_delivery.config import CoreSettings
from gated_delivery.uploads.sniffing import DOCX, KINDS, MIB, PDF

#: A storage key prefix: ``/``-separated segments of letters, digits, ``-`` and ``_``.
KEY_PREFIX: Final = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


@dataclass(frozen=True)
class UploadLimits:
    """What one request may carry; every limit is checked while the body is read.

    ``max_total_bytes`` is the whole body, multipart framing included; None means
    ``max_files * max_file_bytes`` plus 1 MiB for the text fields (see ``total_bytes``).
    An empty file input (no file chosen) counts as a field, not as a file.
    """

    max_files: int = 10
    max_file_bytes: int = 10 * MIB
    max_total_bytes: int | None = None
    max_fields: int = 200
    max_field_bytes: int = 64 * 1024
    allowed_media_types: frozenset[str] = frozenset(KINDS)
    #: A DOCX or XLSX (a ZIP file) whose entries declare more than this, uncompressed, or
    #: more than ``max_zip_ratio`` times the file's own size, is refused (a "zip bomb").
    max_unzipped_bytes: int = 200 * MIB
    max_zip_ratio: int = 100

    def __post_init__(self) -> None:
        numbers = {
            "max_files": self.max_files,
            "max_file_bytes": self.max_file_bytes,
            "max_total_bytes": self.total_bytes,
            "max_fields": self.max_fields,
            "max_field_bytes": self.max_field_bytes,
            "max_unzipped_bytes": self.max_unzipped_bytes,
            "max_zip_ratio": self.max_zip_ratio,
        }
        for name, value in numbers.items():
            if value < 1:
                raise ValueError(f"UploadLimits.{name} must be at least 1, not {value}")
        unknown = self.allowed_media_types - KINDS.keys()
        if unknown:
            known = ", ".join(sorted(KINDS))
            raise ValueError(
                f"UploadLimits cannot check {', '.join(sorted(unknown))}; it knows {known}"
            )

    @property
    def total_bytes(self) -> int:
        """The body size limit in force: ``max_total_bytes`` or its default."""
        if self.max_total_bytes is not None:
            return self.max_total_bytes
        return self.max_files * self.max_file_bytes + MIB

    @property
    def allowed_labels(self) -> str:
        """The allowed types as people know them, in a fixed order: ``PDF, PNG, TXT``."""
        return ", ".join(
            k.label for k in KINDS.values() if k.media_type in self.allowed_media_types
        )


@dataclass(frozen=True)
class ReceivedFile:
    """One stored file: where it is, what it is, and the name to show (never a path)."""

    field: str
    filename: str
    media_type: str
    key: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Upload:
    """A received form: its text fields (UTF-8) and its stored files, in the order sent."""

    fields: dict[str, str]
    files: list[ReceivedFile]


def with_archive_settings(limits: UploadLimits, settings: CoreSettings) -> UploadLimits:
    """``limits`` with ``GD_ARCHIVE_MAX_UNCOMPRESSED_MB`` and ``GD_ARCHIVE_MAX_RATIO``."""
    return replace(
        limits,
        max_unzipped_bytes=settings.archive_max_uncompressed_mb * MIB,
        max_zip_ratio=settings.archive_max_ratio,
    )


#: A final document, from the staff page or the command line: one PDF or DOCX of 50 MiB.
FINAL_LIMITS: Final = UploadLimits(
    max_files=1, max_file_bytes=50 * MIB, max_fields=5, allowed_media_types=frozenset({PDF, DOCX})
)


#: A file every buyer of a product receives: any accepted type, up to 200 MiB.
PRODUCT_FILE_LIMITS: Final = UploadLimits(max_files=1, max_file_bytes=200 * MIB, max_fields=5)
