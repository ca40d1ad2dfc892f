"""Streamed multipart/form-data intake: files go to storage as they arrive, limits bite early.

``receive_upload`` reads a request body chunk by chunk (``receive_stream`` takes any byte
stream), parses it with python-multipart's streaming parser and hands each file to
``StorageBackend.save`` through a small bounded queue, so that a file is never held whole in
memory and a slow backend slows the reading of the request down instead of filling memory.

Every limit is enforced while reading: a body declared too large is refused before a byte is
read, and a file or a body that grows past its limit is cut off at once. File types are told
by their content (magic bytes; for ZIP containers, the entries named in the central
directory), never by the name or the type the browser sent. Any refusal or error, a client
that disconnects included, deletes every file this call stored before it raises: nothing
partial is ever left in storage.

The package's modules, each with one job: ``sniffing`` (what a file is, pure), ``limits``
(what an upload may carry), ``refusals`` (why one is refused, in French and English),
``pipe`` (one file on its way to storage) and ``intake`` (the multipart body).
This package runs on asyncio (the bridge to storage is an ``asyncio.Queue`` and a task).
"""

from gated_delivery.uploads.intake import receive_file, receive_stream, receive_upload
from gated_delivery.uploads.limits import (
    FINAL_LIMITS,
    PRODUCT_FILE_LIMITS,
    ReceivedFile,
    Upload,
    UploadLimits,
    with_archive_settings,
)
from gated_delivery.uploads.refusals import UploadRefused
from gated_delivery.uploads.sniffing import (
    DOCX,
    JPEG,
    MIB,
    PDF,
    PNG,
    TXT,
    XLSX,
    sanitize_filename,
)

__all__ = [
    "DOCX",
    "FINAL_LIMITS",
    "JPEG",
    "MIB",
    "PDF",
    "PNG",
    "PRODUCT_FILE_LIMITS",
    "TXT",
    "XLSX",
    "ReceivedFile",
    "Upload",
    "UploadLimits",
    "UploadRefused",
    "receive_file",
    "receive_stream",
    "receive_upload",
    "sanitize_filename",
    "with_archive_settings",
]
