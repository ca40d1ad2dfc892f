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
from typing import Any

import uvicorn

#: How long the server may take to listen before the test gives up.
START_TIMEOUT_SECONDS = 10.0


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on ``127.0.0.1`` at a free port; yields ``http://127.0.0.1:<port>``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    )
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
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
