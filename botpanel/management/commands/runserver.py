"""`runserver` (as whitenoise.runserver_nostatic wraps it) with Nagle's algorithm off on every
connection.

Django's development server writes a response's headers and its body in two writes. On a
keep-alive connection (browsers, htmx) Nagle's algorithm would hold the body back until the
browser's delayed ACK of the headers, on every request of `make run`.
"""

from __future__ import annotations

import socket

from django.core.servers.basehttp import WSGIServer
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as WhiteNoiseRunserver,
)


class NoDelayWSGIServer(WSGIServer):
    def get_request(self) -> tuple[socket.socket, object]:
        conn, address = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address


class Command(WhiteNoiseRunserver):
    server_cls = NoDelayWSGIServer
