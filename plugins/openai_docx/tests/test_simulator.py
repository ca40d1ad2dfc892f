"""The simulator mounted by the sandbox: per app, answering as the OpenAI API does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from gated_delivery_openai_docx.settings import sandbox_api_key
from gated_delivery_openai_docx.simulator import answer_for

from gated_delivery.config import CoreSettings
from gated_delivery.web.app import create_app

from .conftest import API_KEY

CHAT = "/sandbox/openai/v1/chat/completions"
MESSAGES = [
    {"role": "system", "content": "Consigne"},
    {"role": "user", "content": "Order answers:\n- organization_name: Coop Kora\n"},
]


@pytest.fixture
def sandbox_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CoreSettings:
    for name in ("OPENAI_API_KEY", "GD_PROMPT_PATH", "GD_DOCX_TEMPLATE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return CoreSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.sqlite3",
        secret_key="simulator-test-secret-key-" + "z" * 32,
        base_url="http://testserver",
        sandbox=True,
        private_media_root=tmp_path / "media",
        mail_dir=tmp_path / "mail",
        embedded_worker=False,
    )


async def _client(settings: CoreSettings) -> AsyncIterator[httpx.AsyncClient]:
    # the installed entry point registers the plugin, as in a real start
    app = create_app(settings, run_worker=False)
    headers = {"authorization": f"Bearer {sandbox_api_key(settings).get_secret_value()}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as client:
        yield client


@pytest.fixture
async def sandbox(sandbox_settings: CoreSettings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(sandbox_settings):
        yield client


async def test_the_sandbox_mounts_an_openai_compatible_endpoint(
    sandbox: httpx.AsyncClient,
) -> None:
    response = await sandbox.post(CHAT, json={"model": "gpt-4o-mini", "messages": MESSAGES})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == answer_for(MESSAGES)
    assert body["usage"]["total_tokens"] > 0
    again = await sandbox.post(CHAT, json={"model": "gpt-4o-mini", "messages": MESSAGES})
    assert again.json()["choices"] == body["choices"]  # deterministic


async def test_the_sandbox_refuses_another_key(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.post(
        CHAT,
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


async def test_misbehaviours_are_queued_per_app(sandbox_settings: CoreSettings) -> None:
    async for first in _client(sandbox_settings):
        async for second in _client(sandbox_settings):
            queued = await first.post("/sandbox/openai/control", json={"misbehave": ["429"]})
            assert queued.json()["pending"] == ["429"]
            request = {"model": "m", "messages": MESSAGES}
            assert (await second.post(CHAT, json=request)).status_code == 200
            assert (await first.post(CHAT, json=request)).status_code == 429
            assert (await first.post(CHAT, json=request)).status_code == 200


async def test_a_bad_control_request_says_what_to_send(sandbox: httpx.AsyncClient) -> None:
    response = await sandbox.post("/sandbox/openai/control", json={"misbehave": ["nap"]})
    assert response.status_code == 400
    assert "429, 500, timeout, empty, refusal" in response.json()["error"]["message"]


def test_the_kit_follows_the_prompt() -> None:
    kit = answer_for(MESSAGES)
    assert kit.startswith("# Kit d'audit : Coop Kora\n")
    assert "| Étape | Échéance | Responsable |" in kit
    assert "*Aucun document transmis pour l'instant.*" in kit
    assert answer_for([*MESSAGES[:1], {"role": "user", "content": "autre"}]) != kit
