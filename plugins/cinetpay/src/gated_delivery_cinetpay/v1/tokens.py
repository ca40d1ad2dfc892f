"""The Bearer token of the current API, cached per process and renewed without a stampede.

CinetPay's token lives 24 hours; its login answer's expiry field is undocumented, so the
lifetime is read from the JWT's ``exp`` claim when there is one, and is otherwise the 23 hours
CinetPay's SDK uses. Concurrent callers share one login: the first logs in, the others wait for
its answer. A token the API calls expired or invalid is renewed once by whoever saw it first.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

#: The SDK's cache lifetime: 23 h, an hour under the API's 24 h.
DEFAULT_LIFETIME_SECONDS: Final = 82_800
#: Renew this long before the announced expiry, so a call never starts with a dying token.
SAFETY_MARGIN_SECONDS: Final = 60

Login = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class CachedToken:
    """A token and the monotonic time past which it is not used any more."""

    value: str
    renew_at: float


class TokenCache:
    """One account's Bearer token; safe to share between tasks of any event loop."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._token: CachedToken | None = None
        # an asyncio.Lock belongs to one loop; provider objects outlive loops (tests, CLI)
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"TokenCache(cached={self._token is not None})"

    async def get(self, login: Login) -> str:
        """The cached token, or a new one from ``login`` (one login for all waiting callers)."""
        token = self._valid()
        if token is not None:
            return token
        async with self._lock():
            token = self._valid()  # another task may have logged in while we waited
            return token if token is not None else await self._login(login)

    async def renew(self, refused: str, login: Login) -> str:
        """A token other than ``refused``: logs in only if no other task has done so already."""
        async with self._lock():
            current = self._valid()
            if current is not None and current != refused:
                return current
            self._token = None
            return await self._login(login)

    def forget(self) -> None:
        """Drop the cached token: the next call logs in."""
        self._token = None

    def _valid(self) -> str | None:
        token = self._token
        if token is None or self._clock() >= token.renew_at:
            return None
        return token.value

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _login(self, login: Login) -> str:
        value = await login()
        lifetime = lifetime_seconds(value)
        self._token = CachedToken(value, self._clock() + lifetime)
        return value


def lifetime_seconds(token: str, now: Callable[[], float] = time.time) -> float:
    """How long to keep ``token``: until its ``exp`` less a margin, at most 23 hours."""
    expires = _jwt_expiry(token)
    if expires is None:
        return DEFAULT_LIFETIME_SECONDS
    return max(min(expires - now() - SAFETY_MARGIN_SECONDS, DEFAULT_LIFETIME_SECONDS), 0.0)


def _jwt_expiry(token: str) -> float | None:
    # read, not verified: the expiry only decides when to log in again; CinetPay decides
    # whether the token is good
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    expires = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(expires, int | float) and not isinstance(expires, bool):
        return float(expires)
    return None
