"""A listing page turned into Lead rows, ready for the database: plain Python, no Django, so that
the sync can build pages in worker processes (`RowBuilderPool`) as well as in its fetch threads.

Every column is prepared here: JSON columns as JSON text (the chat itself as the API sent it),
datetimes as the backend stores them, and for PostgreSQL the whole row as a line of COPY text.
The thread that writes a batch, the sync's critical path, then only reads, joins and sends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from leads.botpenguin.client import decode_listing
from leads.botpenguin.records import ChatRecord, ParseError, parse_chat

logger = logging.getLogger(__name__)

JSON_COLUMNS = frozenset({"tags", "notes", "attributes", "raw", "pending_fields"})
# json.dumps(value, ensure_ascii=False), without making an encoder per call.
json_text = json.JSONEncoder(ensure_ascii=False).encode

# The Lead columns that come from the chat (lead_fields_from_record), besides uuid and raw.
RECORD_FIELDS = (
    "remote_id", "is_lead", "name", "email", "phone", "dial_code", "picture", "status",
    "agent_id", "tags", "notes", "attributes", "city", "country", "gender", "last_message_at",
    "last_message_by", "last_message_text", "last_seen_at", "is_online", "website_visits",
    "remote_created_at", "remote_updated_at",
)  # fmt: skip


def _clip(value: str, limit: int) -> str:
    return value[:limit] if len(value) > limit else value


# A \u0000 escape, not an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def raw_json(text: str, is_lead: bool) -> tuple[str, str]:
    """The raw chat as stored and its hash, which tells an unchanged chat from a changed one.
    `text` is the chat's JSON exactly as the API sent it: stored as is (no second encoding),
    but for NULs, which PostgreSQL refuses."""
    if "\\u0000" in text:
        text = _NUL_ESCAPE.sub(r"\1", text)
    digest = hashlib.sha256(f"{int(is_lead)}{text}".encode("utf-8", "surrogatepass"))
    return text, digest.hexdigest()


def lead_fields_from_record(record: ChatRecord, *, is_lead: bool) -> dict:
    """The Lead column values for a parsed chat, clipped to the columns' sizes."""
    return {
        "remote_id": _clip(record.remote_id, 255),
        "is_lead": is_lead,
        "name": _clip(record.name, 1000),
        "email": _clip(record.email, 1000),
        "phone": _clip(record.phone, 1000),
        "dial_code": record.dial_code if len(record.dial_code) <= 16 else "",
        "picture": record.picture,
        "status": record.status,
        "agent_id": _clip(record.agent_id, 255),
        "tags": [_clip(t, 255) for t in record.tags],
        "notes": record.notes,
        "attributes": record.attributes,
        "city": _clip(record.city, 1000),
        "country": _clip(record.country, 1000),
        "gender": _clip(record.gender, 1000),
        "last_message_at": record.last_message_at,
        "last_message_by": _clip(record.last_message_by, 255),
        "last_message_text": record.last_message_text,
        "last_seen_at": record.last_seen_at,
        "is_online": record.is_online,
        "website_visits": max(0, min(record.website_visits, 2_000_000_000)),
        "remote_created_at": record.created_at,
        "remote_updated_at": record.updated_at,
    }


def _copy_text(value: object) -> str:
    """One value in PostgreSQL's COPY text format (its input syntax, with backslash, tab, newline
    and carriage return escaped; None is \\N)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        if "\\" in value:
            value = value.replace("\\", "\\\\")
        if "\n" in value:
            value = value.replace("\n", "\\n")
        if "\r" in value:
            value = value.replace("\r", "\\r")
        if "\t" in value:
            value = value.replace("\t", "\\t")
        return value
    if isinstance(value, datetime):
        return value.isoformat()  # aware (a naive one would be read in the session's UTC)
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"no COPY text for {type(value).__name__}")


def copy_line(values: Iterable[object]) -> str:
    """A row as one line of PostgreSQL's COPY text."""
    return "\t".join([_copy_text(value) for value in values]) + "\n"


@dataclass(slots=True)
class Row:
    """One listed chat as Lead column values (in `RowSpec.columns` order)."""

    uuid: str
    updated_at: datetime | None
    raw_hash: str
    values: list
    tags: list[str]
    line: str | None = None  # PostgreSQL: the values as a line of COPY text


@dataclass(slots=True)
class Page:
    listed: int  # chats on the page, parsed or not (0: the listing ended)
    rows: list[Row]
    skipped: int
    problems: list[str] = field(default_factory=list)  # why chats were skipped, to be logged

    def __len__(self) -> int:
        return self.listed


