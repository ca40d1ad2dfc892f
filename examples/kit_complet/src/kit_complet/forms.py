"""The buyer's forms as tables of fields, and their server-side checks (messages in French).

A form is a tuple of ``Field``; ``check`` turns the submitted text into clean answers and a
message per faulty field, so that a page can show each message next to its field and fill
every input back with what the person typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from gated_delivery.api import LINE_BREAKS, InvalidInput, check_email, unsafe_characters

Kind = Literal["text", "email", "textarea", "select", "checkboxes", "number", "radio"]


@dataclass(frozen=True)
class Field:
    """One input: its name (the answer's key), label, kind, and what it accepts."""

    name: str
    label: str
    kind: Kind = "text"
    required: bool = True
    max_length: int = 200
    choices: tuple[str, ...] = ()
    hint: str = ""

    def input_name(self, choice: str) -> str:
        """The input name of one checkbox: each box is its own field (no repeated names)."""
        return f"{self.name}.{self.choices.index(choice)}"


LEGAL_STATUSES: Final = (
    "Association",
    "ONG",
    "Coopérative",
    "Groupement d'intérêt économique (GIE)",
    "Fondation",
    "Entreprise (SARL, SA, SAS…)",
    "Autre",
)
BUDGET_RANGES: Final = (
    "Moins de 10 millions XOF",
    "De 10 à 50 millions XOF",
    "De 50 à 250 millions XOF",
    "Plus de 250 millions XOF",
)
AUDIT_TYPES: Final = (
    "Audit financier",
    "Audit de conformité",
    "Audit de bailleur de fonds",
    "Audit organisationnel",
    "Contrôle fiscal",
)
AUDIT_FREQUENCIES: Final = (
    "Jamais audité",
    "Ponctuellement",
    "Une fois par an",
    "Plusieurs fois par an",
)
LONG: Final = 4000

#: The Kit Complet inquiry; names are the answers the generator and Word template expect.
INQUIRY: Final = (
    Field("organization_name", "Nom de l'organisation"),
    Field("contact_name", "Personne de contact"),
    Field("email", "Adresse e-mail", "email", max_length=320, hint="Le lien du kit y sera envoyé."),
    Field("statut_juridique", "Statut juridique", "select", choices=LEGAL_STATUSES),
    Field("location", "Localisation", hint="Ville et pays, par exemple : Thiès, Sénégal."),
    Field("sector", "Secteur d'activité", hint="Santé, éducation, agriculture…"),
    Field("mission_text", "Mission", "textarea", max_length=LONG),
    Field(
        "context_text",
        "Contexte",
        "textarea",
        max_length=LONG,
        hint="Pourquoi un audit maintenant : demande d'un bailleur, changement d'équipe…",
    ),
    Field("budget_range", "Budget annuel", "select", choices=BUDGET_RANGES),
    Field(
        "funding_sources",
        "Sources de financement",
        "textarea",
        max_length=1000,
        hint="Bailleurs, cotisations, ventes, subventions publiques…",
    ),
    Field("audits_types", "Types d'audit attendus", "checkboxes", choices=AUDIT_TYPES),
    Field("audits_frequency", "Fréquence des audits", "select", choices=AUDIT_FREQUENCIES),
    Field("staff_size", "Effectif (salariés et bénévoles réguliers)", "number", max_length=12),
    Field(
        "org_chart_text",
        "Organigramme",
        "textarea",
        required=False,
        max_length=LONG,
        hint="Décrivez les postes et qui rend compte à qui.",
    ),
    Field("notes_text", "Remarques", "textarea", required=False, max_length=LONG),
)

#: The guide needs only who to send it to.
GUIDE_ORDER: Final = (
    Field("contact_name", "Votre nom"),
    Field(
        "email", "Adresse e-mail", "email", max_length=320, hint="Le lien du guide y sera envoyé."
    ),
)

MAX_STAFF: Final = 1_000_000


@dataclass
class Checked:
    """A form after ``check``: what was typed (to show again), clean answers, and errors."""

    typed: dict[str, Any]
    answers: dict[str, Any]
    errors: dict[str, str]

    @property
    def ok(self) -> bool:
        """True when every field passed."""
        return not self.errors


def typed_values(form: tuple[Field, ...], data: Mapping[str, str]) -> dict[str, Any]:
    """What the person typed, field by field (a list of ticked choices for checkboxes)."""
    typed: dict[str, Any] = {}
    for field in form:
        if field.kind == "checkboxes":
            typed[field.name] = [c for c in field.choices if data.get(field.input_name(c))]
        else:
            typed[field.name] = data.get(field.name, "")
    return typed


def check(form: tuple[Field, ...], data: Mapping[str, str]) -> Checked:
    """Check every field of ``form`` against the submitted ``data``."""
    typed = typed_values(form, data)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in form:
        try:
            answers[field.name] = _clean(field, typed[field.name])
        except InvalidInput as exc:
            errors[field.name] = str(exc)
    return Checked(typed=typed, answers=answers, errors=errors)


def _clean(field: Field, value: Any) -> Any:
    if field.kind == "checkboxes":
        if field.required and not value:
            raise InvalidInput("Cochez au moins une case.")
        return list(value)
    text = str(value).strip()
    bad = unsafe_characters(text, LINE_BREAKS if field.kind == "textarea" else ())
    if bad:
        raise InvalidInput(
            f"Ce champ contient des caractères de contrôle ou invisibles ({', '.join(bad)}) : "
            "retapez-le sans eux."
        )
    if not text:
        if field.required:
            raise InvalidInput(_missing(field))
        return ""
    if len(text) > field.max_length:
        raise InvalidInput(
            f"{field.max_length} caractères au plus (vous en avez saisi {len(text)})."
        )
    if field.kind == "email":
        try:
            return check_email(text)
        except InvalidInput:
            raise InvalidInput(
                "Cette adresse e-mail n'est pas valide (exemple : nom@organisation.org)."
            ) from None
    if field.kind in ("select", "radio") and text not in field.choices:
        raise InvalidInput("Choisissez une des valeurs proposées.")
    if field.kind == "number":
        return _whole_number(text)
    return text


def _whole_number(text: str) -> int:
    digits = text.replace(" ", "").replace("\u202f", "").replace("\u00a0", "")
    if not digits.isascii() or not digits.isdigit():
        raise InvalidInput("Indiquez un nombre entier, par exemple 12.")
    number = int(digits)
    if number > MAX_STAFF:
        raise InvalidInput(f"Indiquez un nombre entre 0 et {MAX_STAFF:,}.".replace(",", " "))
    return number


def _missing(field: Field) -> str:
    if field.kind == "select":
        return "Choisissez une valeur dans la liste."
    return "Ce champ est obligatoire."
