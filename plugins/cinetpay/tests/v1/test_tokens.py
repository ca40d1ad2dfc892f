"""The Bearer token cache (v1/tokens.py): one login for concurrent callers, renewals, lifetime."""

from __future__ import annotations

import asyncio
import base64
import json

from gated_delivery_cinetpay.v1.tokens import (
    DEFAULT_LIFETIME_SECONDS,
    SAFETY_MARGIN_SECONDS,
    TokenCache,
    lifetime_seconds,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def jwt(payload: dict[str, object]) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJIUzI1NiJ9.{encoded}.signature"


class Logins:
    """A login that counts its calls and answers after a pause (so callers overlap)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        await asyncio.sleep(0.01)
        return f"token-{self.calls}"


async def test_concurrent_callers_share_one_login() -> None:
    cache, login = TokenCache(), Logins()
    tokens = await asyncio.gather(*(cache.get(login) for _ in range(20)))
    assert set(tokens) == {"token-1"}
    assert login.calls == 1


async def test_a_renewal_by_one_caller_serves_the_others() -> None:
    cache, login = TokenCache(), Logins()
    refused = await cache.get(login)
    renewed = await asyncio.gather(*(cache.renew(refused, login) for _ in range(10)))
    assert set(renewed) == {"token-2"}
    assert login.calls == 2


async def test_a_token_is_kept_until_its_lifetime_ends() -> None:
    clock, login = Clock(), Logins()
    cache = TokenCache(clock=clock)
    assert await cache.get(login) == "token-1"
    clock.now += DEFAULT_LIFETIME_SECONDS - 1
    assert await cache.get(login) == "token-1"
    clock.now += 1
    assert await cache.get(login) == "token-2"


async def test_the_cache_works_from_several_event_loops() -> None:
    cache, login = TokenCache(), Logins()
    first = await cache.get(login)
    # another loop (a CLI command, a test) shares the token without sharing a lock
    second = await asyncio.to_thread(asyncio.run, cache.get(login))
    assert (first, second, login.calls) == ("token-1", "token-1", 1)


def test_the_lifetime_comes_from_the_jwt_expiry_less_a_margin() -> None:
    assert lifetime_seconds(jwt({"exp": 5000}), now=lambda: 4000.0) == 1000 - SAFETY_MARGIN_SECONDS
    assert lifetime_seconds(jwt({"exp": 10**10}), now=lambda: 0.0) == DEFAULT_LIFETIME_SECONDS
    assert lifetime_seconds(jwt({"exp": 10}), now=lambda: 4000.0) == 0.0
    assert lifetime_seconds("opaque-token") == DEFAULT_LIFETIME_SECONDS
    assert lifetime_seconds(jwt({"exp": "soon"})) == DEFAULT_LIFETIME_SECONDS
    assert lifetime_seconds("a.!!!.c") == DEFAULT_LIFETIME_SECONDS
