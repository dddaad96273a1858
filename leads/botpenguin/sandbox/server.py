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
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from leads.botpenguin.sandbox.http import JSONText, RunningSandbox
from leads.botpenguin.sandbox.rules import (
    BadRequest,
    apply_put,
    check_list_query,
    check_put_body,
    new_chat,
)
from leads.botpenguin.sandbox.state import DelayedSave, read_state, write_state


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.time)


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
        token: str = "sandbox-token",  # noqa: S107 - the sandbox's own stand-in token
        bot_id: str = "sandbox-bot",
        customer_id: str = "sandbox-customer",
        page_size: int = 20,
        latency_ms: int = 0,
        fail_rate: float = 0.0,
        fail_puts: bool = False,
        ignore_puts: bool = False,
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
        # Answer a valid PUT 200 and change nothing: BotPenguin accepting an edit it does not keep.
        self.ignore_puts = ignore_puts
        self.seed = seed
        self.state_file = state_file
        self.page_faults: dict[int, str] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.RLock()
        self._saver = DelayedSave(self._write_state)
        self._chats: dict[str, dict] = {}  # uuid -> GET-shaped chat
        self._is_lead: dict[str, bool] = {}
        # uuid -> the chat as JSON text, made when first listed and dropped when it changes: a
        # listing then costs no copy and no encoding of its chats.
        self._texts: dict[str, str] = {}
        self._order: list[str] | None = None  # cached listing order
        self._by_type: dict[str, list[str]] = {}
        self._fail_next: list[tuple[int, str | None, int | None]] = []
        # Seeded, so that a sandbox replays the same faults and ids: not for secrets.
        self._fault_rng = random.Random(seed + 7919)  # noqa: S311
        self._id_rng = random.Random(seed + 104729)  # noqa: S311
        self._last_stamp = 0.0
        if state_file and os.path.exists(state_file):
            for chat, is_lead in read_state(state_file):
                self.add_chat(chat, is_lead=is_lead)

    # --- data ------------------------------------------------------------------------------------------

    def seed_chats(self, n: int, *, lead_ratio: float = 0.7) -> None:
        from leads.botpenguin.sandbox.seed import make_chats

        for chat, is_lead in make_chats(n, seed=self.seed, lead_ratio=lead_ratio):
            self.add_chat(chat, is_lead=is_lead)
        self.warm()

    def warm(self) -> None:
        """Sort the listings and encode every chat now, before serving: otherwise the first full
        listing pays for it, and a benchmark of the sync on the same machine measures the
        sandbox's JSON encoding along with the sync."""
        with self._lock:
            for type in ("lead", "non-lead"):
                for uuid in self._listing(type):
                    self._chat_text(uuid)

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
            "ignore_puts": self.ignore_puts,
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
        if (fault := self._injected_fault(method)) is not None:
            return fault
        if path == "/inbox/direct/chats" and method == "GET":
            return self._list(query, headers)
        if path == "/inbox/direct/lead" and method == "PUT":
            return self._put(headers, body, raw_body)
        return 404, _error(404, "Not found"), {}

    def _injected_fault(self, method: str) -> tuple | None:
        """The answer of a fault queued by fail_next or drawn at fail_rate, if any."""
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
        return None

    def _list(self, query, headers):
        if headers.get("x-bot-token") != self.token:
            return 401, _error(401, "Invalid or missing x-bot-token"), {}
        try:
            check_list_query(query, bot_id=self.bot_id, customer_id=self.customer_id)
        except BadRequest as e:
            return 400, _error(400, str(e)), {}
        page = int(query["page"])
        fault = self.page_faults.get(page)
        if fault in PAGE_FAULTS:
            return PAGE_FAULTS[fault]()
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
            check_put_body(body, bot_id=self.bot_id, customer_id=self.customer_id)
        except BadRequest as e:
            return 400, _error(400, str(e)), {}
        if self.ignore_puts:
            return 200, {"success": True, "message": "ok", "code": 200}, {}
        with self._lock:
            self._upsert(body)
            self._texts.pop(body["uuid"], None)
            self._order = None
        if self.state_file:
            self._saver.request()
        return 200, {"success": True, "message": "ok", "code": 200}, {}

    def _upsert(self, body: dict) -> None:
        uuid = body["uuid"]
        now = self._now_iso()
        chat = self._chats.get(uuid)
        if chat is None:
            chat = self._chats[uuid] = new_chat(uuid, now=now, object_id=self._object_id())
        self._is_lead[uuid] = True
        apply_put(chat, body, now=now, object_id=self._object_id)

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
            return 200, self._logged_requests(int(query.get("since", "0") or 0)), {}
        if path.startswith("/_sandbox/chats/") and method == "GET":
            chat = self.get_chat(path.removeprefix("/_sandbox/chats/"))
            if chat is None:
                return 404, _error(404, "No such chat"), {}
            return 200, chat, {}
        if path == "/_sandbox/config" and method == "POST":
            try:
                self._configure(json.loads(raw_body or b"{}"))
            except (ValueError, TypeError):
                return 400, _error(400, "config: a JSON object of settings"), {}
            return 200, self.config(), {}
        return 404, _error(404, "Not found"), {}

    def _logged_requests(self, since: int) -> list[dict]:
        """The request log from `since` on, tokens masked."""
        with self._lock:
            items = [asdict(r) for r in self.requests[since:]]
        for item in items:
            item["headers"] = {
                k: ("***" if "token" in k else v) for k, v in item["headers"].items()
            }
        return items

    def _configure(self, changes: Any) -> None:
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
        if "ignore_puts" in changes:
            self.ignore_puts = bool(changes["ignore_puts"])

    # --- state file ------------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the state file now (and cancel a pending delayed write)."""
        self._saver.now()

    def _write_state(self) -> None:
        if self.state_file:
            with self._lock:
                write_state(
                    self.state_file, [(self._chats[u], self._is_lead[u]) for u in self._chats]
                )


def _error(status: int, message: str) -> dict:
    return {"success": False, "message": message, "code": status}


# A listing page's injected faults (Sandbox.page_faults): the answer each gives instead.
PAGE_FAULTS = {
    "500": lambda: (500, _error(500, "Internal server error"), {}),
    "429": lambda: (429, _error(429, "Too many requests"), {"Retry-After": "1"}),
    "401": lambda: (401, _error(401, "Token expired"), {}),
    "non-json": lambda: (200, "<html><body>Gateway says hello</body></html>", {}),
    "no-data": lambda: (200, {"success": True, "message": "ok", "code": 200}, {}),
}
