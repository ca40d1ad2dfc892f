"""``gated-delivery fulfilment ...`` and ``orders ...``: staff operations on one order."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

import click

from gated_delivery import answers, delivery, exports, history, plugins, wording
from gated_delivery import fulfilment as fulfilment_steps
from gated_delivery.catalogue import list_products
from gated_delivery.cli_runtime import command_settings, echo, fail_cleanly, file_chunks, run_on
from gated_delivery.errors import InvalidInput
from gated_delivery.orders import create_order
from gated_delivery.refunds import RefundKind, refund_order
from gated_delivery.runtime import Runtime
from gated_delivery.text import terminal_safe
from gated_delivery.uploads import (
    FINAL_LIMITS,
    receive_file,
)

# --- fulfilment ----------------------------------------------------------------------


@click.group()
def fulfilment() -> None:
    """Staff operations on an order's deliverable (each one audited)."""


@fulfilment.command("upload-final")
@click.argument("order_id")
@click.argument("file_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@fail_cleanly
def fulfilment_upload_final(order_id: str, file_path: Path) -> None:
    """Store FILE as the final document of a paid ORDER (a PDF or DOCX, told by content)."""

    async def run(rt: Runtime) -> None:
        # the staff page's intake: the content, not the name, says what the file is
        staged = await receive_file(
            file_chunks(file_path),
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

    run_on(command_settings(), run)


@fulfilment.command("publish")
@click.argument("order_id")
@fail_cleanly
def fulfilment_publish(order_id: str) -> None:
    """Publish ORDER's deliverable; the worker e-mails the link."""

    async def run(rt: Runtime) -> None:
        changed = await delivery.publish(rt, order_id, actor="operator")
        echo("published; the link mail is queued" if changed else "already published")

    run_on(command_settings(), run)


@fulfilment.command("resend")
@click.argument("order_id")
@fail_cleanly
def fulfilment_resend(order_id: str) -> None:
    """E-mail a fresh link to ORDER's own address."""
    run_on(command_settings(), lambda rt: delivery.resend(rt, order_id, actor="operator"))
    echo("a new link mail is queued")


@fulfilment.command("retry-generation")
@click.argument("order_id")
@fail_cleanly
def fulfilment_retry_generation(order_id: str) -> None:
    """Generate ORDER's draft again after a failed generation."""

    async def run(rt: Runtime) -> int:
        return await fulfilment_steps.retry_generation(rt, order_id, actor="operator")

    echo(f"generation round {run_on(command_settings(), run)} queued")


@fulfilment.command("revoke")
@click.argument("order_id")
@click.option("--reason", required=True, help="Why; kept in the audit trail.")
@fail_cleanly
def fulfilment_revoke(order_id: str, reason: str) -> None:
    """Revoke ORDER's fulfilment and every live download link."""

    async def run(rt: Runtime) -> int:
        return await delivery.revoke(rt, order_id, actor="operator", reason=reason)

    echo(f"revoked; {run_on(command_settings(), run)} live link(s) revoked")


# --- orders --------------------------------------------------------------------------

#: What ``orders refund`` prints for each outcome.
REFUND_OUTCOMES: Final = {
    RefundKind.THROUGH_PROVIDER: "refunded: the money went back through the provider",
    RefundKind.RECORDED: (
        "refund recorded only: give the money back in the provider's own back office"
    ),
}


@click.group()
def orders() -> None:
    """Orders."""


@orders.command("create")
@click.option("--product", "product_slug", required=True)
@click.option("--tier", "tier_id", default=None, help="Default: the product's only tier.")
@click.option("--email", required=True)
@click.option("--name", default="")
@fail_cleanly
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

    echo(run_on(command_settings(), run))


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
@fail_cleanly
def orders_refund(order_id: str, reason: str) -> None:
    """Refund the paid ORDER: through its provider when it can, else record the refund."""

    async def run(rt: Runtime) -> RefundKind:
        return await refund_order(rt, order_id, actor="operator", reason=reason)

    click.echo(REFUND_OUTCOMES[run_on(command_settings(), run)])


@orders.command("show")
@click.argument("order_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (answers under their keys).")
@click.option(
    "--lang", type=click.Choice(["fr", "en"]), default="en", show_default=True, help="Labels."
)
@fail_cleanly
def orders_show(order_id: str, as_json: bool, lang: str) -> None:
    """Show an order: states, answers, payment attempts, jobs, assets and the audit trail."""

    async def run(rt: Runtime) -> tuple[dict[str, Any], list[str]]:
        info = history.describe(await history.read(rt, order_id))
        schema = plugins.form_schema(rt.pm, info["product"], lang)
        return info, answers.as_text(answers.present(schema, info["answers"]))

    info, answer_lines = run_on(command_settings(), run)
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
@fail_cleanly
def orders_export(date_from: str, date_to: str, fmt: str, kind: str, output: Path | None) -> None:
    """Export orders (or payment attempts) created on those days, for the accountant."""
    settings = command_settings()
    span = exports.parse_range(date_from, date_to, settings.timezone)

    # checked before anything is written: a bad date leaves no half-made file behind
    target: BinaryIO = output.open("wb") if output else sys.stdout.buffer

    async def run(rt: Runtime) -> None:
        chosen = exports.chunks(rt, cast(exports.Kind, kind), cast(exports.Format, fmt), span)
        async for chunk in chosen:
            target.write(chunk)

    try:
        run_on(settings, run)
    finally:
        if output:
            target.close()
