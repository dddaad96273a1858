"""A deliberately hostile stand-in for BotPenguin, on a loopback port, for tests.

Each request is recorded (`server.requests`) and answered with the next scripted `Answer`
(`server.answers`, a list consumed in order), else with `server.default`, which may also be a
function of the request. An answer can be a redirect, a body of any bytes, gzip, or a body that
drips out one byte at a time.

    with HostileServer() as server:
        server.answers.append(Answer(301, {"Location": "http://elsewhere.test/"}))
        ... BotPenguinClient(ClientConfig(base_url=server.url, ...)) ...
        assert server.requests[0].method == "GET"
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    gzip: bool = False  # compress `body` and say so (Content-Encoding: gzip)
    drip: float | None = None  # seconds between bytes, sent as one-byte chunks
    json: object = None  # when given, the body is this value as JSON

    def payload(self) -> bytes:
        body = self.body if self.json is None else json.dumps(self.json).encode()
        return gzip.compress(body) if self.gzip else body


def ok(data: list | None = None) -> Answer:
    """A well-formed answer: a listing page with `data`, or a PUT's acknowledgement."""
    return Answer(json={"success": True, "message": "ok", "code": 200, "data": data or []})


def gzip_bomb(inflated_bytes: int) -> Answer:
    """A gzip answer of zeros that inflates to `inflated_bytes` (about a thousandth of that on
    the wire), compressed a megabyte at a time so that the test itself stays small."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = []
    for start in range(0, inflated_bytes, len(block)):
        parts.append(compressor.compress(block[: inflated_bytes - start]))
    parts.append(compressor.flush())
    return Answer(
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        body=b"".join(parts),
    )


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived
    client_port: int  # a new port means a new connection


class HostileServer:
    def __init__(self, default: Answer | Callable[[Seen], Answer] | None = None):
        self.default = default or ok()
        self.answers: list[Answer] = []
        self.requests: list[Seen] = []
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_answer(self, seen: Seen) -> Answer:
        self.requests.append(seen)
        if self.answers:
            return self.answers.pop(0)
        return self.default(seen) if callable(self.default) else self.default


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is normal
            super().handle_error(request, client_address)


def _handler_for(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and chunked answers, as a real API
        do_GET = do_PUT = do_POST = do_DELETE = lambda self: self.answer()  # noqa: E731

        def log_message(self, *args: object) -> None:
            pass  # quiet test output

        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            seen = Seen(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers=dict(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
                at=time.monotonic(),
                client_port=self.client_address[1],
            )
            reply = server.next_answer(seen)
            payload = reply.payload()
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            if reply.gzip:
                headers["Content-Encoding"] = "gzip"
            if reply.drip is None:
                headers["Content-Length"] = str(len(payload))
            else:
                headers["Transfer-Encoding"] = "chunked"
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.send_body(payload, reply.drip)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client hung up, as it may

        def send_body(self, payload: bytes, drip: float | None) -> None:
            if drip is None:
                self.wfile.write(payload)
                return
            for byte in payload:
                self.wfile.write(b"1\r\n" + bytes([byte]) + b"\r\n")
                self.wfile.flush()
                time.sleep(drip)
            self.wfile.write(b"0\r\n\r\n")

    return Handler


def listing(
    pages: dict[str, list], beyond: Callable[[str, int], Answer] | None = None
) -> Callable[[Seen], Answer]:
    """A `default` that serves a listing: `pages` is {type: [page 1, page 2, …]}, each a list of
    chats or an `Answer` (a raw body, say); past its last page a type answers `beyond(type,
    page)`, else an empty page. Use as `HostileServer(listing({...}))`."""

    def answer(seen: Seen) -> Answer:
        kind = seen.query.get("type", [""])[0]
        page = int(seen.query.get("page", ["1"])[0])
        served = pages.get(kind, [])
        if page <= len(served):
            chats = served[page - 1]
            return chats if isinstance(chats, Answer) else ok(chats)
        return beyond(kind, page) if beyond else ok([])

    return answer


def listing_body(*chats: bytes) -> Answer:
    """A listing page whose chats are given as JSON text (for what json.dumps cannot write)."""
    return Answer(body=b'{"success": true, "code": 200, "data": [' + b", ".join(chats) + b"]}")
