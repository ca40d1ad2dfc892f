"""``gated-delivery webhooks ...``: endpoints of the shop's own systems and their deliveries."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from gated_delivery.cli_runtime import run_with_runtime
from gated_delivery.webhooks import endpoints


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date or time like 2026-12-04T10:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.group()
def webhooks() -> None:
    """Signed webhooks (Standard Webhooks) to the shop's own systems."""


@webhooks.command("add")
@click.argument("url")
@click.option("--events", required=True, help="Comma-separated event types, or all.")
@click.option("--description", default="", help="What this endpoint is, for the staff.")
@click.option("--include-buyer", is_flag=True, help="Send the buyer's name and e-mail too.")
def add(url: str, events: str, description: str, include_buyer: bool) -> None:
    """Add an endpoint; prints its signing secret, shown this once only."""
    endpoint, secret = run_with_runtime(
        lambda rt: endpoints.add(
            rt,
            url,
            events.split(","),
            actor=_actor(),
            description=description,
            include_buyer=include_buyer,
        )
    )
    click.echo(f"webhook endpoint {endpoint.id} added for {', '.join(endpoint.event_types)}")
    click.echo(f"signing secret (shown once, keep it in your receiver): {secret}")


@webhooks.command("list")
def list_endpoints() -> None:
    """Every endpoint: id, state, URL and events."""
    for e in run_with_runtime(endpoints.list_all):
        state = "active" if e.is_active else f"disabled ({e.disabled_reason})"
        buyer = " +buyer" if e.include_buyer else ""
        click.echo(f"{e.id}  {state}  {e.url}  [{', '.join(e.event_types)}]{buyer}")
        if e.description:
            click.echo(f"    {e.description}")


@webhooks.command("disable")
@click.argument("endpoint_id")
def disable(endpoint_id: str) -> None:
    """Stop sending to an endpoint."""
    run_with_runtime(lambda rt: endpoints.disable(rt, endpoint_id, actor=_actor()))
    click.echo(f"webhook endpoint {endpoint_id} disabled")


@webhooks.command("enable")
@click.argument("endpoint_id")
def enable(endpoint_id: str) -> None:
    """Send to a disabled endpoint again."""
    run_with_runtime(lambda rt: endpoints.enable(rt, endpoint_id, actor=_actor()))
    click.echo(f"webhook endpoint {endpoint_id} enabled")


@webhooks.command("rotate-secret")
@click.argument("endpoint_id")
def rotate_secret(endpoint_id: str) -> None:
    """New signing secret; the previous one keeps signing for 24 hours."""
    secret = run_with_runtime(lambda rt: endpoints.rotate_secret(rt, endpoint_id, actor=_actor()))
    click.echo(f"new signing secret (shown once; the old one works for 24 h): {secret}")


@webhooks.command("remove")
@click.argument("endpoint_id")
def remove(endpoint_id: str) -> None:
    """Delete an endpoint and its delivery log."""
    run_with_runtime(lambda rt: endpoints.remove(rt, endpoint_id, actor=_actor()))
    click.echo(f"webhook endpoint {endpoint_id} removed")


@webhooks.command("log")
@click.argument("endpoint_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def log(endpoint_id: str, limit: int) -> None:
    """The endpoint's latest delivery tries, newest first."""
    for line in run_with_runtime(lambda rt: endpoints.delivery_log(rt, endpoint_id, limit=limit)):
        a = line.attempt
        status = str(a.status_code) if a.status_code is not None else "---"
        detail = a.error or a.response_head.replace("\n", " ")[:60]
        click.echo(
            f"{a.attempted_at:%Y-%m-%d %H:%M:%S}  {a.event_id}  {line.event_type}  "
            f"try {a.attempt}  {status}  {a.duration_ms} ms  {detail}"
        )


@webhooks.command("send-again")
@click.argument("endpoint_id")
@click.option("--event", "event_id", default=None, help="One event id (evt_...).")
@click.option("--since", default=None, help="Start of a time range (ISO 8601, UTC).")
@click.option("--until", default=None, help="End of the range (default: now).")
def send_again(
    endpoint_id: str, event_id: str | None, since: str | None, until: str | None
) -> None:
    """Send one event, or every event of a time range, to an endpoint again."""
    if (event_id is None) == (since is None):
        raise click.UsageError("pass either --event ID or --since TIME")
    if event_id is not None:
        count = run_with_runtime(
            lambda rt: endpoints.send_again(rt, endpoint_id, event_id, actor=_actor())
        )
    else:
        start = _when(since or "")
        end = _when(until) if until else datetime.now(UTC)
        count = run_with_runtime(
            lambda rt: endpoints.send_again_between(rt, endpoint_id, start, end, actor=_actor())
        )
    click.echo(f"{count} event(s) queued again for {endpoint_id}")
