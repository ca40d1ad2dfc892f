"""``gated-delivery check``: the go-live checks as a table (or JSON), non-zero on any fail."""

from __future__ import annotations

import asyncio
import json
import sys
from secrets import token_urlsafe

import click
from pydantic import SecretStr, ValidationError

from gated_delivery.config import CoreSettings, describe_validation_error, env_name
from gated_delivery.errors import GatedDeliveryError
from gated_delivery.golive import Finding, Level, has_failures, runtime_findings, settings_findings
from gated_delivery.runtime import build_runtime

_MARKS = {Level.PASS: "PASS", Level.WARN: "WARN", Level.FAIL: "FAIL"}


async def _findings(settings: CoreSettings) -> list[Finding]:
    findings = settings_findings(settings)
    if settings.secret_key is None:  # already a failed item; the rest is checked anyway
        settings = settings.model_copy(update={"secret_key": SecretStr(token_urlsafe(48))})
    try:
        rt = build_runtime(settings)
    except GatedDeliveryError as exc:  # a plugin's variables half set, say
        fix = "set or unset the variable it names"
        return [*findings, Finding("plugins", Level.FAIL, str(exc), fix)]
    try:
        return findings + await runtime_findings(rt)
    finally:
        await rt.close()


def render_table(findings: list[Finding]) -> str:
    """One line per item (its fix on the next), aligned for a terminal."""
    width = max(len(f.item) for f in findings)
    lines = []
    for f in findings:
        lines.append(f"{_MARKS[f.level]}  {f.item:<{width}}  {f.detail}")
        if f.fix and f.level is not Level.PASS:
            lines.append(f"      {'':<{width}}  → {f.fix}")
    failed = sum(f.level is Level.FAIL for f in findings)
    warned = sum(f.level is Level.WARN for f in findings)
    verdict = "not ready to go live" if failed else "ready to go live"
    lines.append(f"\n{failed} fail, {warned} warn: {verdict}")
    return "\n".join(lines)


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def check(as_json: bool) -> None:
    """Go-live check of the production settings; exit status 1 if any item fails."""
    try:
        # built without load_settings, whose refusals are items to report here
        settings = CoreSettings()
    except ValidationError as exc:
        raise click.ClickException(describe_validation_error(exc, env_name)) from None
    findings = asyncio.run(_findings(settings))
    if as_json:
        click.echo(
            json.dumps(
                {"ok": not has_failures(findings), "findings": [f.as_dict() for f in findings]},
                indent=2,
            )
        )
    else:
        click.echo(render_table(findings))
    sys.exit(1 if has_failures(findings) else 0)
