"""The ``gated-delivery`` command line.

Every command builds its own runtime from the environment; errors end with one clear line
and a non-zero exit status.
"""

from __future__ import annotations

import asyncio
import functools
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, Final, ParamSpec, TypeVar, cast

import click

from gated_delivery import __version__, answers, delivery, exports, plugins, serving, wording
from gated_delivery import fulfilment as fulfilment_steps
from gated_delivery.catalogue import add_product_file, list_products, upsert_product
from gated_delivery.checkout import amount_refusal
from gated_delivery.cli_buyer import buyer_options
from gated_delivery.cli_check import check
from gated_delivery.cli_staff import staff
from gated_delivery.cli_webhooks import webhooks
from gated_delivery.config import CoreSettings, load_settings
from gated_delivery.errors import ConfigurationError, GatedDeliveryError, InvalidInput
from gated_delivery.jobs.worker import Worker
from gated_delivery.logcontext import configure_logging_from
from gated_delivery.money import Money
from gated_delivery.orders import create_order, describe_order
from gated_delivery.reconcile import reconcile
from gated_delivery.refunds import RefundKind, refund_order
from gated_delivery.runtime import Runtime, build_runtime
from gated_delivery.text import terminal_safe
from gated_delivery.uploads import (
    FINAL_LIMITS,
    PRODUCT_FILE_LIMITS,
    ReceivedFile,
    UploadLimits,
    receive_file,
)

P = ParamSpec("P")
R = TypeVar("R")


def echo(message: str, *, err: bool = False) -> None:
    """Print one line with its control characters escaped (it may hold a buyer's text)."""
    click.echo(terminal_safe(message), err=err)


def _fail_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn our typed errors into one ``Error: ...`` line and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except GatedDeliveryError as exc:
            raise click.ClickException(terminal_safe(exc)) from None

    return wrapper


def _settings(**overrides: Any) -> CoreSettings:
    settings = load_settings(**overrides)
    configure_logging_from(settings)
    return settings


def bind_or_exit(host: str, port: int) -> socket.socket:
    """The bound port, or one line on stderr and exit status 2 if it is taken."""
    try:
        return serving.bind(host, port)
    except serving.PortInUse as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(serving.PORT_IN_USE_EXIT)


def _run(settings: CoreSettings, job: Callable[[Runtime], Awaitable[R]]) -> R:
    async def main() -> R:
        rt = build_runtime(settings)
        try:
            return await job(rt)
        finally:
            await rt.close()

    return asyncio.run(main())


@click.group()
@click.version_option(__version__, prog_name="gated-delivery")
def main() -> None:
    """Sell deliverables released only after the payment provider confirms payment."""


# --- db ------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@_fail_cleanly
def db_upgrade() -> None:
    """Create or upgrade the tables (GD_DATABASE_URL) to the latest migration."""
    settings = _settings()
    _run(settings, lambda rt: rt.db.upgrade())
    echo("database is up to date")


@db.command("check")
@_fail_cleanly
def db_check() -> None:
    """Fail if the models and the migrated schema differ."""
    _run(_settings(), lambda rt: rt.db.check())
    echo("schema matches the models")


# --- serve and worker ----------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--sandbox", is_flag=True, help="Mount the simulators; fake provider; demo key.")
@_fail_cleanly
def serve(host: str, port: int, sandbox: bool) -> None:
    """Serve the app with the installed plugins (and the embedded worker) with uvicorn.

    Forwarded headers are believed from GD_TRUSTED_PROXIES only (default 127.0.0.1).
    """
    from gated_delivery.web import create_app

    sock = bind_or_exit(host, port)  # first: a second server stops at once, having done nothing
    overrides: dict[str, Any] = {"sandbox": True} if sandbox else {}
    settings = _settings(**overrides)
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
@_fail_cleanly
def worker(once: bool, relay_only: bool, ack_timeout: float) -> None:
    """Run outbox jobs (and the periodic reconciler) outside the web process."""
    settings = _settings()
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

    _run(settings, run)


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

    _run(settings, run)


@main.command("celery-beat-schedule")
@_fail_cleanly
def celery_beat_schedule() -> None:
    """Print Celery beat's schedule (the periodic reconciler) as JSON.

    `celery -A gated_delivery.jobs.celery_backend beat` installs it by itself; this shows
    what it will run, or gives it to a beat scheduler configured elsewhere.
    """
    from gated_delivery.jobs.celery_backend import beat_schedule

    click.echo(terminal_safe(json.dumps(beat_schedule(_settings()), indent=2), json_escapes=True))


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
@_fail_cleanly
def reconcile_command(min_age: int, dry_run: bool) -> None:
    """Settle pending payments with their provider, expire abandoned ones, requeue stuck jobs."""

    async def run(rt: Runtime) -> None:
        report = await reconcile(rt, min_age=timedelta(minutes=min_age), dry_run=dry_run)
        for line in report.lines:
            echo(line)
        echo(report.summary())

    _run(_settings(), run)


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
@_fail_cleanly
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

    _run(_settings(), run)