@dataclass(slots=True)
class RowSpec:
    """What turning a chat into a row needs to know about the table and the database (plain
    values: it travels to the worker processes)."""

    columns: list[str]
    defaults: list  # every column's value for a new row, as Python values
    is_lead: bool
    db_timezone: tzinfo | None  # SQLite: datetimes stored naive in this zone; None: kept aware
    copy_lines: bool  # PostgreSQL: also build each row's COPY line
    datetime_columns: frozenset[str]
    position: dict[str, int] = field(init=False)
    template: list = field(init=False)  # the defaults, adapted: a new row starts as a copy
    json_at: list[tuple[int, str]] = field(init=False)
    datetime_at: list[tuple[int, str]] = field(init=False)
    plain_at: list[tuple[int, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.position = {name: i for i, name in enumerate(self.columns)}
        self.template = [
            self.adapt(name, value) for name, value in zip(self.columns, self.defaults, strict=True)
        ]
        at = [(self.position[name], name) for name in RECORD_FIELDS]
        self.json_at = [(i, name) for i, name in at if name in JSON_COLUMNS]
        self.datetime_at = [(i, name) for i, name in at if name in self.datetime_columns]
        self.plain_at = [
            (i, name)
            for i, name in at
            if name not in JSON_COLUMNS and name not in self.datetime_columns
        ]

    def adapt(self, name: str, value: object) -> object:
        """A column value as the database takes it."""
        if name in JSON_COLUMNS:
            return json_text(value)
        if name in self.datetime_columns and value is not None:
            return self.adapt_datetime(value)
        return value

    def adapt_datetime(self, value: datetime) -> object:
        if self.db_timezone is None:
            return value  # psycopg adapts aware datetimes itself
        # As Django's SQLite backend stores them: naive, in the connection's time zone.
        if value.tzinfo is not self.db_timezone:
            value = value.astimezone(self.db_timezone)
        return str(value.replace(tzinfo=None))

    def row(self, record: ChatRecord, text: str) -> Row:
        raw_text, raw_hash = raw_json(text, self.is_lead)
        fields = lead_fields_from_record(record, is_lead=self.is_lead)
        values = self.template.copy()
        for at, name in self.plain_at:
            values[at] = fields[name]
        for at, name in self.json_at:
            value = fields[name]
            values[at] = "[]" if value == [] else json_text(value)
        if self.db_timezone is not None:
            adapt_datetime = self.adapt_datetime
            for at, name in self.datetime_at:
                value = fields[name]
                values[at] = None if value is None else adapt_datetime(value)
        else:
            for at, name in self.datetime_at:
                values[at] = fields[name]
        position = self.position
        values[position["uuid"]] = record.uuid
        values[position["raw"]] = raw_text
        values[position["raw_hash"]] = raw_hash
        line = copy_line(values) if self.copy_lines else None
        return Row(record.uuid, record.updated_at, raw_hash, values, fields["tags"], line)

    def page(self, items: Sequence[tuple[Any, str]]) -> Page:
        """[(chat, its JSON text), ...] as rows; chats that cannot be parsed skipped."""
        rows: list[Row] = []
        problems: list[str] = []
        for raw, text in items:
            try:
                record = parse_chat(raw)
            except ParseError as e:
                problems.append(str(e))
                continue
            if len(record.uuid) > 255:
                problems.append("a uuid longer than 255 characters")
                continue
            rows.append(self.row(record, text))
        return Page(listed=len(items), rows=rows, skipped=len(problems), problems=problems)


def build_listing(spec: RowSpec, content: bytes) -> tuple[Any, Page | None]:
    """A listing's body decoded (as `decode_listing`) with its `data` built into a Page.

    Returns (body, page): the body with an empty `data` list in place of the chats (they are
    in the page), or (body, None) when `data` is not a list. Raises ValueError for what is not
    JSON. Runs in a worker process."""
    body, items = decode_listing(content)
    if items is None:
        return body, None
    body["data"] = []
    return body, spec.page(items)


def _ready() -> None:
    """A worker's first task: done once the process has started and imported this module."""


class RowBuilderPool:
    """Worker processes that decode listing pages and build their rows, off the sync's own
    interpreter: building a page of 100 chats costs ~10 ms of Python, and done in the fetch
    threads it held the GIL that the thread writing to the database waited for after every
    statement.

    Workers are spawned: like any spawned process they import the program's main module
    again, so a program that runs a sync in its own process keeps its work under
    `if __name__ == "__main__":` (manage.py, gunicorn and pytest do). Started on the first page
    given to it; until every worker has started (a few hundred ms),
    pages are built in the calling thread, so a sync waiting on a slow API never waits for the
    pool as well. A pool that cannot start, or whose worker dies, is not used (the pages are
    built in the calling thread). `close()` stops it."""

    def __init__(self, processes: int):
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None
        self._warmup: list[Future] = []
        self._usable: bool | None = None  # None: starting
        self._lock = threading.Lock()

    def build(self, spec: RowSpec, content: bytes) -> tuple[Any, Page | None]:
        executor = self._ready_executor()
        if executor is not None:
            try:
                return executor.submit(build_listing, spec, content).result()
            except BrokenProcessPool as e:  # a worker died (killed, out of memory)
                with self._lock:
                    if self._usable:
                        logger.warning("Sync row builders stopped (%s): rows built in threads", e)
                    self._usable = False
        return build_listing(spec, content)

    def _ready_executor(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._executor is None:
                # spawn, not fork: the sync runs with threads (and in servers), which a fork
                # copies mid-flight; a spawned worker imports only this Django-free module.
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn")
                )
                self._warmup = [self._executor.submit(_ready) for _ in range(self.processes)]
            if self._usable is None and all(f.done() for f in self._warmup):
                failed = [f.exception() for f in self._warmup if f.exception() is not None]
                self._usable = not failed
                if failed:
                    logger.warning("Sync row builders did not start (%s): rows built in threads",
                                   failed[0])  # fmt: skip
            return self._executor if self._usable else None

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
