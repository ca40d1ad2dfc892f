"""E-mail: templates (French and English, overridable) rendered into messages.

Mails leave through outbox jobs (``mail_jobs.send_mail``), so a mail server that is down
delays a mail without losing it, and a job's dedupe key keeps it from being sent twice.
Templates live in ``mail_templates/<lang>/<name>.{subject.txt,txt,html}``; a host app puts
its own versions under ``GD_TEMPLATES_DIR/mail/<lang>/`` to override any of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Final

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gated_delivery.config import CoreSettings

LANGUAGES: Final = ("fr", "en")
TEMPLATES: Final = (
    "payment_confirmed",
    "file_ready",
    "new_link",
    "admin_new_order",
    "admin_order_received",
    "purchases_link",
    "payment_reminder",
    "admin_inquiry_digest",
    "order_refunded",
)
#: Templates whose mail carries a fresh download link.
LINK_TEMPLATES: Final = frozenset({"file_ready", "new_link"})
PACKAGE_TEMPLATES: Final = Path(__file__).parent / "mail_templates"


def environment(settings: CoreSettings) -> Environment:
    """Jinja2 for mail: the host's templates first, ours after; HTML autoescaped."""
    folders = [PACKAGE_TEMPLATES]
    if settings.templates_dir is not None:
        folders.insert(0, settings.templates_dir / "mail")
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,  # a template naming a missing value fails loudly
        keep_trailing_newline=True,
    )


def render(
    env: Environment, template: str, lang: str, context: Mapping[str, Any]
) -> tuple[str, str, str]:
    """Subject, plain text and HTML of one template in one language."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}; known: {', '.join(TEMPLATES)}")
    lang = lang if lang in LANGUAGES else LANGUAGES[0]
    subject = env.get_template(f"{lang}/{template}.subject.txt").render(context).strip()
    text = env.get_template(f"{lang}/{template}.txt").render(context)
    html = env.get_template(f"{lang}/{template}.html").render(context)
    return " ".join(subject.split()), text, html


def build_message(
    settings: CoreSettings, to: Sequence[str], subject: str, text: str, html: str
) -> EmailMessage:
    """A multipart/alternative message from ``GD_MAIL_FROM``."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
