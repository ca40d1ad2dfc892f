"""The ``gated-delivery`` command line.

Every command builds its own runtime from the environment; errors end with one clear line
and a non-zero exit status.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from gated_delivery import __version__, serving
from gated_delivery.catalogue import add_product_file, list_products, upsert_product
from gated_delivery.checkout import amount_refusal
from gated_delivery.cli_buyer import buyer_options
from gated_delivery.cli_check import check
from gated_delivery.cli_orders import fulfilment, orders
from gated_delivery.cli_runtime import command_settings, echo, fail_cleanly, file_chunks, run_on
from gated_delivery.cli_staff import staff
from gated_delivery.cli_webhooks import webhooks
from gated_delivery.config import CoreSettings
from gated_delivery.errors import ConfigurationError, InvalidInput
from gated_delivery.jobs.worker import Worker
from gated_delivery.money import Money
from gated_delivery.reconcile import reconcile
from gated_delivery.runtime import Runtime
from gated_delivery.text import terminal_safe
from gated_delivery.uploads import (
    PRODUCT_FILE_LIMITS,
    ReceivedFile,
    UploadLimits,
    receive_file,
)

P = ParamSpec("P")
R = TypeVar("R")


def bind_or_exit(host: str, port: int) -> socket.socket:
    """The bound port, or one line on stderr and exit status 2 if it is taken."""
    try:
        return serving.bind(host, port)
    except serving.PortInUse as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(serving.PORT_IN_USE_EXIT)


@click.group()
@click.version_option(__version__, prog_name="gated-delivery")
def main() -> None:
    """Sell deliverables released only after the payment provider confirms payment."""


# --- db ------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@fail_cleanly
def db_upgrade() -> None:
    """Create or upgrade the tables (GD_DATABASE_URL) to the latest migration."""
    settings = command_settings()
    run_on(settings, lambda rt: rt.db.upgrade())
    echo("database is up to date")


@db.command("check")
@fail_cleanly
def db_check() -> None:
    """Fail if the models and the migrated schema differ."""
    run_on(command_settings(), lambda rt: rt.db.check())
    echo("schema matches the models")


# --- serve and worker ----------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--sandbox", is_flag=True, help="Mount the simulators; fake provider; demo key.")
@fail_cleanly
def serve(host: str, port: int, sandbox: bool) -> None:
    """Serve the app with the installed plugins (and the embedded worker) with uvicorn.

    Forwarded headers are believed from GD_TRUSTED_PROXIES only (default 127.0.0.1).
    """
    from gated_delivery.web import create_app

    sock = bind_or_exit(host, port)  # first: a second server stops at once, having done nothing
    overrides: dict[str, Any] = {"sandbox": True} if sandbox else {}
    settings = command_settings(**overrides)
    app = create_app(settings)
    click.echo(f"gated-delivery ready on http://{host}:{port}/ (Ctrl-C to stop)")
    serving.run(app, sock, settings)


@main.command()
@click.option("--once", is_flag=True, help="Run the jobs due now, then exit.")
@click.option(
    "--relay",
    "relay_only",
    is_flag=True,
    help="GD_JOB_BACKEND=celery: publish outbox rows to the broker; run no job here.",
)
@click.option(
    "--ack-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="With --relay: seconds before a published row nobody claimed is published again.",
)
@fail_cleanly
def worker(once: bool, relay_only: bool, ack_timeout: float) -> None:
    """Run outbox jobs (and the periodic reconciler) outside the web process."""
    settings = command_settings()
    if relay_only or settings.job_backend == "celery":
        _relay(settings, once=once, relay_only=relay_only, ack_timeout=ack_timeout)
        return

    async def run(rt: Runtime) -> None:
        runner = Worker(rt)
        if once:
            count = await runner.run_once()
            echo(f"ran {count} job(s)")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        echo(f"worker {runner.id} running; Ctrl-C to stop")
        await runner.run_forever(stop)

    run_on(settings, run)


def _relay(settings: CoreSettings, *, once: bool, relay_only: bool, ack_timeout: float) -> None:
    from gated_delivery.jobs.relay import Relay

    if settings.job_backend != "celery":
        raise ConfigurationError("--relay feeds Celery workers: set GD_JOB_BACKEND=celery")
    if not relay_only:
        # running jobs here too would bypass the Celery workers the settings ask for
        raise ConfigurationError(
            "GD_JOB_BACKEND=celery: jobs run on Celery workers "
            "(celery -A gated_delivery.jobs.celery_backend worker); "
            "run `gated-delivery worker --relay` to feed them"
        )

    async def run(rt: Runtime) -> None:
        relay = Relay.for_celery(rt, ack_timeout_seconds=ack_timeout)
        if once:
            echo(f"published {await relay.run_once()} job(s)")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        echo("relay running; Ctrl-C to stop")
        await relay.run_forever(stop)

    run_on(settings, run)


@main.command("celery-beat-schedule")
@fail_cleanly
def celery_beat_schedule() -> None:
    """Print Celery beat's schedule (the periodic reconciler) as JSON.

    `celery -A gated_delivery.jobs.celery_backend beat` installs it by itself; this shows
    what it will run, or gives it to a beat scheduler configured elsewhere.
    """
    from gated_delivery.jobs.celery_backend import beat_schedule

    click.echo(
        terminal_safe(json.dumps(beat_schedule(command_settings()), indent=2), json_escapes=True)
    )


@main.command("reconcile")
@click.option(
    "--min-age",
    "min_age",
    default=15,
    show_default=True,
    type=click.IntRange(0),
    help="Only payments at least this many minutes old.",
)
@click.option("--dry-run", is_flag=True, help="Ask the providers, print, change nothing.")
@fail_cleanly
def reconcile_command(min_age: int, dry_run: bool) -> None:
    """Settle pending payments with their provider, expire abandoned ones, requeue stuck jobs."""

    async def run(rt: Runtime) -> None:
        report = await reconcile(rt, min_age=timedelta(minutes=min_age), dry_run=dry_run)
        for line in report.lines:
            echo(line)
        echo(report.summary())

    run_on(command_settings(), run)


# --- products ------------------------------------------------------------------------


@main.group()
def products() -> None:
    """Products and price tiers."""


@products.command("add")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--amount", required=True, help="Price in major units: 5000 (XOF), 12.50 (EUR).")
@click.option("--currency", required=True, help="ISO 4217 code: XOF, XAF, GNF, CDF, EUR, USD.")
@click.option("--tier", "tier_id", default="standard", show_default=True)
@click.option("--label", default=None, help="The tier's label (default: the tier id).")
@click.option("--review", is_flag=True, help="Staff must upload a final before publishing.")
@click.option("--generator", default=None, help="Name of the generator plugin to use.")
@click.option(
    "--file",
    "file_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file delivered to every buyer.",
)
@fail_cleanly
def products_add(
    slug: str,
    title: str,
    amount: str,
    currency: str,
    tier_id: str,
    label: str | None,
    review: bool,
    generator: str | None,
    file_path: Path | None,
) -> None:
    """Add a product (or, for an existing SLUG, another price tier)."""
    price = Money.parse(amount, currency.upper())

    async def run(rt: Runtime) -> None:
        if generator and generator not in rt.generators:
            known = ", ".join(sorted(rt.generators)) or "none installed"
            raise InvalidInput(f"no generator named {generator!r} ({known})")
        # checked before the product is written: a refused file leaves nothing behind
        kind = await _file_kind(rt, file_path, PRODUCT_FILE_LIMITS) if file_path else None
        async with rt.db.transaction() as session:
            product, tier = await upsert_product(
                session,
                slug=slug,
                title=title,
                tier_id=tier_id,
                tier_label=label or tier_id,
                price=price,
                requires_review=review,
                generator=generator,
            )
            product_id = product.id
        if file_path is not None and kind is not None:
            await add_product_file(
                rt, product_id, file_path, filename=kind.filename, media_type=kind.media_type
            )
        echo(f"{slug}/{tier.tier_id}: {title} — {price}")
        for provider in rt.providers.values():
            refusal = amount_refusal(provider, price)
            if refusal is not None:
                echo(
                    f"warning: {provider.display_name} will not be offered for "
                    f"{slug}/{tier.tier_id}: {refusal}",
                    err=True,
                )

    run_on(command_settings(), run)


async def _file_kind(rt: Runtime, path: Path, limits: UploadLimits) -> ReceivedFile:
    """What the file is by its content (the uploads' intake), or ``UploadRefused``."""
    staged = await receive_file(
        file_chunks(path), rt.storage, limits, filename=path.name, key_prefix="staff-upload"
    )
    await rt.storage.delete(staged.key)
    return staged


@products.command("list")
@fail_cleanly
def products_list() -> None:
    """List products and their tiers."""

    async def run(rt: Runtime) -> None:
        async with rt.db.transaction() as session:
            found = await list_products(session)
            if not found:
                echo("no products yet; add one with `gated-delivery products add`")
            for product in found:
                flags = [
                    f
                    for f, on in (
                        ("review", product.requires_review),
                        (f"generator={product.generator}", product.generator),
                    )
                    if on
                ]
                echo(
                    f"{product.slug}: {product.title}" + (f" [{', '.join(flags)}]" if flags else "")
                )
                for tier in product.tiers:
                    echo(f"  {tier.tier_id}: {tier.label} — {tier.price}")

    run_on(command_settings(), run)


main.add_command(fulfilment)  # gated-delivery fulfilment publish ORDER
main.add_command(orders)  # gated-delivery orders show ORDER
main.add_command(staff)  # gated-delivery staff create-user EMAIL
products.add_command(buyer_options)  # gated-delivery products buyer-options SLUG
main.add_command(check)  # gated-delivery check [--json]
main.add_command(webhooks)  # gated-delivery webhooks add URL --events ...


if __name__ == "__main__":
    main()
