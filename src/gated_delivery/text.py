"""Text hygiene: refusing control characters in what people type, escaping them on output.

A buyer's name or answer ends up in staff pages, mails and an operator's terminal. Control
characters (C0, C1, DEL) and the invisible bidi controls can rewrite a terminal, hide text
or reorder it on screen, so single-line input refuses them all, multi-line input keeps only
line breaks and tabs, and anything printed to a terminal shows them escaped.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any, Final

from gated_delivery.errors import InvalidInput

#: Invisible characters that reorder text on screen (Trojan Source, CVE-2021-42574).
BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: What a multi-line answer (a text area) may hold besides printable text.
LINE_BREAKS: Final = frozenset("\n\r\t")


def is_unsafe(char: str) -> bool:
    """True for a control character (C0, DEL, C1), a line/paragraph separator or a bidi control."""
    return char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp")


def unsafe_characters(value: str, allowed: Iterable[str] = ()) -> list[str]:
    """The unsafe characters of ``value`` (not in ``allowed``), as ``U+XXXX`` names."""
    keep = frozenset(allowed)
    found = sorted({c for c in value if c not in keep and is_unsafe(c)})
    return [f"U+{ord(c):04X}" for c in found]


def check_single_line(value: str, field: str | None = None) -> str:
    """``value`` unchanged, or ``InvalidInput`` if it holds a control or bidi character."""
    return _refuse_unsafe(value, field, allowed=())


def check_multi_line(value: str, field: str | None = None) -> str:
    """Like ``check_single_line``, but line breaks and tabs are allowed."""
    return _refuse_unsafe(value, field, allowed=LINE_BREAKS)


def _refuse_unsafe(value: str, field: str | None, allowed: Iterable[str]) -> str:
    bad = unsafe_characters(value, allowed)
    if bad:
        raise InvalidInput(
            f"control or invisible characters are not allowed here ({', '.join(bad)}); "
            "retype the text without them",
            field=field,
        )
    return value


def check_answers(answers: Any, field: str = "answers") -> None:
    """Refuse control characters in every string of a form's answers (lists and maps too)."""
    if isinstance(answers, str):
        check_multi_line(answers, field)
    elif isinstance(answers, dict):
        for key, value in answers.items():
            check_single_line(str(key), field)
            check_answers(value, field)
    elif isinstance(answers, list | tuple):
        for value in answers:
            check_answers(value, field)


def one_line(value: str, limit: int) -> str:
    """``value`` as one short line for a page: unsafe characters and runs of blanks become one
    space, and past ``limit`` characters it is cut with an ellipsis (``…``)."""
    cleaned = " ".join("".join(" " if is_unsafe(c) else c for c in value).split())
    return cleaned if len(cleaned) <= limit else cleaned[: max(limit - 1, 0)].rstrip() + "…"


def terminal_safe(value: object, *, json_escapes: bool = False) -> str:
    """``value`` as text with every unsafe character shown as an escape (``\\x1b``, ``\\u202e``).

    For anything user-controlled printed to a terminal: the characters stay visible to the
    operator, and none of them reaches the terminal as a command. ``json_escapes`` writes
    ``\\u001b`` forms only and keeps line breaks, so that the output of ``json.dumps`` stays
    valid JSON (it escapes every line break inside a string: a raw one is layout).
    """
    text = str(value)
    keep = "\n" if json_escapes else ""
    if not any(is_unsafe(c) and c not in keep for c in text):
        return text
    return "".join(_escape(c, json_escapes) if is_unsafe(c) and c not in keep else c for c in text)


def _escape(char: str, json_escapes: bool) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 and not json_escapes else f"\\u{code:04x}"
