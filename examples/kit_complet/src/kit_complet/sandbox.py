"""The sandbox pages: a home page, and the e-mails the app wrote to ``GD_MAIL_DIR``.

Mounted only in sandbox mode, so that a person trying the demo can follow the download link
without a mail server. A message is opened by its file name, which must be one the folder
listing returned: nothing from the URL is ever joined to a path.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Final

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response

from gated_delivery.api import runtime
from kit_complet.templating import templates

#: The names the folder transport writes: ``<time in ns>-<random id>.eml``.
MESSAGE_NAME: Final = re.compile(r"^[0-9]{1,20}-[A-Za-z0-9]{1,32}\.eml$")
LINK: Final = re.compile(r"https?://[^\s<>\"']+")
#: The newest messages shown on the list; older ones stay in the folder.
LIST_LIMIT: Final = 200


@dataclass(frozen=True)
class Letter:
    """One message as the mailbox shows it."""

    name: str
    subject: str
    to: str
    date: str
    text: str


def message_names(folder: Path) -> list[str]:
    """The messages in ``folder``, newest first (their names start with the time)."""
    if not folder.is_dir():
        return []
    names = [p.name for p in folder.iterdir() if MESSAGE_NAME.match(p.name)]
    return sorted(names, key=lambda n: int(n.split("-", 1)[0]), reverse=True)


def read_letter(folder: Path, name: str) -> Letter:
    """Parse one message file of ``folder``; ``name`` must come from ``message_names``."""
    message = email.message_from_bytes((folder / name).read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return Letter(
        name=name,
        subject=str(message.get("subject", "")),
        to=str(message.get("to", "")),
        date=str(message.get("date", "")),
        text=str(text),
    )


def with_links(text: str) -> Markup:
    """``text`` escaped for HTML, its web addresses made into links."""
    out: list[str] = []
    last = 0
    for found in LINK.finditer(text):
        url = found.group(0).rstrip(".,;)")
        out.append(escape(text[last : found.start()]))
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = found.start() + len(url)
    out.append(escape(text[last:]))
    return Markup("").join(out)


async def sandbox_home(request: Request) -> Response:
    """``GET /sandbox/``: what the sandbox offers, and where."""
    rt = runtime(request)
    providers = sorted(rt.providers.values(), key=lambda p: p.display_name)
    return templates.TemplateResponse(
        request,
        "sandbox.html",
        {
            "base": request.scope.get("root_path", ""),
            "providers": providers,
            "generators": sorted(rt.generators),
            "mail_dir": rt.settings.mail_dir,
        },
    )


async def inbox(request: Request) -> Response:
    """``GET /sandbox/boite-mail``: every message, newest first."""
    folder = runtime(request).settings.mail_dir
    names = (await asyncio.to_thread(message_names, folder))[:LIST_LIMIT]
    letters = [await asyncio.to_thread(read_letter, folder, n) for n in names]
    return templates.TemplateResponse(
        request,
        "mailbox.html",
        {"base": request.scope.get("root_path", ""), "letters": letters, "folder": folder},
        headers={"cache-control": "no-store"},
    )


async def letter(request: Request) -> Response:
    """``GET /sandbox/boite-mail/{name}``: one message, its links clickable."""
    folder = runtime(request).settings.mail_dir
    wanted = request.path_params["name"]
    names = await asyncio.to_thread(message_names, folder)
    if wanted not in names:
        return templates.TemplateResponse(
            request,
            "not_found.html",
            {"base": request.scope.get("root_path", ""), "what": "ce message"},
            status_code=404,
        )
    found = await asyncio.to_thread(read_letter, folder, names[names.index(wanted)])
    return templates.TemplateResponse(
        request,
        "letter.html",
        {
            "base": request.scope.get("root_path", ""),
            "letter": found,
            "body": with_links(found.text),
        },
        headers={"cache-control": "no-store"},
    )
