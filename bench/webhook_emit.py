"""What webhooks cost: order creation with and without endpoints, and delivery throughput.

On a SQLite file, creates orders (each writes its ``order.created`` event and one job per
endpoint in the same transaction) with 0 and with 3 subscribed endpoints, and prints orders
per second and the ratio (the price of the extra rows). Then delivers the queued events to a
receiver on a loopback port with the embedded worker and prints deliveries per second::

    python bench/webhook_emit.py [--orders 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path


async def create_orders(rt: object, count: int) -> float:
    """Seconds taken to create ``count`` orders, one transaction each."""
    from gated_delivery.orders import create_order
    from gated_delivery.runtime import Runtime

    assert isinstance(rt, Runtime)
    started = time.perf_counter()
    for _ in range(count):
        async with rt.db.transaction() as session:
            await create_order(
                session,
                product_slug="guide",
                tier_id="std",
                buyer_email="bench@example.org",
                now=rt.clock.now(),
            )
    return time.perf_counter() - started


async def main(count: int) -> None:
    from gated_delivery.catalogue import upsert_product
    from gated_delivery.config import load_settings
    from gated_delivery.jobs.worker import Worker
    from gated_delivery.money import Money
    from gated_delivery.runtime import build_runtime
    from gated_delivery.testing.webhook_receiver import serve_receiver
    from gated_delivery.webhooks import endpoints

    rt = build_runtime(load_settings())
    try:
        await rt.db.upgrade()
        async with rt.db.transaction() as session:
            await upsert_product(
                session,
                slug="guide",
                title="Guide",
                tier_id="std",
                tier_label="Std",
                price=Money(5000, "XOF"),
            )
        bare = await create_orders(rt, count)
        with serve_receiver() as receiver:
            for _ in range(3):
                await endpoints.add(rt, receiver.url, ["order.created"], actor="bench")
            hooked = await create_orders(rt, count)
            started = time.perf_counter()
            delivered = await Worker(rt, batch=50).run_once()
            sending = time.perf_counter() - started
        print(f"orders/s, no endpoint:   {count / bare:8.1f}")
        print(f"orders/s, 3 endpoints:   {count / hooked:8.1f}")
        print(f"time with 3 endpoints / without: {hooked / bare:5.2f}")
        print(
            f"deliveries/s to loopback: {delivered / sending:8.1f} ({len(receiver.received)} sent)"
        )
    finally:
        await rt.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.update(
            {
                "GD_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.sqlite3",
                "GD_SECRET_KEY": "bench-" + "k" * 40,
                "GD_SANDBOX": "1",
                "GD_WEBHOOKS_ALLOW_PRIVATE": "1",
                "PRIVATE_MEDIA_ROOT": str(folder / "media"),
                "GD_MAIL_DIR": str(folder / "mail"),
                "GD_EMBEDDED_WORKER": "0",
                "GD_RECONCILE_EVERY_MINUTES": "0",
            }
        )
        asyncio.run(main(args.orders))
