"""``gated-delivery staff ...``: staff accounts of the built-in login."""

from __future__ import annotations

import asyncio
import sys

import click

from gated_delivery import staff_accounts
from gated_delivery.config import load_settings
from gated_delivery.errors import GatedDeliveryError
from gated_delivery.runtime import build_runtime


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


@staff.command("create-user")
@click.argument("email")
@click.option("--name", default="", help="Name shown on the staff pages.")
def create_user(email: str, name: str) -> None:
    """Create a staff account; the password is asked twice, or read from stdin if piped."""
    password = _read_password()
    settings = load_settings()

    async def run() -> str:
        rt = build_runtime(settings)
        try:
            account = await staff_accounts.create_account(rt, email, password, display_name=name)
            return account.email
        finally:
            await rt.close()

    try:
        created = asyncio.run(run())
    except GatedDeliveryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"staff account {created} created")


@staff.command("set-password")
@click.argument("email")
def set_password(email: str) -> None:
    """Give a staff account a new password, asked twice or read from stdin if piped."""
    password = _read_password()
    settings = load_settings()

    async def run() -> None:
        rt = build_runtime(settings)
        try:
            await staff_accounts.set_password(rt, email, password)
        finally:
            await rt.close()

    try:
        asyncio.run(run())
    except GatedDeliveryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password of {email.strip().lower()} changed")
