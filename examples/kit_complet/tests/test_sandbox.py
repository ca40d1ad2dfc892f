"""The sandbox pages (sandbox.py): the home page and the mailbox over GD_MAIL_DIR."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from kit_complet.sandbox import message_names, with_links

from gated_delivery.default_plugins.folder_mail import FolderMail
from gated_delivery.runtime import Runtime


async def write_mail(folder: Path, subject: str, text: str) -> None:
    message = EmailMessage()
    message["To"] = "awa@example.org"
    message["Subject"] = subject
    message.set_content(text)
    await FolderMail(folder).send(message)


async def test_the_mailbox_lists_messages_newest_first_and_opens_them(
    kit_client: httpx.AsyncClient, gd_runtime: Runtime
) -> None:
    folder = gd_runtime.settings.mail_dir
    await write_mail(folder, "Premier", "Bonjour")
    await write_mail(folder, "Votre document est prêt", "Lien : http://testserver/download/abc.\n")
    (folder / "notes.txt").write_text("not a message")
    listing = await kit_client.get("/sandbox/boite-mail")
    assert listing.status_code == 200
    assert listing.text.index("Votre document est prêt") < listing.text.index("Premier")
    assert "notes.txt" not in listing.text
    newest = message_names(folder)[0]
    opened = await kit_client.get(f"/sandbox/boite-mail/{newest}")
    assert '<a href="http://testserver/download/abc">http://testserver/download/abc</a>.' in (
        opened.text
    )


@pytest.mark.parametrize(
    "name", ["notes.txt", "123-abc.eml", "..%2Fdemo.sqlite3", "%2Fetc%2Fpasswd"]
)
async def test_only_listed_messages_can_be_opened(
    kit_client: httpx.AsyncClient, gd_runtime: Runtime, name: str
) -> None:
    folder = gd_runtime.settings.mail_dir
    await write_mail(folder, "Premier", "Bonjour")
    (folder / "notes.txt").write_text("secret")
    response = await kit_client.get(f"/sandbox/boite-mail/{name}")
    assert response.status_code == 404
    assert "secret" not in response.text


async def test_an_empty_mailbox(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.get("/sandbox/boite-mail")
    assert "Aucun e-mail pour l'instant." in response.text


async def test_the_sandbox_home_names_the_providers_in_use(kit_client: httpx.AsyncClient) -> None:
    response = await kit_client.get("/sandbox/")
    assert response.status_code == 200
    assert "<code>fake</code>" in response.text  # the test registers only the fake provider


def test_links_are_escaped_text_first() -> None:
    html = str(with_links('<script>x</script> voir https://a.example/p?q=1&r="2" ok'))
    assert "&lt;script&gt;" in html
    assert '<a href="https://a.example/p?q=1&amp;r=">https://a.example/p?q=1&amp;r=</a>' in html
