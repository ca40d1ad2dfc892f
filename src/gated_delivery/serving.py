"""Running an app under uvicorn: the port bound first, our logging, our proxy rule.

The socket is bound before anything is printed, so "ready" and the URLs appear only when the
port is really ours, and a port in use is one clear ``PortInUse`` instead of uvicorn's
traceback. uvicorn reads no forwarded header itself: ``create_app``'s ``TrustedProxies``
does, with ``GD_TRUSTED_PROXIES``, the same way under any server.
"""

from __future__ import annotations

import errno
import socket
from typing import Any, Final

from gated_delivery.config import CoreSettings
from gated_delivery.errors import GatedDeliveryError
from gated_delivery.logcontext import configure_logging_from

#: The exit status of a command that could not take its port.
PORT_IN_USE_EXIT: Final = 2


class PortInUse(GatedDeliveryError):
    """Another program listens on the port we were asked to use."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} is in use: stop the other program or pass --port")
        self.host = host
        self.port = port


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; ``PortInUse`` if another program has it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP.
    # Without it every response after the first on a kept-alive connection waits ~40 ms
    # (Nagle's algorithm holding the body behind the headers until the client's delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart within TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(app: Any, sock: socket.socket, settings: CoreSettings, **options: Any) -> None:
    """Serve ``app`` on the bound ``sock`` until interrupted, logging as the settings say."""
    import uvicorn

    configure_logging_from(settings)
    config = uvicorn.Config(
        app,
        log_config=None,  # uvicorn's records go through our handler, in our format
        proxy_headers=False,  # TrustedProxies (create_app) reads them, GD_TRUSTED_PROXIES
        **options,
    )
    uvicorn.Server(config).run(sockets=[sock])
