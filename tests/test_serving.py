"""serving: the port bound before anything is printed, and served without Nagle's delay."""

from __future__ import annotations

import asyncio
import socket

import pytest

from gated_delivery import serving


def test_a_taken_port_is_one_clear_error() -> None:
    first = serving.bind("127.0.0.1", 0)
    try:
        with pytest.raises(serving.PortInUse, match="is in use: stop the other program"):
            serving.bind("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()


async def test_accepted_connections_send_without_nagle_delay() -> None:
    """asyncio turns TCP_NODELAY on only for sockets that say they are TCP.

    Without it, every answer after the first on a kept-alive connection waited about 40 ms
    for the client's delayed ACK before its body left.
    """
    sock = serving.bind("127.0.0.1", 0)
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        seen.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        assert await asyncio.wait_for(seen, 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
