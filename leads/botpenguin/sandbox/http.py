"""The sandbox served over HTTP: one request handler that hands every request to `Sandbox.handle`,
run by a threading server in a daemon thread."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class JSONText(str):
    """An answer already encoded as JSON (served as application/json, as is)."""


class Handler(BaseHTTPRequestHandler):
    server_version = "BotPenguinSandbox/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the body would wait for
    # the client's delayed ACK of the headers on every keep-alive response.
    disable_nagle_algorithm = True
    sandbox: Any  # the Sandbox, set on the subclass made per server
    verbose = False

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        status, answer, extra = self.sandbox.handle(
            self.command, parts.path, query, headers, raw_body
        )
        if isinstance(answer, JSONText):
            payload, content_type = answer.encode("utf-8"), "application/json; charset=utf-8"
        elif isinstance(answer, str):
            payload, content_type = answer.encode(), "text/html; charset=utf-8"
        else:
            payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        if self.verbose:
            super().log_message(format, *args)


class RunningSandbox:
    """A Sandbox served in a daemon thread. Also a context manager."""

    def __init__(self, sandbox: Any, host: str = "127.0.0.1", port: int = 0, verbose=False):
        handler = type("Handler", (Handler,), {"sandbox": sandbox, "verbose": verbose})
        self.sandbox = sandbox
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.sandbox.save()  # edits not yet written to the state file

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