async def _file_kind(rt: Runtime, path: Path, limits: UploadLimits) -> ReceivedFile:
    """What the file is by its content (the uploads' intake), or ``UploadRefused``."""
    staged = await receive_file(
        _file_chunks(path), rt.storage, limits, filename=path.name, key_prefix="staff-upload"
    )
    await rt.storage.delete(staged.key)
    return staged


@products.command("list")
@_fail_cleanly
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

    _run(_settings(), run)


# --- fulfilment ----------------------------------------------------------------------


@main.group()
def fulfilment() -> None:
    """Staff operations on an order's deliverable (each one audited)."""


def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(256 * 1024):
                yield chunk

    return chunks()


@fulfilment.command("upload-final")
@click.argument("order_id")
@click.argument("file_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_fail_cleanly
def fulfilment_upload_final(order_id: str, file_path: Path) -> None:
    """Store FILE as the final document of a paid ORDER (a PDF or DOCX, told by content)."""

    async def run(rt: Runtime) -> None:
        # the staff page's intake: the content, not the name, says what the file is
        staged = await receive_file(
            _file_chunks(file_path),
            rt.storage,
            FINAL_LIMITS,
            filename=file_path.name,
            key_prefix="staff-upload",
        )
        try:
            asset = await delivery.upload_final(
                rt,
                order_id,
                rt.storage.open(staged.key),
                filename=staged.filename,
                media_type=staged.media_type,
                actor="operator",
            )
        finally:
            await rt.storage.delete(staged.key)
        echo(f"final {asset.filename} stored ({asset.size_bytes} bytes, {asset.sha256})")

    _run(_settings(), run)


@fulfilment.command("publish")
@click.argument("order_id")
@_fail_cleanly
def fulfilment_publish(order_id: str) -> None:
    """Publish ORDER's deliverable; the worker e-mails the link."""

    async def run(rt: Runtime) -> None:
        changed = await delivery.publish(rt, order_id, actor="operator")
        echo("published; the link mail is queued" if changed else "already published")

    _run(_settings(), run)


@fulfilment.command("resend")
@click.argument("order_id")
@_fail_cleanly
def fulfilment_resend(order_id: str) -> None:
    """E-mail a fresh link to ORDER's own address."""
    _run(_settings(), lambda rt: delivery.resend(rt, order_id, actor="operator"))
    echo("a new link mail is queued")


@fulfilment.command("retry-generation")
@click.argument("order_id")
@_fail_cleanly
def fulfilment_retry_generation(order_id: str) -> None:
    """Generate ORDER's draft again after a failed generation."""

    async def run(rt: Runtime) -> int:
        return await fulfilment_steps.retry_generation(rt, order_id, actor="operator")

    echo(f"generation round {_run(_settings(), run)} queued")


@fulfilment.command("revoke")
@click.argument("order_id")
@click.option("--reason", required=True, help="Why; kept in the audit trail.")
@_fail_cleanly
def fulfilment_revoke(order_id: str, reason: str) -> None:
    """Revoke ORDER's fulfilment and every live download link."""

    async def run(rt: Runtime) -> int:
        return await delivery.revoke(rt, order_id, actor="operator", reason=reason)

    echo(f"revoked; {_run(_settings(), run)} live link(s) revoked")


# --- orders --------------------------------------------------------------------------

#: What ``orders refund`` prints for each outcome.
REFUND_OUTCOMES: Final = {
    RefundKind.THROUGH_PROVIDER: "refunded: the money went back through the provider",
    RefundKind.RECORDED: (
        "refund recorded only: give the money back in the provider's own back office"
    ),
}


@main.group()
def orders() -> None:
    """Orders."""


@orders.command("create")
@click.option("--product", "product_slug", required=True)
@click.option("--tier", "tier_id", default=None, help="Default: the product's only tier.")
@click.option("--email", required=True)
@click.option("--name", default="")
@_fail_cleanly
def orders_create(product_slug: str, tier_id: str | None, email: str, name: str) -> None:
    """Create an UNPAID order and print its public id."""

    async def run(rt: Runtime) -> str:
        async with rt.db.transaction() as session:
            tier = tier_id or await _only_tier(session, product_slug)
            order = await create_order(
                session,
                product_slug=product_slug,
                tier_id=tier,
                buyer_email=email,
                buyer_name=name,
                now=rt.clock.now(),
                actor="operator",
            )
            return order.id

    echo(_run(_settings(), run))


async def _only_tier(session: Any, slug: str) -> str:
    for product in await list_products(session):
        if product.slug == slug:
            if len(product.tiers) == 1:
                return product.tiers[0].tier_id
            tiers = ", ".join(t.tier_id for t in product.tiers)
            raise InvalidInput(f"product {slug!r} has several tiers ({tiers}); pass --tier")
    raise InvalidInput(f"no product {slug!r}; see `gated-delivery products list`")


@orders.command("refund")
@click.argument("order_id")
@click.option("--reason", required=True, help="Why; kept in the audit trail.")
@_fail_cleanly
def orders_refund(order_id: str, reason: str) -> None:
    """Refund the paid ORDER: through its provider when it can, else record the refund."""

    async def run(rt: Runtime) -> RefundKind:
        return await refund_order(rt, order_id, actor="operator", reason=reason)

    click.echo(REFUND_OUTCOMES[_run(_settings(), run)])


@orders.command("show")
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (answers under their keys).")
@click.option(
    "--lang", type=click.Choice(["fr", "en"]), default="en", show_default=True, help="Labels."
)
@_fail_cleanly
def orders_show(order_id: str, as_json: bool, lang: str) -> None:
    """Show an order: states, answers, payment attempts, jobs, assets and the audit trail."""

    async def run(rt: Runtime) -> tuple[dict[str, Any], list[str]]:
        async with rt.db.transaction() as session:
            info = await describe_order(session, order_id)
        schema = plugins.form_schema(rt.pm, info["product"], lang)
        return info, answers.as_text(answers.present(schema, info["answers"]))

    info, answer_lines = _run(_settings(), run)
    if as_json:
        click.echo(terminal_safe(json.dumps(info, indent=2, ensure_ascii=False), json_escapes=True))
        return

    def say(kind: wording.Kind, value: str) -> str:
        return wording.state_word(kind, value, lang)

    echo(f"order {info['id']}  {info['product']}/{info['tier']}  {info['amount']}")
    echo(f"  buyer: {info['buyer']['name']} <{info['buyer']['email']}>")
    echo(
        f"  payment: {say('payment', info['payment'])}   "
        f"fulfilment: {say('fulfilment', info['fulfilment'])}"
    )
    if answer_lines:
        echo("  answers:")
        for line in answer_lines:
            echo(f"    {line}")
    for a in info["attempts"]:
        echo(f"  attempt {a['id']} via {a['provider']}: {say('attempt', a['state'])}")
    for j in info["jobs"]:
        error = f" — {j['last_error']}" if j["last_error"] else ""
        echo(f"  job {j['id']} {j['kind']}: {j['state']} after {j['attempts']} tries{error}")
    echo("  audit:")
    for e in info["audit"]:
        move = f" {e['from'] or ''}→{e['to']}" if e["to"] else ""
        reason = f" ({e['reason']})" if e["reason"] else ""
        echo(f"    {e['at']} {e['machine']} {e['event']}{move} by {e['actor']}{reason}")


@orders.command("export")
@click.option("--from", "date_from", required=True, help="First shop day, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="Last shop day, YYYY-MM-DD (included).")
@click.option(
    "--format", "fmt", type=click.Choice(exports.FORMATS), default="csv", show_default=True
)
@click.option("--kind", type=click.Choice(exports.KINDS), default="orders", show_default=True)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@_fail_cleanly
def orders_export(date_from: str, date_to: str, fmt: str, kind: str, output: Path | None) -> None:
    """Export orders (or payment attempts) created on those days, for the accountant."""
    settings = _settings()
    span = exports.parse_range(date_from, date_to, settings.timezone)

    # checked before anything is written: a bad date leaves no half-made file behind
    target: BinaryIO = output.open("wb") if output else sys.stdout.buffer

    async def run(rt: Runtime) -> None:
        chosen = exports.chunks(rt, cast(exports.Kind, kind), cast(exports.Format, fmt), span)
        async for chunk in chosen:
            target.write(chunk)

    try:
        _run(settings, run)
    finally:
        if output:
            target.close()


main.add_command(staff)  # gated-delivery staff create-user EMAIL
products.add_command(buyer_options)  # gated-delivery products buyer-options SLUG
main.add_command(check)  # gated-delivery check [--json]
main.add_command(webhooks)  # gated-delivery webhooks add URL --events ...


if __name__ == "__main__":
    main()
