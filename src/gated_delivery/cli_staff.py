"""``gated-delivery staff ...``: staff accounts of the built-in login."""

from __future__ import annotations

import sys

import click

from gated_delivery import staff_accounts
from gated_delivery.cli_runtime import run_with_runtime
from gated_delivery.runtime import Runtime


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

    async def create(rt: Runtime) -> str:
        account = await staff_accounts.create_account(rt, email, password, display_name=name)
        return account.email

    created = run_with_runtime(create)
    click.echo(f"staff account {created} created")


@staff.command("set-password")
@click.argument("email")
def set_password(email: str) -> None:
    """Give a staff account a new password, asked twice or read from stdin if piped."""
    password = _read_password()
    run_with_runtime(lambda rt: staff_accounts.set_password(rt, email, password))
    click.echo(f"password of {email.strip().lower()} changed")


@staff.command("set-admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the right back.")
def set_admin(email: str, revoke: bool) -> None:
    """Let a staff account manage webhook endpoints on the staff pages (or not)."""
    run_with_runtime(lambda rt: staff_accounts.set_admin(rt, email, not revoke))
    click.echo(f"{email.strip().lower()} {'is no longer' if revoke else 'is now'} an admin")
