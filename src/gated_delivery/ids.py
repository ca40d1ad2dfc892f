"""Random public identifiers: unguessable, never sequential, letters and digits only.

Only letters and digits: an id never starts with ``-`` (which a command line would read as
an option) and passes the strictest provider charsets (CinetPay's transaction ids) as is.
"""

from __future__ import annotations

import secrets
import string
from typing import Final

ALPHABET: Final = string.ascii_letters + string.digits
#: 22 characters of 62: about 131 bits of randomness.
LENGTH: Final = 22


def new_public_id() -> str:
    """A random id of 22 letters and digits."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
