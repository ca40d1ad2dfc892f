"""``gated-delivery products buyer-options`` (cli_buyer.py), run as a user would."""

from __future__ import annotations

from click.testing import CliRunner
from tests.test_cli import cli, run

from gated_delivery.cli import main

__all__ = ["cli"]  # the fixture, imported for pytest


def test_stamping_and_the_reminder_delay_are_set_per_product(cli: CliRunner) -> None:
    run(
        cli, "products", "add", "guide", "--title", "Guide", "--amount", "5000", "--currency", "XOF"
    )
    out = run(cli, "products", "buyer-options", "guide")
    assert out.strip() == "guide: stamping off; payment reminder: GD_PAYMENT_REMINDER_MINUTES"
    out = run(cli, "products", "buyer-options", "guide", "--stamp", "--reminder-minutes", "60")
    assert out.strip() == "guide: stamping on; payment reminder: 60 min"
    out = run(cli, "products", "buyer-options", "guide", "--no-stamp", "--reminder-minutes", "0")
    assert out.strip() == "guide: stamping off; payment reminder: none"
    out = run(cli, "products", "buyer-options", "guide", "--reminder-default")
    assert out.strip().endswith("payment reminder: GD_PAYMENT_REMINDER_MINUTES")


def test_bad_options_are_refused_clearly(cli: CliRunner) -> None:
    out = run(cli, "products", "buyer-options", "nothing", ok=False)
    assert "no product 'nothing'" in out
    result = cli.invoke(
        main, ["products", "buyer-options", "x", "--reminder-minutes", "5", "--reminder-default"]
    )
    assert result.exit_code == 2
    assert "not both" in result.output
    result = cli.invoke(main, ["products", "buyer-options", "x", "--reminder-minutes", "-3"])
    assert result.exit_code == 2
