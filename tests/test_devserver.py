"""`manage.py runserver` (what `make run` serves the dashboard with) answers without Nagle delays."""

import socket
import socketserver
import threading

import requests
from django.core.management import get_commands, load_command_class
from django.core.servers.basehttp import WSGIRequestHandler

from botpanel.management.commands.runserver import NoDelayWSGIServer


def test_runserver_is_ours_and_still_leaves_static_files_to_whitenoise():
    assert get_commands()["runserver"] == "botpanel"
    command = load_command_class("botpanel", "runserver")
    assert command.server_cls is NoDelayWSGIServer
    parser = command.create_parser("manage.py", "runserver")
    assert parser.get_default("use_static_handler") is False


def test_each_connection_has_nagle_off_and_keeps_alive():
    """Headers and body are two writes: with Nagle on, every keep-alive answer waited for the
    client's delayed ACK of the headers (about 40 ms a request)."""
    nodelay = []

    class Recording(NoDelayWSGIServer):
        def get_request(self):
            conn, address = super().get_request()
            nodelay.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            return conn, address

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    # Threaded, as runserver runs it (Django closes every connection of a server that is not).
    server_cls = type("WSGIServer", (socketserver.ThreadingMixIn, Recording), {})
    server = server_cls(("127.0.0.1", 0), WSGIRequestHandler)
    server.daemon_threads = True
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        with requests.Session() as session:
            url = f"http://127.0.0.1:{server.server_port}/"
            answers = [session.get(url, timeout=5) for _ in range(3)]
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
    assert [a.text for a in answers] == ["ok"] * 3
    assert nodelay == [1]  # one connection, kept alive for all three requests, Nagle off
