"""A local stand-in for BotPenguin: a real HTTP server on a loopback port (no Django).

It imitates GET /inbox/direct/chats and PUT /inbox/direct/lead as API.md documents them, and
defines the behaviour where the docs are silent (see the README). For development, demos and
integration tests, with fault injection (latency, a rate of 503/429, failing every PUT, faults on
given pages) and `/_sandbox/...` control endpoints for use from another process.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

STATUSES = ("OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED")
PUT_FIELDS = {
    "uuid",
    "botId",
    "customerId",
    "agentId",
    "name",
    "email",
    "phone",
    "dialCode",
    "notes",
    "status",
    "picture",
    "tags",
    "attributes",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9][0-9 \-]{0,19}$")
_DIAL = re.compile(r"^\+\d{1,4}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.time)


class BadRequest(Exception):
    pass


class JSONText(str):
    """An answer already encoded as JSON (served as application/json, as is)."""


# The state file is written at most this often (seconds) while PUTs arrive.
SAVE_DELAY = 1.0


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(value: Any) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class Sandbox:
    def __init__(
        self,
        *,
        token: str = "sandbox-token",
        bot_id: str = "sandbox-bot",
        customer_id: str = "sandbox-customer",
        page_size: int = 20,
        latency_ms: int = 0,
        fail_rate: float = 0.0,
        fail_puts: bool = False,
        seed: int = 1,
        state_file: str | None = None,
    ):
        self.token = token
        self.bot_id = bot_id
        self.customer_id = customer_id
        self.page_size = page_size
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.fail_puts = fail_puts
        self.seed = seed
        self.state_file = state_file
        self.page_faults: dict[int, str] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.RLock()
        self._save_timer: threading.Timer | None = None
        self._chats: dict[str, dict] = {}  # uuid -> GET-shaped chat
        self._is_lead: dict[str, bool] = {}
        # uuid -> the chat as JSON text, made when first listed and dropped when it changes: a
        # listing then costs no copy and no encoding of its chats.
        self._texts: dict[str, str] = {}
        self._order: list[str] | None = None  # cached listing order
        self._by_type: dict[str, list[str]] = {}
        self._fail_next: list[tuple[int, str | None, int | None]] = []
        self._fault_rng = random.Random(seed + 7919)
        self._id_rng = random.Random(seed + 104729)
        self._last_stamp = 0.0
        if state_file and os.path.exists(state_file):
            self._load_state(state_file)

    # --- data ------------------------------------------------------------------------------------------

    def seed_chats(self, n: int, *, lead_ratio: float = 0.7) -> None:
        from leads.botpenguin.sandbox.seed import make_chats

        for chat, is_lead in make_chats(n, seed=self.seed, lead_ratio=lead_ratio):
            self.add_chat(chat, is_lead=is_lead)

    def add_chat(self, chat: dict, *, is_lead: bool = True) -> None:
        chat = copy.deepcopy(chat)
        if not chat.get("updatedAt"):
            chat["updatedAt"] = self._now_iso()
        with self._lock:
            self._chats[str(chat["uuid"])] = chat
            self._is_lead[str(chat["uuid"])] = is_lead
            self._texts.pop(str(chat["uuid"]), None)
            self._order = None

    def remove_chat(self, uuid: str) -> None:
        with self._lock:
            self._chats.pop(uuid, None)
            self._is_lead.pop(uuid, None)
            self._texts.pop(uuid, None)
            self._order = None

    def get_chat(self, uuid: str) -> dict | None:
        with self._lock:
            chat = self._chats.get(uuid)
            return copy.deepcopy(chat) if chat is not None else None

    def is_lead(self, uuid: str) -> bool | None:
        with self._lock:
            return self._is_lead.get(uuid)

    def chats(self, *, type: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(self._chats[u]) for u in self._listing(type)]

    def _listing(self, type: str | None) -> list[str]:
        """uuids newest updatedAt first (of one type), cached until the next change."""
        if self._order is None:
            self._order = sorted(
                self._chats,
                key=lambda u: (-_parse_iso(self._chats[u].get("updatedAt")), u),
            )
            self._by_type = {}
        if type is None:
            return list(self._order)
        if type not in self._by_type:
            want = type == "lead"
            self._by_type[type] = [u for u in self._order if self._is_lead[u] == want]
        return self._by_type[type]

    # --- faults and the request log --------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        *,
        status: int = 503,
        method: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        with self._lock:
            self._fail_next.extend([(status, method, retry_after)] * n)

    def puts(self, uuid: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "PUT"
                and r.path == "/inbox/direct/lead"
                and (uuid is None or (isinstance(r.body, dict) and r.body.get("uuid") == uuid))
            ]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def config(self) -> dict:
        return {
            "page_size": self.page_size,
            "latency_ms": self.latency_ms,
            "fail_rate": self.fail_rate,
            "fail_puts": self.fail_puts,
            "chats": len(self._chats),
        }

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
        return RunningSandbox(self, host, port)

    # --- request handling (called by the HTTP handler) -------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict, headers: dict, raw_body: bytes
    ) -> tuple[int, dict | list | str, dict]:
        """Answer one request: (status, JSON-able body or raw text, extra headers)."""
        if path.startswith("/_sandbox/"):
            return self._control(method, path, query, headers, raw_body)
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")
        record = RecordedRequest(method, path, dict(query), dict(headers), body)
        with self._lock:
            self.requests.append(record)
        status, answer, extra = self._answer(method, path, query, headers, body, raw_body)
        record.status = status
        return status, answer, extra

    def _answer(self, method, path, query, headers, body, raw_body):
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        with self._lock:
            for i, (status, want_method, retry_after) in enumerate(self._fail_next):
                if want_method is None or want_method == method:
                    del self._fail_next[i]
                    extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                    return status, _error(status, f"sandbox: injected HTTP {status}"), extra
        if self.fail_rate and self._fault_rng.random() < self.fail_rate:
            if self._fault_rng.random() < 1 / 3:
                return 429, _error(429, "Too many requests"), {"Retry-After": "1"}
            return 503, _error(503, "Service unavailable"), {}
        if path == "/inbox/direct/chats" and method == "GET":
            return self._list(query, headers)
        if path == "/inbox/direct/lead" and method == "PUT":
            return self._put(headers, body, raw_body)
        return 404, _error(404, "Not found"), {}

    def _list(self, query, headers):
        if headers.get("x-bot-token") != self.token:
            return 401, _error(401, "Invalid or missing x-bot-token"), {}
        try:
            for name in ("botId", "customerId", "page", "type"):
                if not query.get(name):
                    raise BadRequest(f"{name} is required")
            if query["botId"] != self.bot_id:
                raise BadRequest("Unknown botId")
            if query["customerId"] != self.customer_id:
                raise BadRequest("customerId does not match")
            if not query["page"].isdigit() or int(query["page"]) < 1:
                raise BadRequest("page must be a positive integer")
            if query["type"] not in ("lead", "non-lead"):
                raise BadRequest('type must be "lead" or "non-lead"')
        except BadRequest as e:
            return 400, _error(400, str(e)), {}
        page = int(query["page"])
        fault = self.page_faults.get(page)
        if fault == "500":
            return 500, _error(500, "Internal server error"), {}
        if fault == "429":
            return 429, _error(429, "Too many requests"), {"Retry-After": "1"}
        if fault == "401":
            return 401, _error(401, "Token expired"), {}
        if fault == "non-json":
            return 200, "<html><body>Gateway says hello</body></html>", {}
        if fault == "no-data":
            return 200, {"success": True, "message": "ok", "code": 200}, {}
        if fault == "timeout":
            time.sleep(30)
        with self._lock:
            uuids = self._listing(query["type"])
            start = (page - 1) * self.page_size
            texts = [self._chat_text(u) for u in uuids[start : start + self.page_size]]
        # Byte for byte what json.dumps(ensure_ascii=False) makes of the whole answer.
        body = '{"success": true, "message": "ok", "code": 200, "data": [' + ", ".join(texts) + "]}"
        return 200, JSONText(body), {}

    def _chat_text(self, uuid: str) -> str:
        text = self._texts.get(uuid)
        if text is None:
            text = self._texts[uuid] = json.dumps(self._chats[uuid], ensure_ascii=False)
        return text

    def _put(self, headers, body, raw_body):
        if headers.get("x-bp-token") != self.token:
            return 401, _error(401, "Invalid or missing x-bp-token"), {}
        if self.fail_puts:
            return 503, _error(503, "sandbox: PUTs are switched off"), {}
        try:
            self._validate(body)
        except BadRequest as e:
            return 400, _error(400, str(e)), {}
        with self._lock:
            self._upsert(body)
            self._texts.pop(body["uuid"], None)
            self._order = None
        if self.state_file:
            self._schedule_save()
        return 200, {"success": True, "message": "ok", "code": 200}, {}

    def _validate(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise BadRequest("body: must be a JSON object")
        for name in body:
            if name not in PUT_FIELDS:
                raise BadRequest(f"unknown field: {name}")
        for name in ("uuid", "botId", "customerId"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise BadRequest(f"{name}: is required")
        if body["botId"] != self.bot_id:
            raise BadRequest("botId: unknown bot")
        if body["customerId"] != self.customer_id:
            raise BadRequest("customerId: does not match the bot")

        def check(name: str, ok: bool, reason: str) -> None:
            if name in body and not ok:
                raise BadRequest(f"{name}: {reason}")

        value = body.get
        check("agentId", isinstance(value("agentId"), str), "must be a string")
        check(
            "name",
            isinstance(value("name"), str) and len(value("name")) <= 200,
            "must be a string of at most 200 characters",
        )
        check(
            "email",
            isinstance(value("email"), str) and bool(_EMAIL.match(value("email"))),
            "must be a valid email address",
        )
        check(
            "phone",
            isinstance(value("phone"), str) and bool(_PHONE.match(value("phone"))),
            "must be 1-20 digits, spaces and dashes",
        )
        check(
            "dialCode",
            isinstance(value("dialCode"), str) and bool(_DIAL.match(value("dialCode"))),
            'must be "+" followed by 1-4 digits',
        )
        check("status", value("status") in STATUSES, f"must be one of {', '.join(STATUSES)}")
        check(
            "picture",
            isinstance(value("picture"), str) and bool(_URL.match(value("picture"))),
            "must be an http(s) URL",
        )
        if "tags" in body:
            tags = body["tags"]
            if not isinstance(tags, list) or not all(
                isinstance(t, str) and 1 <= len(t) <= 50 for t in tags
            ):
                raise BadRequest("tags: must be an array of strings of 1-50 characters")
            if len({t.casefold() for t in tags}) != len(tags):
                raise BadRequest("tags: duplicate tag")
        if "notes" in body:
            notes = body["notes"]
            if not isinstance(notes, list):
                raise BadRequest("notes: must be an array")
            for note in notes:
                if not isinstance(note, dict) or set(note) - {"title", "description", "_id"}:
                    raise BadRequest("notes: each note is {title, description}")
                title, description = note.get("title"), note.get("description", "")
                if not isinstance(title, str) or not 1 <= len(title) <= 200:
                    raise BadRequest("notes: title must be 1-200 characters")
                if not isinstance(description, str) or len(description) > 5000:
                    raise BadRequest("notes: description must be at most 5000 characters")
        if "attributes" in body:
            attributes = body["attributes"]
            if not isinstance(attributes, list):
                raise BadRequest("attributes: must be an array")
            keys = set()
            for item in attributes:
                if (
                    not isinstance(item, dict)
                    or not isinstance(item.get("key"), str)
                    or not item["key"].strip()
                    or not isinstance(item.get("value", ""), str)
                ):
                    raise BadRequest("attributes: each is {key: non-empty string, value: string}")
                if item["key"] in keys:
                    raise BadRequest(f"attributes: duplicate key {item['key']}")
                keys.add(item["key"])

    def _upsert(self, body: dict) -> None:
        uuid = body["uuid"]
        now = self._now_iso()
        chat = self._chats.get(uuid)
        if chat is None:
            chat = {
                "_id": self._object_id(),
                "uuid": uuid,
                "createdAt": now,
                "status": "OPEN",
                "profile": {"notes": [], "userDetails": {"tags": [], "attributes": []}},
            }
            self._chats[uuid] = chat
        self._is_lead[uuid] = True
        profile = chat.get("profile") if isinstance(chat.get("profile"), dict) else {}
        chat["profile"] = profile
        details = profile.get("userDetails") if isinstance(profile.get("userDetails"), dict) else {}
        profile["userDetails"] = details
        contact = details.get("contact") if isinstance(details.get("contact"), dict) else {}
        phone = contact.get("phone") if isinstance(contact.get("phone"), dict) else {}
        if "status" in body:
            chat["status"] = body["status"]
        if "agentId" in body:
            chat["_agentAssigned"] = body["agentId"] or None
        for name in ("name", "picture", "tags", "attributes"):
            if name in body:
                details[name] = copy.deepcopy(body[name])
        if "email" in body:
            contact["email"] = body["email"]
        if "phone" in body:
            phone["number"] = body["phone"]
        if "dialCode" in body:
            phone["prefix"] = body["dialCode"].lstrip("+")
        if "phone" in body or "dialCode" in body:
            contact["phone"] = phone
        if "email" in body or "phone" in body or "dialCode" in body:
            details["contact"] = contact
        if "notes" in body:
            old = {
                (n.get("title"), n.get("description")): n.get("_id")
                for n in profile.get("notes") or []
                if isinstance(n, dict)
            }
            profile["notes"] = [
                {
                    "_id": old.get((n["title"], n.get("description", ""))) or self._object_id(),
                    "title": n["title"],
                    "description": n.get("description", ""),
                }
                for n in body["notes"]
            ]
        chat["updatedAt"] = now

    def _object_id(self) -> str:
        return "".join(self._id_rng.choice("0123456789abcdef") for _ in range(24))

    def _now_iso(self) -> str:
        """Now, strictly increasing at millisecond resolution across calls."""
        with self._lock:
            stamp = max(time.time(), self._last_stamp + 0.001)
            self._last_stamp = stamp
        return _iso(datetime.fromtimestamp(stamp, tz=UTC))

    # --- control endpoints -----------------------------------------------------------------------------

    def _control(self, method, path, query, headers, raw_body):
        if headers.get("x-bot-token") != self.token:
            return 401, _error(401, "Invalid or missing x-bot-token"), {}
        if path == "/_sandbox/health":
            return 200, {"ok": True, **self.config()}, {}
        if path == "/_sandbox/requests" and method == "GET":
            since = int(query.get("since", "0") or 0)
            with self._lock:
                items = [asdict(r) for r in self.requests[since:]]
            for item in items:
                item["headers"] = {
                    k: ("***" if "token" in k else v) for k, v in item["headers"].items()
                }
            return 200, items, {}
        if path.startswith("/_sandbox/chats/") and method == "GET":
            chat = self.get_chat(path.removeprefix("/_sandbox/chats/"))
            if chat is None:
                return 404, _error(404, "No such chat"), {}
            return 200, chat, {}
        if path == "/_sandbox/config" and method == "POST":
            try:
                changes = json.loads(raw_body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError
                if "page_size" in changes:
                    self.page_size = max(1, int(changes["page_size"]))
                if "latency_ms" in changes:
                    self.latency_ms = max(0, int(changes["latency_ms"]))
                if "fail_rate" in changes:
                    self.fail_rate = min(1.0, max(0.0, float(changes["fail_rate"])))
                if "fail_puts" in changes:
                    self.fail_puts = bool(changes["fail_puts"])
            except (ValueError, TypeError):
                return 400, _error(400, "config: a JSON object of settings"), {}
            return 200, self.config(), {}
        return 404, _error(404, "Not found"), {}

    # --- state file ------------------------------------------------------------------------------------

    def _load_state(self, path: str) -> None:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        for item in state.get("chats", []):
            self.add_chat(item["chat"], is_lead=bool(item.get("is_lead", True)))

    def _save_state(self, path: str) -> None:
        with self._lock:
            state = {
                "chats": [
                    {"chat": self._chats[u], "is_lead": self._is_lead[u]} for u in self._chats
                ]
            }
            directory = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sandbox-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state, f, ensure_ascii=False)
            os.replace(tmp, path)

    def save(self) -> None:
        """Write the state file now (and cancel a pending delayed write)."""
        with self._lock:
            timer, self._save_timer = self._save_timer, None
        if timer is not None:
            timer.cancel()
        if self.state_file:
            self._save_state(self.state_file)

    def _schedule_save(self) -> None:
        """Write the state file at most once per SAVE_DELAY seconds: rewriting every chat on each
        PUT made a PUT cost hundreds of milliseconds with a few thousand chats."""
        with self._lock:
            if self._save_timer is not None:
                return
            self._save_timer = threading.Timer(SAVE_DELAY, self._delayed_save)
            self._save_timer.daemon = True
            self._save_timer.start()

    def _delayed_save(self) -> None:
        with self._lock:
            self._save_timer = None
        if self.state_file:
            self._save_state(self.state_file)


def _error(status: int, message: str) -> dict:
    return {"success": False, "message": message, "code": status}


class _Handler(BaseHTTPRequestHandler):
    server_version = "BotPenguinSandbox/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waited for the
    # client's delayed ACK of the headers, about 40 ms on every keep-alive response.
    disable_nagle_algorithm = True
    sandbox: Sandbox  # set on the subclass made per server
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

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, verbose=False):
        handler = type("Handler", (_Handler,), {"sandbox": sandbox, "verbose": verbose})
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
