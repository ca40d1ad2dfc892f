"""The two servers the webhook intake benchmark compares, each run in its own process.

``ours`` is the real gated-delivery app with the fake provider registered; ``bare`` is a
Starlette app whose only route inserts the request body as one row with asyncpg. Both are
served by uvicorn on a loopback port (from ``bench/``)::

    GD_BENCH_FAKE_SECRET=<hex> python -m _webhook_intake.apps ours --port 8123 \
        --database-url postgresql+asyncpg://... --folder /tmp/somewhere
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Final

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from _webhook_intake.common import BARE_TABLE, HOST, SECRET_ENV, plain_url
from gated_delivery.config import CoreSettings
from gated_delivery.testing import FakeProvider, ProviderPlugin
from gated_delivery.web.app import create_app

#: The core's engine holds up to 10 + 10 overflow connections; the bare pool gets as many.
BARE_POOL_MAX: Final = 20
BARE_POOL_MIN: Final = 10

_CREATE_TABLE: Final = (
    f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} "
    "(id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL, "
    "received_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)
_INSERT: Final = f"INSERT INTO {BARE_TABLE} (body) VALUES ($1)"  # noqa: S608 - a constant


def bench_settings(database_url: str, folder: Path, base_url: str) -> CoreSettings:
    """Core settings for a benchmark process: no worker, no reconciler, files in ``folder``."""
    return CoreSettings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        base_url=base_url,
        private_media_root=folder / "media",
        mail_dir=folder / "mail",
        embedded_worker=False,
        reconcile_every_minutes=0,
    )


def ours_app(database_url: str, folder: Path, port: int, secret: bytes) -> Starlette:
    """The gated-delivery app, with the fake provider signing with ``secret``."""
    base_url = f"http://{HOST}:{port}"
    provider = FakeProvider(secret=secret, base_url=base_url)
    return create_app(
        bench_settings(database_url, folder, base_url),
        plugins_extra=[ProviderPlugin(provider)],
        run_worker=False,
    )


def bare_app(database_url: str) -> Starlette:
    """A Starlette app that stores each POSTed body as one row through an asyncpg pool."""
    pools: list[asyncpg.Pool] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            plain_url(database_url), min_size=BARE_POOL_MIN, max_size=BARE_POOL_MAX
        )
        await pool.execute(_CREATE_TABLE)
        pools.append(pool)
        try:
            yield
        finally:
            await pool.close()

    async def intake(request: Request) -> Response:
        body = await request.body()
        await pools[0].execute(_INSERT, body.decode("utf-8", "replace"))
        return PlainTextResponse("ok")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/intake", intake, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of a server process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["ours", "bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--folder", type=Path, required=True, help="for media and mail")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve one of the two apps until SIGTERM or Ctrl-C."""
    args = parse_args(argv)
    if args.kind == "ours":
        secret = bytes.fromhex(os.environ[SECRET_ENV])
        app = ours_app(args.database_url, args.folder, args.port, secret)
    else:
        app = bare_app(args.database_url)
    uvicorn.run(app, host=HOST, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
