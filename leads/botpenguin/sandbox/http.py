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
    gate: Any  # the server's Gate, likewise
    verbose = False

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        if not self.gate.enter():
            self.close_connection = True
            self._send(503, b'{"success": false, "message": "sandbox: stopping", "code": 503}', {})
            return
        try:
            self._answer(raw_body)
        finally:
            self.gate.leave()

    def _answer(self, raw_body: bytes) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
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
        self._send(status, payload, extra, content_type)

    def _send(
        self, status: int, payload: bytes, extra: dict, content_type: str = "application/json"
    ) -> None:
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


class Gate:
    """Counts the requests being answered; once closed, refuses new ones and lets the stop wait
    for those in flight, so that the state file saved after them holds every PUT answered 200."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.in_flight = 0
        self.closed = False

    def enter(self) -> bool:
        with self.cond:
            if self.closed:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        with self.cond:
            self.in_flight -= 1
            self.cond.notify_all()

    def close(self, timeout: float) -> None:
        with self.cond:
            self.closed = True
            self.cond.wait_for(lambda: self.in_flight == 0, timeout)


class RunningSandbox:
    """A Sandbox served in a daemon thread. Also a context manager."""

    # The longest a stop waits for the requests in flight (each sleeps the sandbox's latency).
    STOP_WAIT_SECONDS = 10.0

    def __init__(self, sandbox: Any, host: str = "127.0.0.1", port: int = 0, verbose=False):
        self.gate = Gate()
        handler = type(
            "Handler", (Handler,), {"sandbox": sandbox, "gate": self.gate, "verbose": verbose}
        )
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
        # Kept-alive connections still send requests: refuse those, finish the ones in flight.
        self.gate.close(self.STOP_WAIT_SECONDS)
        self.server.server_close()
        self.sandbox.save()  # edits not yet written to the state file

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
