"""``gated-delivery staff ...``: staff accounts of the built-in login."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import click

from gated_delivery import staff_accounts
from gated_delivery.config import load_settings
from gated_delivery.errors import GatedDeliveryError
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.text import terminal_safe

T = TypeVar("T")


@click.group()
def staff() -> None:
    """Staff accounts for the /staff pages."""


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = click.prompt(
            "Password", hide_input=True, confirmation_prompt=True, err=True
        )
        return password
    # piped (a script or a secret store): the first line is the password
    return sys.stdin.readline().rstrip("\r\n")


def _run(job: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``job`` on a runtime built from the environment; our errors end in one line."""

    async def main() -> T:
        rt = build_runtime(load_settings())
        try:
            return await job(rt)
        finally:
            await rt.close()

    try:
        return asyncio.run(main())
    except GatedDeliveryError as exc:
        raise click.ClickException(terminal_safe(exc)) from None


def _echo(message: str) -> None:
    click.echo(terminal_safe(message))


@staff.command("create-user")
@click.argument("email")
@click.option("--name", default="", help="Name shown on the staff pages.")
def create_user(email: str, name: str) -> None:
    """Create a staff account; the password is asked twice, or read from stdin if piped."""
    password = _read_password()

    async def run(rt: Runtime) -> str:
        account = await staff_accounts.create_account(rt, email, password, display_name=name)
        return account.email

    _echo(f"staff account {_run(run)} created")


@staff.command("set-password")
@click.argument("email")
def set_password(email: str) -> None:
    """Give a staff account a new password (asked twice, or read from stdin if piped).

    Every open session of the account ends: log in again with the new password.
    """
    password = _read_password()
    _run(lambda rt: staff_accounts.set_password(rt, email, password))
    _echo(f"password of {email.strip().lower()} changed; its sessions are ended")


@staff.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Deactivate a staff account; its open sessions end at once."""
    _run(lambda rt: staff_accounts.disable_account(rt, email))
    _echo(f"staff account {email.strip().lower()} disabled")


@staff.command("lockouts")
@click.option("--hours", default=24, show_default=True, help="How far back to look.")
def lockouts(hours: int) -> None:
    """List the login delays started lately: account, address hash, how long."""

    async def run(rt: Runtime) -> list[str]:
        since = rt.clock.now() - timedelta(hours=hours)
        return [
            f"{e.created_at:%Y-%m-%d %H:%M:%S} {e.subject_id} "
            f"client {e.data.get('client', '?')}: {e.reason}"
            for e in await staff_accounts.recent_lockouts(rt, since)
        ]

    lines = _run(run)
    for line in lines:
        _echo(line)
    _echo(f"{len(lines)} lockout(s) in the last {hours} h")


@staff.command("set-admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the right back.")
def set_admin(email: str, revoke: bool) -> None:
    """Let a staff account manage webhook endpoints on the staff pages (or not)."""
    _run(lambda rt: staff_accounts.set_admin(rt, email, not revoke))
    _echo(f"{email.strip().lower()} {'is no longer' if revoke else 'is now'} an admin")
