"""The staff pages' words, in French (the default) and English.

The language comes from ``?lang=`` (remembered in the ``gd_lang`` cookie), then that cookie,
then French. Templates call ``t("key")``; a missing English word falls back to French.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

LANGUAGES: Final = ("fr", "en")
DEFAULT: Final = "fr"
COOKIE: Final = "gd_lang"

FR: Final[dict[str, str]] = {
    "staff": "Espace équipe",
    "orders": "Commandes",
    "login": "Connexion",
    "logout": "Se déconnecter",
    "email": "E-mail",
    "password": "Mot de passe",
    "sign_in": "Se connecter",
    "bad_login": "E-mail ou mot de passe incorrect.",
    "bad": "E-mail ou mot de passe incorrect.",
    "rate_limited": "Trop de tentatives : réessayez dans quelques minutes.",
    "needs_action": "À traiter",
    "review_payments": "Paiements à vérifier",
    "draft_ready": "Brouillons prêts",
    "generation_failed": "Générations échouées",
    "dead_jobs": "Tâches abandonnées",
    "payment": "Paiement",
    "fulfilment": "Livraison",
    "product": "Produit",
    "all": "Tous",
    "from": "Du",
    "to": "Au",
    "search": "Recherche (e-mail ou n° de commande)",
    "filter": "Filtrer",
    "reset": "Effacer",
    "created": "Créée",
    "buyer": "Client",
    "amount": "Montant",
    "none": "Aucune commande ne correspond.",
    "previous": "Précédent",
    "next": "Suivant",
    "page": "Page",
    "order": "Commande",
    "answers": "Réponses au formulaire",
    "documents": "Documents envoyés",
    "attempts": "Tentatives de paiement",
    "provider": "Moyen de paiement",
    "state": "État",
    "reference": "Référence",
    "confirmed": "Confirmé",
    "provider_data": "Données du prestataire",
    "draft": "Brouillon",
    "final": "Version finale",
    "download": "Télécharger",
    "upload_final": "Déposer la version finale",
    "file": "Fichier",
    "publish": "Publier et envoyer le lien",
    "resend": "Renvoyer un lien",
    "revoke": "Révoquer les liens",
    "reason": "Motif (obligatoire)",
    "retry_generation": "Relancer la génération",
    "recheck": "Revérifier le paiement auprès du prestataire",
    "no_action": "Aucune action n'est possible dans l'état actuel de la commande.",
    "accept_paid": "Accepter comme payé",
    "mark_refunded": "Marquer remboursé",
    "links": "Liens de téléchargement actifs",
    "uses": "Utilisations",
    "expires": "Expire",
    "jobs": "Tâches",
    "attempts_count": "Essais",
    "error": "Erreur",
    "timeline": "Historique",
    "actor": "Par",
    "actions": "Actions",
    "refused": "Action refusée",
    "done": "C'est fait",
    "nothing": "Rien",
    "superseded": "remplacé",
    "language": "English",
}

EN: Final[dict[str, str]] = {
    "staff": "Staff",
    "orders": "Orders",
    "login": "Log in",
    "logout": "Log out",
    "email": "E-mail",
    "password": "Password",
    "sign_in": "Log in",
    "bad_login": "Wrong e-mail or password.",
    "bad": "Wrong e-mail or password.",
    "rate_limited": "Too many attempts: try again in a few minutes.",
    "needs_action": "Needs action",
    "review_payments": "Payments to review",
    "draft_ready": "Drafts ready",
    "generation_failed": "Failed generations",
    "dead_jobs": "Dead jobs",
    "payment": "Payment",
    "fulfilment": "Fulfilment",
    "product": "Product",
    "all": "All",
    "from": "From",
    "to": "To",
    "search": "Search (e-mail or order id)",
    "filter": "Filter",
    "reset": "Clear",
    "created": "Created",
    "buyer": "Buyer",
    "amount": "Amount",
    "none": "No order matches.",
    "previous": "Previous",
    "next": "Next",
    "page": "Page",
    "order": "Order",
    "answers": "Form answers",
    "documents": "Uploaded documents",
    "attempts": "Payment attempts",
    "provider": "Provider",
    "state": "State",
    "reference": "Reference",
    "confirmed": "Confirmed",
    "provider_data": "Provider data",
    "draft": "Draft",
    "final": "Final",
    "download": "Download",
    "upload_final": "Upload the final",
    "file": "File",
    "publish": "Publish and send the link",
    "resend": "Resend a link",
    "revoke": "Revoke links",
    "reason": "Reason (required)",
    "retry_generation": "Retry generation",
    "recheck": "Re-check the payment with the provider",
    "no_action": "No action is possible in the order's present state.",
    "accept_paid": "Accept as paid",
    "mark_refunded": "Mark refunded",
    "links": "Live download links",
    "uses": "Uses",
    "expires": "Expires",
    "jobs": "Jobs",
    "attempts_count": "Tries",
    "error": "Error",
    "timeline": "Timeline",
    "actor": "By",
    "actions": "Actions",
    "refused": "Action refused",
    "done": "Done",
    "nothing": "None",
    "superseded": "superseded",
    "language": "Français",
}

MESSAGES: Final = {"fr": FR, "en": EN}


def language(request: Request) -> str:
    """The language of this request: ``?lang=``, else the ``gd_lang`` cookie, else French."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return str(candidate)
    return DEFAULT


def translator(lang: str) -> dict[str, str]:
    """The words of ``lang``, French filling any gap."""
    return {**FR, **MESSAGES.get(lang, FR)}
