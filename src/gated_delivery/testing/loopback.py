"""Serve an ASGI app on a free loopback port for a test, with uvicorn in a background thread.

Simulators and receivers are then reached over real sockets by real clients (httpx, a
provider's own SDK), as the provider's servers would be.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

#: How long the server may take to listen before the test gives up.
START_TIMEOUT_SECONDS = 10.0


@contextlib.contextmanager
def serve(app: Any, *, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve ``app`` on ``127.0.0.1`` at a free port; yields ``http://127.0.0.1:<port>``.

    ``tls`` (a certificate file and its key file) serves https instead.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    cert, key = tls or (None, None)
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        access_log=False,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:  # a bounded wait for the server to listen
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(
                f"the loopback server did not start within {START_TIMEOUT_SECONDS} s"
            )
        time.sleep(0.01)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
