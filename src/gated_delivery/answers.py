"""A buyer's answers as a person reads them: under their labels, choices in words.

The host app gives each product's labels once, through the ``form_schema`` hook; every
reader (the staff order page, the staff mails, ``orders show``) goes through ``present``.
Answers the schema does not name are kept, under their key made readable, after the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gated_delivery.plugin_types import FormField, FormSchema

Shape = Literal["text", "list", "paragraphs"]


@dataclass(frozen=True)
class ShownAnswer:
    """One answer ready to show: its label, and its value as lines of text.

    ``shape`` says how: ``text`` is one line, ``list`` one item per value (a multiple
    choice), ``paragraphs`` one paragraph per value (a long text, each keeping its line
    breaks).
    """

    key: str
    label: str
    shape: Shape
    values: tuple[str, ...]


def readable_key(key: str) -> str:
    """``mission_text`` as ``Mission text``: what shows when no label was given."""
    words = key.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else key


def present(schema: FormSchema | None, answers: Mapping[str, Any]) -> list[ShownAnswer]:
    """The answers in the schema's order, then any the schema does not name, by key."""
    fields = {f.name: f for f in schema.fields} if schema else {}
    ordered = [name for name in fields if name in answers]
    ordered += sorted(k for k in answers if k not in fields)
    return [_show(fields.get(key), key, answers[key]) for key in ordered]


def _show(field: FormField | None, key: str, value: Any) -> ShownAnswer:
    label = field.label if field else readable_key(key)
    choices: Mapping[str, str] = field.choices if field else {}
    if isinstance(value, list | tuple):
        return ShownAnswer(
            key, label, "list", tuple(choices.get(str(v), _scalar(v)) for v in value)
        )
    if isinstance(value, dict):
        items = (f"{readable_key(str(k))}: {_scalar(v)}" for k, v in value.items())
        return ShownAnswer(key, label, "list", tuple(items))
    text = choices.get(str(value), _scalar(value)).replace("\r\n", "\n").strip()
    if "\n" not in text:
        return ShownAnswer(key, label, "text", (text,))
    paragraphs = tuple(p.strip() for p in text.split("\n\n") if p.strip())
    return ShownAnswer(key, label, "paragraphs", paragraphs)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


def as_text(shown: list[ShownAnswer]) -> list[str]:
    """The answers as plain-text lines (``orders show``, mails): ``Label: value``."""
    lines: list[str] = []
    for answer in shown:
        if answer.shape == "text":
            lines.append(f"{answer.label}: {answer.values[0]}")
            continue
        lines.append(f"{answer.label}:")
        for value in answer.values:
            first, *rest = value.splitlines() or [""]
            lines.append(("  - " if answer.shape == "list" else "    ") + first)
            lines.extend("    " + line for line in rest)
    return lines
