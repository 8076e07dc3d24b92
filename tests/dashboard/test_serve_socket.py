"""dashboard.serve.no_delay_sockets: every connection of Streamlit's server sends without Nagle's delay."""

from __future__ import annotations

import asyncio
import socket

import pytest
from streamlit.web.server.starlette import starlette_server

from dashboard import serve


@pytest.fixture
def patched(monkeypatch):
    monkeypatch.setattr(starlette_server, "_bind_socket", starlette_server._bind_socket)  # restored after
    assert serve.no_delay_sockets()
    return starlette_server._bind_socket


def _server_side_nodelay(listener: socket.socket) -> int:
    """Accept one connection with asyncio, as uvicorn does, and read TCP_NODELAY on the server's end."""

    async def main() -> int:
        seen: list[int] = []

        async def handle(reader, writer):
            sock = writer.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=listener)
        host, port = listener.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()
        return seen[0]

    return asyncio.run(main())


def test_streamlits_own_socket_leaves_connections_with_nagles_delay():
    """Why the patch exists: the socket Streamlit binds reads protocol 0, so asyncio skips TCP_NODELAY.
    If a Streamlit release fixes this, this test fails and the patch can go."""
    listener = starlette_server._bind_socket("127.0.0.1", 0, 8)
    assert listener.proto == 0
    assert _server_side_nodelay(listener) == 0


def test_the_patched_socket_gives_every_connection_tcp_nodelay(patched):
    listener = patched("127.0.0.1", 0, 8)
    assert listener.proto == socket.IPPROTO_TCP
    assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assert listener.getblocking() is False and listener.get_inheritable() is True
    assert _server_side_nodelay(listener) == 1


def test_patching_twice_wraps_once(patched):
    assert serve.no_delay_sockets()
    assert starlette_server._bind_socket is patched
