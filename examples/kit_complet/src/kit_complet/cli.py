"""``kit-complet``: prepare the database, run the app, or both at once for the demo."""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Final

import click
from gated_delivery_openai_docx.settings import SANDBOX_PATH, sandbox_api_key

from gated_delivery.api import (
    CoreSettings,
    GatedDeliveryError,
    InvalidInput,
    bind_or_exit,
    create_account,
    load_settings,
    reconcile_command,
    run_server,
    set_password,
    worker_command,
)
from kit_complet.app import build_kit_runtime, create_kit_app, kit_settings, use_kit_defaults
from kit_complet.offers import seed as seed_offers

#: The demo's staff account; its password is new at each ``demo`` and printed.
DEMO_STAFF_EMAIL: Final = "equipe@kit-complet.example"
DEMO_ADMIN_EMAIL: Final = "admin@kit-complet.example"


def _settings(sandbox: bool) -> CoreSettings:
    try:
        return kit_settings(load_settings(**({"sandbox": True} if sandbox else {})))
    except GatedDeliveryError as exc:
        raise click.ClickException(str(exc)) from None


async def _prepare(settings: CoreSettings, staff_password: str | None) -> list[str]:
    rt = build_kit_runtime(settings)
    try:
        done = await seed_offers(rt)
        if staff_password is not None:
            try:
                await create_account(
                    rt, DEMO_STAFF_EMAIL, staff_password, display_name="Équipe Kit Complet"
                )
            except InvalidInput:  # a second demo run: same account, new password
                await set_password(rt, DEMO_STAFF_EMAIL, staff_password)
        return done
    finally:
        await rt.close()


@click.group()
def main() -> None:
    """Kit Complet, the gated-delivery reference app."""
    use_kit_defaults()


# the core's commands, run with this app's defaults (its template, its order page)
main.add_command(worker_command)
main.add_command(reconcile_command)


@main.command()
@click.option("--sandbox", is_flag=True, help="Use the simulators (as GD_SANDBOX=1).")
def seed(sandbox: bool) -> None:
    """Create or migrate the database and add the two products; safe to run again."""
    for line in asyncio.run(_prepare(_settings(sandbox), None)) or ["rien à ajouter"]:
        click.echo(line)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--sandbox", is_flag=True, help="Use the simulators (as GD_SANDBOX=1).")
def serve(host: str, port: int, sandbox: bool) -> None:
    """Serve the app (and its embedded worker, unless GD_EMBEDDED_WORKER=0)."""
    sock = bind_or_exit(host, port)
    settings = _settings(sandbox)
    app = create_kit_app(settings)
    click.echo(f"Kit Complet est prêt sur http://{host}:{port}/")
    run_server(app, sock, settings)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(host: str, port: int) -> None:
    """Sandbox demo: database, products, a staff account (printed), then the app."""
    # first, so that a second demo on the same port says so and changes nothing
    sock = bind_or_exit(host, port)
    os.environ.setdefault("GD_ADMIN_EMAILS", DEMO_ADMIN_EMAIL)
    settings = _settings(sandbox=True)
    password = secrets.token_urlsafe(12)
    asyncio.run(_prepare(settings, password))
    base = settings.base_url
    click.echo(
        "\n".join(
            [
                "",
                "Kit Complet est prêt (mode démonstration, rien ne sort de cette machine).",
                f"  Catalogue      {base}/",
                f"  Boîte mail     {base}/sandbox/boite-mail",
                f"  Espace équipe  {base}/staff/",
                f"    identifiant  {DEMO_STAFF_EMAIL}",
                f"    mot de passe {password}",
                f"  Simulateur OpenAI {base}{SANDBOX_PATH}/control",
                f"    clé d'API    {sandbox_api_key(settings).get_secret_value()}",
                "",
            ]
        )
    )
    run_server(create_kit_app(settings), sock, settings, log_level="warning")
