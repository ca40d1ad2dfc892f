"""Why an upload is refused, in French and in English, naming the file and the limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from gated_delivery.errors import InvalidInput
from gated_delivery.uploads.limits import UploadLimits
from gated_delivery.uploads.sniffing import MIB

#: Which limit or rule refused an upload (``UploadRefused.limit``).
LimitName = Literal[
    "content_type",
    "multipart",
    "total",
    "files",
    "file_size",
    "type",
    "fields",
    "field_size",
    "encoding",
    "duplicate",
    "archive",
]
STATUS: Final[Mapping[str, int]] = {
    "content_type": 415,
    "total": 413,
    "file_size": 413,
    "field_size": 413,
}


class UploadRefused(InvalidInput):
    """An upload broke a limit or a rule; nothing it sent was kept.

    ``limit`` names the rule, ``field`` the form input and ``filename`` the (sanitised) file
    name when there is one. ``message_fr`` and ``message_en`` say which file and which limit;
    ``str()`` gives both. ``status_code`` is the HTTP answer the caller should give: 413 for a
    size limit, 415 for a body that is not multipart/form-data, 400 for the rest.
    ``fields`` holds the text fields read before the refusal, so that a form can be shown
    again with what the person typed (put the file inputs last: browsers send in form order).
    """

    def __init__(
        self,
        limit: LimitName,
        message_fr: str,
        message_en: str,
        *,
        field: str | None = None,
        filename: str | None = None,
    ) -> None:
        super().__init__(f"{message_fr} / {message_en}", field=field)
        self.limit: LimitName = limit
        self.filename = filename
        self.message_fr = message_fr
        self.message_en = message_en
        self.status_code = STATUS.get(limit, 400)
        self.fields: dict[str, str] = {}


def size_fr(n_bytes: int) -> str:
    return _size(n_bytes, ("octets", "Ko", "Mo")).replace(".", ",")


def size_en(n_bytes: int) -> str:
    return _size(n_bytes, ("bytes", "KB", "MB"))


def _size(n_bytes: int, units: tuple[str, str, str]) -> str:
    if n_bytes >= MIB:
        return f"{n_bytes / MIB:.4g} {units[2]}"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.4g} {units[1]}"
    return f"{n_bytes} {units[0]}"


def malformed(detail_en: str) -> UploadRefused:
    # the parser's own words are English and technical: keep them for the English half only
    return UploadRefused(
        "multipart",
        "le formulaire est arrivé incomplet ou mal formé ; renvoyez-le depuis la page",
        f"the form arrived incomplete or malformed ({detail_en}); send it again from the page",
    )


def too_large_total(limits: UploadLimits) -> UploadRefused:
    return UploadRefused(
        "total",
        f"l'envoi dépasse {size_fr(limits.total_bytes)} au total ; "
        "envoyez moins de fichiers ou des fichiers plus petits",
        f"the upload exceeds {size_en(limits.total_bytes)} in total; send fewer or smaller files",
    )
