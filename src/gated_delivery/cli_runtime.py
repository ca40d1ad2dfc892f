"""Running one command's work on a runtime built from the environment."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from gated_delivery.config import load_settings
from gated_delivery.errors import GatedDeliveryError
from gated_delivery.runtime import Runtime, build_runtime

R = TypeVar("R")


def run_with_runtime(job: Callable[[Runtime], Awaitable[R]]) -> R:
    """Run ``job`` on a fresh runtime and close it; our errors end in one ``Error:`` line."""

    async def run() -> R:
        rt = build_runtime(load_settings())
        try:
            return await job(rt)
        finally:
            await rt.close()

    try:
        return asyncio.run(run())
    except GatedDeliveryError as exc:
        raise click.ClickException(str(exc)) from None
