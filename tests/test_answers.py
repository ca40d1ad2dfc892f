"""A buyer's answers under their labels: choices as lists, long texts as paragraphs."""

from __future__ import annotations

from gated_delivery.answers import as_text, present, readable_key
from gated_delivery.plugin_types import FormField, FormSchema

SCHEMA = FormSchema(
    fields=[
        FormField("organization_name", "Nom de l'organisation"),
        FormField("audits_types", "Types d'audit", {"fin": "Audit financier", "don": "Bailleur"}),
        FormField("mission_text", "Mission"),
    ]
)


def test_labels_order_lists_and_paragraphs() -> None:
    shown = present(
        SCHEMA,
        {
            "mission_text": "Première ligne\nsuite\n\nDeuxième paragraphe",
            "audits_types": ["fin", "don"],
            "organization_name": "Awa SARL",
            "extra_note": "hors formulaire",
        },
    )
    assert [a.label for a in shown] == [
        "Nom de l'organisation",
        "Types d'audit",
        "Mission",
        "Extra note",
    ]
    assert shown[1].shape == "list"
    assert shown[1].values == ("Audit financier", "Bailleur")
    assert shown[2].shape == "paragraphs"
    assert shown[2].values == ("Première ligne\nsuite", "Deuxième paragraphe")
    assert shown[0].values == ("Awa SARL",)


def test_without_a_schema_keys_are_made_readable() -> None:
    shown = present(None, {"staff_size": 12, "consent": True})
    assert [(a.label, a.values) for a in shown] == [("Consent", ("✓",)), ("Staff size", ("12",))]
    assert readable_key("mission_text") == "Mission text"


def test_as_text_never_prints_a_python_list() -> None:
    lines = as_text(present(SCHEMA, {"audits_types": ["fin"], "mission_text": "a\n\nb"}))
    assert lines == ["Types d'audit:", "  - Audit financier", "Mission:", "    a", "    b"]
    assert not any("[" in line for line in lines)
