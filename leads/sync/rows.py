"""A listing page turned into rows for the mirror: each chat parsed (leads.botpenguin.records), its
fields clipped to the Lead columns, and its raw record encoded once, with orjson, for storing and
hashing. Runs in the sync's fetch threads; the writer (leads.sync.writer) only adapts and sends."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from leads.botpenguin.records import (
    MAX_DEPTH,
    ChatRecord,
    ParseError,
    chat_uuid,
    parse_chat,
    repaired,
    too_deep,
)

logger = logging.getLogger(__name__)

# orjson writes a NUL as this escape; PostgreSQL refuses NULs in text and jsonb alike.
_NUL_ESCAPE = b"\\u0000"


def _clip(value: str, limit: int) -> str:
    return value[:limit] if len(value) > limit else value


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


def raw_record(chat: Any, *, is_lead: bool) -> tuple[Any, str, str]:
    """(the chat as stored, its JSON text, its hash). The hash tells an unchanged chat from a
    changed one; the kind is part of it, so a chat that moves between the listings is written.

    A chat holding NULs or lone surrogates is stored repaired (leads.botpenguin.records.repaired);
    one that is too deep, or holds a value orjson cannot write, raises ParseError."""
    try:
        text = orjson.dumps(chat)
        storable = _NUL_ESCAPE not in text
    except orjson.JSONEncodeError:  # a lone surrogate, most likely
        text, storable = b"", False
    # Each object or array writes one "{" or "[": a text with few of them cannot be too deep,
    # which spares nearly every chat the walk.
    if (not text or text.count(b"{") + text.count(b"[") > MAX_DEPTH) and too_deep(chat):
        raise ParseError(f"nested deeper than {MAX_DEPTH} levels")
    if not storable:
        chat = repaired(chat)
        try:
            text = orjson.dumps(chat)
        except orjson.JSONEncodeError as e:  # an integer past 64 bits, say
            raise ParseError(f"a value that cannot be stored ({e})") from e
    digest = hashlib.sha256(b"1" if is_lead else b"0")
    digest.update(text)
    return chat, text.decode(), digest.hexdigest()


@dataclass(slots=True)
class Row:
    """One listed chat as Lead values: `fields` as lead_fields_from_record gives them."""

    uuid: str
    updated_at: datetime | None
    raw: str  # the chat's JSON text
    raw_hash: str
    fields: dict


@dataclass(slots=True)
class Page:
    listed: int  # chats on the page, parsed or not (0: the listing ended)
    rows: list[Row] = field(default_factory=list)
    skipped: int = 0

    def __len__(self) -> int:
        return self.listed


def build_page(chats: list, *, is_lead: bool) -> Page:
    """A listing page's chats as rows; a chat that cannot be parsed is skipped (and logged)."""
    page = Page(listed=len(chats))
    for chat in chats:
        try:
            chat_uuid(chat)  # before any repair: a uuid is never cleaned into another
            stored, text, digest = raw_record(chat, is_lead=is_lead)
            record = parse_chat(stored)
        except ParseError as e:
            page.skipped += 1
            logger.info("Skipped a chat: %s", " ".join(str(e).split())[:300])
            continue
        fields = lead_fields_from_record(record, is_lead=is_lead)
        page.rows.append(Row(record.uuid, record.updated_at, text, digest, fields))
    return page
