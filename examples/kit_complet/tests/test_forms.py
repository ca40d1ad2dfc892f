"""The form tables and their checks (forms.py), and the price shown to buyers."""

from __future__ import annotations

import pytest
from kit_complet import forms
from kit_complet.templating import THIN_SPACE, price

from gated_delivery.money import Money

VALID = {
    "organization_name": "Association Tefy",
    "contact_name": "Awa Diop",
    "email": " awa@example.org ",
    "statut_juridique": "Association",
    "location": "Thiès, Sénégal",
    "sector": "Santé",
    "mission_text": "Soins",
    "context_text": "Bailleur",
    "budget_range": forms.BUDGET_RANGES[0],
    "funding_sources": "Cotisations",
    "audits_types.0": "1",
    "audits_types.3": "1",
    "audits_frequency": forms.AUDIT_FREQUENCIES[2],
    "staff_size": "1 200",
}


def test_a_complete_inquiry_gives_clean_answers() -> None:
    checked = forms.check(forms.INQUIRY, VALID)
    assert checked.ok, checked.errors
    assert checked.answers["email"] == "awa@example.org"
    assert checked.answers["staff_size"] == 1200
    assert checked.answers["audits_types"] == [forms.AUDIT_TYPES[0], forms.AUDIT_TYPES[3]]
    assert checked.answers["notes_text"] == ""  # optional and blank


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("organization_name", "   ", "Ce champ est obligatoire."),
        ("organization_name", "x" * 201, "200 caractères au plus (vous en avez saisi 201)."),
        ("email", "awa@", "Cette adresse e-mail n'est pas valide"),
        ("statut_juridique", "", "Choisissez une valeur dans la liste."),
        ("statut_juridique", "SARL inventée", "Choisissez une des valeurs proposées."),
        ("staff_size", "douze", "Indiquez un nombre entier"),
        ("staff_size", "-3", "Indiquez un nombre entier"),
        ("staff_size", "١٢", "Indiquez un nombre entier"),  # digits, but not ASCII ones
        ("staff_size", "2000000", "Indiquez un nombre entre 0 et 1 000 000."),
    ],
)
def test_each_bad_answer_gets_its_own_message(name: str, value: str, message: str) -> None:
    checked = forms.check(forms.INQUIRY, {**VALID, name: value})
    assert list(checked.errors) == [name]
    assert checked.errors[name].startswith(message)
    assert checked.typed[name] == value  # shown back exactly as typed


def test_no_audit_type_ticked() -> None:
    data = {k: v for k, v in VALID.items() if not k.startswith("audits_types.")}
    checked = forms.check(forms.INQUIRY, data)
    assert checked.errors == {"audits_types": "Cochez au moins une case."}
    assert checked.typed["audits_types"] == []


def test_an_empty_form_names_every_required_field() -> None:
    checked = forms.check(forms.INQUIRY, {})
    required = {f.name for f in forms.INQUIRY if f.required}
    assert set(checked.errors) == required


def test_checkbox_inputs_have_distinct_names() -> None:
    # the upload intake refuses a field sent twice: each box must be its own field
    field = next(f for f in forms.INQUIRY if f.kind == "checkboxes")
    names = [field.input_name(c) for c in field.choices]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("money", "shown"),
    [
        (Money(150_000, "XOF"), f"150{THIN_SPACE}000 XOF"),
        (Money(15_000, "XOF"), f"15{THIN_SPACE}000 XOF"),
        (Money(500, "XOF"), "500 XOF"),
        (Money(123_456_789, "EUR"), f"1{THIN_SPACE}234{THIN_SPACE}567,89 EUR"),
    ],
)
def test_prices_are_written_the_french_way(money: Money, shown: str) -> None:
    assert price(money) == shown
