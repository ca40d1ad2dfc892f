"""States and history in words, in French (the default) and English.

The tables below name every state of every machine (``PaymentStatus``, ``FulfilmentState``,
``AttemptState``, ``JobState``) and say each audit event as a sentence; a test checks that
no state or move is left without words. Anything unknown is still shown, made readable,
rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from gated_delivery import audit_names
from gated_delivery.states import ATTEMPT, FULFILMENT, ORDER

Kind = Literal["payment", "fulfilment", "attempt", "job"]
Lang = str

_STATES: Final[dict[Kind, dict[str, tuple[str, str]]]] = {
    # value: (French, English)
    "payment": {
        "unpaid": ("Non payée", "Unpaid"),
        "pending": ("Paiement en cours", "Payment pending"),
        "paid": ("Payé", "Paid"),
        "failed": ("Paiement échoué", "Payment failed"),
        "review": ("Paiement à vérifier", "Payment to review"),
        "refunded": ("Remboursé", "Refunded"),
    },
    "fulfilment": {
        "received": ("Reçue", "Received"),
        "queued": ("En file d'attente", "Queued"),
        "generating": ("Rédaction en cours", "Being drafted"),
        "draft_ready": ("Brouillon prêt", "Draft ready"),
        "generation_failed": ("Rédaction échouée", "Drafting failed"),
        "final_uploaded": ("Version finale déposée", "Final uploaded"),
        "published": ("Publié", "Published"),
        "delivered": ("Livré", "Delivered"),
        "revoked": ("Révoqué", "Revoked"),
    },
    "attempt": {
        "created": ("Créée", "Created"),
        "pending": ("En attente du prestataire", "Awaiting the provider"),
        "succeeded": ("Réussie", "Succeeded"),
        "failed": ("Échouée", "Failed"),
        "cancelled": ("Annulée", "Cancelled"),
        "expired": ("Expirée", "Expired"),
        "review": ("À vérifier", "To review"),
    },
    "job": {
        "pending": ("En attente", "Waiting"),
        "running": ("En cours", "Running"),
        "done": ("Terminée", "Done"),
        "dead": ("Abandonnée", "Given up"),
    },
}

#: The audit trail's machine names and the state kind each one moves.
MACHINE_KINDS: Final[dict[str, Kind]] = {
    ATTEMPT.name: "attempt",
    ORDER.name: "payment",
    FULFILMENT.name: "fulfilment",
}

#: Sentences for a move to a state, by (machine, target); ``{by}`` names who made it.
_MOVES: Final[dict[tuple[str, str], tuple[str, str]]] = {
    (ATTEMPT.name, "pending"): (
        "Paiement commencé chez {provider}",
        "Payment started with {provider}",
    ),
    (ATTEMPT.name, "succeeded"): (
        "Paiement confirmé par {provider}",
        "Payment confirmed by {provider}",
    ),
    (ATTEMPT.name, "failed"): (
        "Paiement refusé par {provider}",
        "Payment refused by {provider}",
    ),
    (ATTEMPT.name, "cancelled"): (
        "Paiement annulé chez {provider}",
        "Payment cancelled at {provider}",
    ),
    (ATTEMPT.name, "expired"): (
        "Paiement expiré chez {provider}",
        "Payment expired at {provider}",
    ),
    (ATTEMPT.name, "review"): (
        "Montant ou devise différents chez {provider} : à vérifier",
        "Amount or currency differs at {provider}: to review",
    ),
    (ORDER.name, "pending"): ("Commande en attente de paiement", "Order awaiting payment"),
    (ORDER.name, "paid"): ("Commande payée", "Order paid"),
    (ORDER.name, "failed"): ("Paiement de la commande échoué", "Order payment failed"),
    (ORDER.name, "review"): ("Paiement de la commande à vérifier", "Order payment to review"),
    (ORDER.name, "refunded"): ("Commande remboursée", "Order refunded"),
    (FULFILMENT.name, "queued"): ("Rédaction mise en file d'attente", "Drafting queued"),
    (FULFILMENT.name, "generating"): ("Rédaction du brouillon commencée", "Drafting started"),
    (FULFILMENT.name, "draft_ready"): ("Brouillon prêt à relire", "Draft ready to review"),
    (FULFILMENT.name, "generation_failed"): ("La rédaction a échoué", "Drafting failed"),
    (FULFILMENT.name, "final_uploaded"): ("Version finale déposée", "Final version uploaded"),
    (FULFILMENT.name, "published"): (
        "Publié : lien envoyé au client",
        "Published: link sent to the buyer",
    ),
    (FULFILMENT.name, "delivered"): ("Téléchargé par le client", "Downloaded by the buyer"),
    (FULFILMENT.name, "revoked"): ("Livraison révoquée", "Delivery revoked"),
}

#: Sentences for events that are not moves, by (machine, event).
_EVENTS: Final[dict[tuple[str, str], tuple[str, str]]] = {
    (audit_names.ORDER, "created"): ("Commande créée", "Order created"),
    (audit_names.ORDER, "inquiry_received"): (
        "Demande reçue (annoncée aux administrateurs)",
        "Inquiry received (announced to the admins)",
    ),
    (audit_names.ORDER, "uploads_purged"): (
        "Documents supprimés : commande jamais payée",
        "Documents deleted: order never paid",
    ),
    (ATTEMPT.name, "created"): (
        "Tentative de paiement créée ({provider})",
        "Payment attempt created ({provider})",
    ),
    (ATTEMPT.name, "staff_recheck"): (
        "Paiement revérifié auprès du prestataire",
        "Payment re-checked with the provider",
    ),
    (audit_names.WEBHOOK, "rejected"): (
        "Notification refusée (signature)",
        "Notification refused (signature)",
    ),
    (audit_names.MAIL, "sent"): ("E-mail envoyé", "E-mail sent"),
    (audit_names.MAIL, "skipped"): ("E-mail non envoyé", "E-mail not sent"),
    (audit_names.DOWNLOAD_LINK, "created"): (
        "Lien de téléchargement créé",
        "Download link created",
    ),
    (audit_names.DOWNLOAD_LINK, "consumed"): (
        "Lien de téléchargement utilisé",
        "Download link used",
    ),
    (audit_names.DOWNLOAD_LINK, "revoked"): (
        "Lien de téléchargement révoqué",
        "Download link revoked",
    ),
    (audit_names.DOWNLOAD_LINK, "renewed"): ("Nouveau lien envoyé", "New link sent"),
    (audit_names.DOWNLOAD_LINK, "resend"): (
        "Lien renvoyé au client",
        "Link sent again to the buyer",
    ),
    (audit_names.DOWNLOAD_LINK, "renewal_requested"): (
        "Nouveau lien demandé par le client",
        "New link requested by the buyer",
    ),
    (FULFILMENT.name, "awaiting_final"): (
        "En attente de la version finale",
        "Awaiting the final version",
    ),
    (FULFILMENT.name, "draft_stored"): ("Brouillon enregistré", "Draft stored"),
    (FULFILMENT.name, "final_replaced"): ("Version finale remplacée", "Final version replaced"),
    (FULFILMENT.name, "publish_repeated"): (
        "Publication demandée à nouveau (rien envoyé)",
        "Publish asked again (nothing sent)",
    ),
    (FULFILMENT.name, "skipped"): (
        "Étape sans objet pour ce produit",
        "Step not used by this product",
    ),
}

#: The core's own fixed reasons, in French; a reason a provider or a person wrote stays as is.
_REASONS_FR: Final[dict[str, str]] = {
    "payment session opened": "page de paiement ouverte",
    "confirmed by the provider": "confirmé par le prestataire",
    "the order was already paid by another attempt; refund this one": (
        "commande déjà payée par une autre tentative : remboursez celle-ci"
    ),
    "instant delivery": "livraison immédiate",
    "waiting for staff to upload the final document": (
        "en attente du dépôt de la version finale par l'équipe"
    ),
    "draft stored": "brouillon enregistré",
    "no review needed": "pas de relecture pour ce produit",
    "published": "publié",
    "first download": "premier téléchargement",
    "already published; nothing sent": "déjà publié : rien n'a été envoyé",
    "expired before its mail could be sent": "expiré avant l'envoi de son e-mail",
    "fulfilment revoked": "livraison révoquée",
    "rate limited": "trop de demandes",
    "never paid": "jamais payée",
}

_ACTORS: Final[dict[str, tuple[str, str]]] = {
    "buyer": ("le client", "the buyer"),
    "system": ("le système", "the system"),
    "worker": ("le système", "the system"),
    "reconciler": ("le rapprochement automatique", "the reconciler"),
    "operator": ("la ligne de commande", "the command line"),
}


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[1] if lang == "en" else pair[0]


def readable(code: str) -> str:
    """A code made readable when no word is known: ``draft_ready`` as ``Draft ready``."""
    return code.replace("_", " ").capitalize()


def state_word(kind: Kind, value: str, lang: Lang) -> str:
    """The state ``value`` of a ``kind`` machine in ``lang``: ``Payé``, ``Brouillon prêt``."""
    pair = _STATES[kind].get(value)
    return _pick(pair, lang) if pair else readable(value)


def known_states(kind: Kind) -> frozenset[str]:
    """Every state value that has words, for one kind."""
    return frozenset(_STATES[kind])


def has_move_words(machine: str, target: str) -> bool:
    """True if a move of ``machine`` to ``target`` has its own sentence."""
    return (machine, target) in _MOVES


def actor_words(actor: str, lang: Lang, providers: Mapping[str, str]) -> str:
    """Who did it: ``le client``, ``CinetPay``, a staff address."""
    if actor.startswith("provider:"):
        return provider_name(actor.removeprefix("provider:"), providers)
    if actor.startswith("staff:"):
        return actor.removeprefix("staff:")
    pair = _ACTORS.get(actor)
    return _pick(pair, lang) if pair else actor


def reason_words(reason: str, lang: Lang) -> str:
    """An audit reason in ``lang`` when it is one of the core's fixed ones, else as written."""
    return _REASONS_FR.get(reason, reason) if lang == "fr" else reason


def provider_name(name: str, providers: Mapping[str, str]) -> str:
    """A provider's short display name (``CinetPay``), or its name when it is not installed."""
    shown = providers.get(name) or name
    return shown.split(" (")[0]


def history_line(
    *,
    machine: str,
    event: str,
    to_state: str | None,
    actor: str,
    lang: Lang,
    providers: Mapping[str, str],
    provider: str = "",
) -> str:
    """One audit event as a sentence: ``Paiement confirmé par CinetPay``.

    ``provider`` is the payment attempt's provider, when the event concerns one;
    ``providers`` maps provider names to their display names.
    """
    if not provider and actor.startswith("provider:"):
        provider = actor.removeprefix("provider:")
    shown = provider_name(provider, providers) if provider else "?"
    pair = _MOVES.get((machine, to_state or "")) if event == "transition" else None
    pair = pair or _EVENTS.get((machine, event))
    if pair is None:
        kind = MACHINE_KINDS.get(machine)
        if event == "transition" and kind and to_state:
            return state_word(kind, to_state, lang)
        return readable(f"{machine} {event}")
    return _pick(pair, lang).format(provider=shown)
