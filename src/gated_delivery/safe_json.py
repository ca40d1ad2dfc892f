"""JSON from strangers: nesting is bounded before the parser sees the text.

Python's ``json`` recurses once per nesting level; a 64 KiB body of ``[[[[...`` makes it
raise ``RecursionError``, which is no ``ValueError`` and so escapes the callers' checks as
a 500 with a traceback. ``loads`` refuses such a body with ``JSONTooDeep`` (a
``ValueError``) after one linear scan.
"""

from __future__ import annotations

import json
from typing import Any, Final

#: Deeper than any notification a provider sends.
MAX_DEPTH: Final = 32
_OPEN: Final = frozenset(b"[{")
_CLOSE: Final = frozenset(b"]}")
_QUOTE: Final = ord('"')
_BACKSLASH: Final = ord("\\")


class JSONTooDeep(ValueError):
    """The JSON text nests deeper than allowed; it was not parsed."""


def depth(text: bytes) -> int:
    """How deep arrays and objects nest in ``text`` (brackets inside strings do not count)."""
    deepest = level = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            level += 1
            deepest = max(deepest, level)
        elif byte in _CLOSE:
            level -= 1
    return deepest


def loads(text: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads``, or ``JSONTooDeep`` when ``text`` nests deeper than ``max_depth``."""
    raw = text.encode() if isinstance(text, str) else text
    if depth(raw) > max_depth:
        raise JSONTooDeep(f"the JSON nests deeper than {max_depth} levels")
    return json.loads(raw)
