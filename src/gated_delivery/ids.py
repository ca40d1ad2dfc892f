"""Random public identifiers: unguessable, URL-safe, never sequential."""

from __future__ import annotations

import secrets


def new_public_id() -> str:
    """A 128-bit random id, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)
