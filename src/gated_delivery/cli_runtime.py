"""What every command shares: its settings, its runtime, one-line errors, escaped output."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from gated_delivery.config import CoreSettings, load_settings
from gated_delivery.errors import GatedDeliveryError
from gated_delivery.logcontext import configure_logging_from
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.text import terminal_safe

P = ParamSpec("P")
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


def echo(message: str, *, err: bool = False) -> None:
    """Print one line with its control characters escaped (it may hold a buyer's text)."""
    click.echo(terminal_safe(message), err=err)


def fail_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn our typed errors into one ``Error: ...`` line and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except GatedDeliveryError as exc:
            raise click.ClickException(terminal_safe(exc)) from None

    return wrapper


def command_settings(**overrides: Any) -> CoreSettings:
    """The settings from the environment, with logging set up as they say."""
    settings = load_settings(**overrides)
    configure_logging_from(settings)
    return settings


def run_on(settings: CoreSettings, job: Callable[[Runtime], Awaitable[R]]) -> R:
    """Run ``job`` on a runtime built from ``settings`` and close it."""

    async def main() -> R:
        rt = build_runtime(settings)
        try:
            return await job(rt)
        finally:
            await rt.close()

    return asyncio.run(main())


def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """A file's bytes as the uploads' intake reads them, a quarter MiB at a time."""

    async def chunks() -> AsyncIterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(256 * 1024):
                yield chunk

    return chunks()
