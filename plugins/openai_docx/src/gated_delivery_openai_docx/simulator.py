"""An OpenAI-compatible Chat Completions server, for the sandbox demo and the tests.

It answers ``POST <prefix>/v1/chat/completions`` as the OpenAI API does (same JSON shapes,
same error bodies, bearer-key check), with a French audit kit in Markdown that depends only on
the prompt: headings, bold and italic, a bullet list, a numbered list and a table. It reports
token usage (about four characters a token) and honours ``max_completion_tokens``.

It can be told to misbehave on the next calls: answer 429 or 500, take longer than the
client waits, answer with empty text, or refuse. Tests call ``misbehave``; in the sandbox,
``POST <prefix>/control`` with ``{"misbehave": ["429", "timeout"]}`` does the same. Each
simulator keeps its own state: the sandbox makes one per app.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

#: Where the simulator is mounted by default (the OpenAI API root is ``<prefix>/v1``).
DEFAULT_PREFIX: Final = "/sandbox/openai"
_ORGANIZATION: Final = re.compile(r"^- organization_name: (.+)$", re.MULTILINE)
_DOCUMENTS: Final = re.compile(r"^Uploaded documents \(\d+\):\n((?:- .*\n?)*)", re.MULTILINE)


class Misbehaviour(enum.StrEnum):
    """What the simulator can be told to do instead of answering well."""

    RATE_LIMIT = "429"
    SERVER_ERROR = "500"
    TIMEOUT = "timeout"
    EMPTY = "empty"
    REFUSAL = "refusal"


def estimate_tokens(text: str) -> int:
    """A deterministic token count: about four characters a token, as for English."""
    return max(1, len(text) // 4)


def audit_kit_markdown(
    organization: str, documents: Sequence[str], reference: str, *, chapters: int = 1
) -> str:
    """The simulator's answer: an audit kit in French Markdown.

    ``chapters`` repeats the detailed checklist chapter, for long documents (benchmarks).
    """
    lines = [
        f"# Kit d'audit : {organization}",
        "",
        f"Référence du kit : **{reference}**",
        "",
        "## 1. Synthèse",
        "",
        f"Ce kit prépare **{organization}** à ses prochains audits. Il s'appuie sur les "
        f"réponses au formulaire et sur *{len(documents)} document(s) transmis*. Les points "
        "ci-dessous sont classés par priorité ; chacun indique la pièce à réunir.",
        "",
        "## 2. Points de contrôle prioritaires",
        "",
        "- **Gouvernance** : procès-verbaux des organes statutaires signés et archivés.",
        "- **Finances** : rapprochements bancaires mensuels, *visés par le trésorier*.",
        "- **Achats** : trois devis pour toute dépense au-dessus du seuil interne.",
        "- **Ressources humaines** : contrats, fiches de poste et bulletins de paie.",
        "",
        "## 3. Plan d'action",
        "",
        "1. Nommer un référent audit et lui donner accès aux pièces.",
        "2. Rassembler les justificatifs de l'exercice écoulé.",
        "3. Organiser une revue interne avant la visite des auditeurs.",
        "",
        "## 4. Calendrier indicatif",
        "",
        "| Étape | Échéance | Responsable |",
        "|---|---|---|",
        "| Revue documentaire | Semaine 1 | Référent audit |",
        "| Entretiens | Semaine 2 | Direction |",
        "| Restitution | Semaine 3 | Auditeur externe |",
        "",
    ]
    for chapter in range(1, chapters + 1):
        lines += _checklist_chapter(chapter) if chapters > 1 else []
    lines += ["## 5. Documents reçus", ""]
    if documents:
        lines += [f"- {name}" for name in documents]
    else:
        lines.append("*Aucun document transmis pour l'instant.*")
    lines += [
        "",
        "> Ce kit est un projet : il sera relu par un consultant avant sa remise.",
        "",
    ]
    return "\n".join(lines)


def _checklist_chapter(number: int) -> list[str]:
    return [
        f"## Annexe {number} : liste de contrôle détaillée",
        "",
        f"### {number}.1 Pièces comptables",
        "",
        "Chaque écriture doit pouvoir être rattachée à une pièce justificative datée, signée "
        "et classée. Les auditeurs tirent un échantillon au hasard : une seule pièce manquante "
        "suffit à émettre une réserve. Vérifiez en particulier les **avances de caisse**, les "
        "*notes de frais* et les écritures de fin d'exercice.",
        "",
        "- Grand livre et balance générale de l'exercice.",
        "- Relevés bancaires de janvier à décembre.",
        "- Registre des immobilisations et tableau d'amortissement.",
        "- Contrats de financement et avenants signés.",
        "",
        f"### {number}.2 Procédures internes",
        "",
        "Un manuel de procédures à jour montre que les contrôles sont pensés, pas improvisés. "
        "Il décrit qui engage, qui valide et qui paie ; la même personne ne doit jamais tenir "
        "les trois rôles pour une même dépense.",
        "",
        "1. Relire le manuel de procédures et dater la dernière révision.",
        "2. Vérifier la séparation des tâches sur dix dépenses prises au hasard.",
        "3. Consigner les écarts constatés et les mesures correctrices.",
        "",
        "| Contrôle | Pièce attendue | Statut |",
        "|---|---|---|",
        "| Séparation des tâches | Matrice des délégations | À vérifier |",
        "| Rapprochement bancaire | État signé | À vérifier |",
        "| Inventaire physique | Procès-verbal | À vérifier |",
        "",
    ]


def answer_for(messages: Sequence[Any]) -> str:
    """The kit the simulator writes for these messages (the same messages, the same kit)."""
    user = "\n".join(
        str(m.get("content") or "")
        for m in messages
        if isinstance(m, dict) and m.get("role") == "user"
    )
    found = _ORGANIZATION.search(user)
    organization = found.group(1).strip() if found else "votre organisation"
    listed = _DOCUMENTS.search(user)
    documents = [line[2:].strip() for line in listed.group(1).splitlines()] if listed else []
    reference = "KIT-" + _digest(messages)[:8].upper()
    return audit_kit_markdown(organization, [d for d in documents if d], reference)


def _digest(messages: Sequence[Any]) -> str:
    return hashlib.sha256(repr(messages).encode()).hexdigest()


def _error(status: int, message: str, kind: str, code: str | None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        status_code=status,
    )


@dataclass
class OpenAISimulator:
    """An in-memory OpenAI-compatible server accepting one API key.

    ``timeout_delay_seconds`` is how long a ``TIMEOUT`` misbehaviour waits before answering:
    set it above the client's timeout. ``calls`` counts chat completion requests received.
    """

    api_key: str
    timeout_delay_seconds: float = 120.0
    calls: int = 0
    last_request: dict[str, Any] = field(default_factory=dict)
    _pending: deque[Misbehaviour] = field(default_factory=deque)
    # tests drive the simulator from their own thread while uvicorn serves it from another
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def misbehave(self, *kinds: Misbehaviour | str) -> None:
        """Misbehave on the next calls, one kind per call, in order."""
        with self._lock:
            self._pending.extend(Misbehaviour(k) for k in kinds)

    def reset(self) -> None:
        """Forget pending misbehaviours and counts."""
        with self._lock:
            self._pending.clear()
            self.calls = 0
            self.last_request = {}

    @property
    def pending(self) -> list[Misbehaviour]:
        """The misbehaviours still to come, in order."""
        with self._lock:
            return list(self._pending)

    def _next(self, body: dict[str, Any]) -> Misbehaviour | None:
        with self._lock:
            self.calls += 1
            # what was asked, without the messages: tests check settings, not content
            self.last_request = {k: v for k, v in body.items() if k != "messages"}
            return self._pending.popleft() if self._pending else None

    def _is_authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self.api_key.encode())

    async def chat_completions(self, request: Request) -> Response:
        """``POST /v1/chat/completions``."""
        if not self._is_authorised(request):
            return _error(
                401,
                "Incorrect API key provided. You can find your API key in your dashboard.",
                "invalid_request_error",
                "invalid_api_key",
            )
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body.", "invalid_request_error", None)
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages or not body.get("model"):
            return _error(
                400,
                "'model' and a non-empty 'messages' array are required.",
                "invalid_request_error",
                None,
            )
        misbehaviour = self._next(body)
        if misbehaviour is Misbehaviour.RATE_LIMIT:
            return _error(
                429,
                "Rate limit reached for requests per minute. Please try again in 1s.",
                "requests",
                "rate_limit_exceeded",
            )
        if misbehaviour is Misbehaviour.SERVER_ERROR:
            return _error(
                500, "The server had an error while processing your request.", "server_error", None
            )
        if misbehaviour is Misbehaviour.TIMEOUT:
            await asyncio.sleep(self.timeout_delay_seconds)
        text: str | None = answer_for(messages)
        refusal = None
        finish_reason = "stop"
        if misbehaviour is Misbehaviour.EMPTY:
            text = ""
        elif misbehaviour is Misbehaviour.REFUSAL:
            text, refusal = None, "Je ne peux pas répondre à cette demande."
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if text and isinstance(limit, int) and estimate_tokens(text) > limit:
            text, finish_reason = text[: limit * 4], "length"
        prompt_tokens = sum(estimate_tokens(str(m.get("content") or "")) for m in messages)
        completion_tokens = estimate_tokens(text or refusal or "") if (text or refusal) else 0
        return JSONResponse(
            {
                "id": "chatcmpl-" + _digest(messages)[:24],
                "object": "chat.completion",
                "created": int(time.time()),
                "model": str(body["model"]),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": refusal},
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "system_fingerprint": "fp_gd_simulator",
            }
        )

    async def control(self, request: Request) -> Response:
        """``GET``/``POST <prefix>/control``: see or queue misbehaviours (API key required)."""
        if not self._is_authorised(request):
            return _error(401, "Incorrect API key provided.", "invalid_request_error", None)
        if request.method == "POST":
            try:
                body = await request.json()
                self.misbehave(*body.get("misbehave", []))
            except (ValueError, AttributeError, TypeError):
                known = ", ".join(m.value for m in Misbehaviour)
                return _error(
                    400, f'send {{"misbehave": [...]}} with {known}', "invalid_request_error", None
                )
        return JSONResponse({"pending": [m.value for m in self.pending], "calls": self.calls})

    def routes(self, prefix: str = DEFAULT_PREFIX) -> list[BaseRoute]:
        """The simulator's routes under ``prefix`` (the API root is ``prefix + "/v1"``)."""
        return [
            Route(f"{prefix}/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route(f"{prefix}/control", self.control, methods=["GET", "POST"]),
        ]

    def app(self, prefix: str = DEFAULT_PREFIX) -> Starlette:
        """The simulator alone, as an ASGI app (to serve it with uvicorn)."""
        return Starlette(routes=self.routes(prefix))
