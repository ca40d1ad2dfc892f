"""Default mail transport: each message written as an ``.eml`` file under ``GD_MAIL_DIR``.

Good for the demo and for development: the sandbox mailbox page reads this folder.
"""

from __future__ import annotations

import asyncio
import os
import time
from email.message import EmailMessage
from pathlib import Path

from gated_delivery.config import CoreSettings
from gated_delivery.hookspecs import hookimpl
from gated_delivery.ids import new_public_id
from gated_delivery.plugin_protocols import MailTransport


class FolderMail:
    """Writes messages to a folder, atomically, one file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        """Write ``message`` as ``<time>-<random>.eml``."""
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # a sortable time prefix keeps the mailbox in order; the random part keeps it unique
        name = f"{time.time_ns()}-{new_public_id()}.eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(bytes(message))
        os.replace(tmp, self.folder / name)


@hookimpl
def mail_transport(settings: CoreSettings) -> MailTransport | None:
    """Write mail to ``GD_MAIL_DIR``; the last resort, asked after every installed plugin."""
    return FolderMail(settings.mail_dir)
