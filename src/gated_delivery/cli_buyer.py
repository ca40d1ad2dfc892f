"""``gated-delivery products buyer-options``: stamping and payment reminders per product."""

from __future__ import annotations

import asyncio

import click

from gated_delivery.catalogue import FOLLOW_SETTING, set_buyer_options
from gated_delivery.config import load_settings
from gated_delivery.errors import GatedDeliveryError
from gated_delivery.runtime import build_runtime


@click.command("buyer-options")
@click.argument("slug")
@click.option(
    "--stamp/--no-stamp",
    default=None,
    help="Stamp delivered PDF and Word files with the buyer's name, e-mail and order id.",
)
@click.option(
    "--reminder-minutes",
    type=click.IntRange(min=0),
    default=None,
    help="Minutes before the one reminder of an unpaid order (0: no reminder).",
)
@click.option(
    "--reminder-default",
    is_flag=True,
    help="Follow GD_PAYMENT_REMINDER_MINUTES again.",
)
def buyer_options(
    slug: str, stamp: bool | None, reminder_minutes: int | None, reminder_default: bool
) -> None:
    """Show or change what product SLUG does for its buyers."""
    if reminder_default and reminder_minutes is not None:
        raise click.UsageError("give --reminder-minutes or --reminder-default, not both")
    reminder = FOLLOW_SETTING if reminder_default else reminder_minutes
    settings = load_settings()

    async def run() -> tuple[bool, int | None]:
        rt = build_runtime(settings)
        try:
            async with rt.db.transaction() as session:
                product = await set_buyer_options(
                    session, slug, stamp_files=stamp, reminder_minutes=reminder
                )
                return product.stamp_files, product.payment_reminder_minutes
        finally:
            await rt.close()

    try:
        stamps, minutes = asyncio.run(run())
    except GatedDeliveryError as exc:
        raise click.ClickException(str(exc)) from None
    delay = (
        f"{minutes} min" if minutes else "none" if minutes == 0 else "GD_PAYMENT_REMINDER_MINUTES"
    )
    click.echo(f"{slug}: stamping {'on' if stamps else 'off'}; payment reminder: {delay}")
