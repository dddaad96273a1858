"""Parsing a listed chat into a typed record, and building PUT bodies (no Django).

API data is hostile: any nested object may be missing, null or of the wrong type, numbers come where
strings are expected, a phone may be a plain string. `parse_chat` tolerates all of it and raises
only `ParseError`, for an object that is not a chat at all (no usable uuid).

A uuid is taken exactly as BotPenguin sends it (the API documents no trimming): one that is not a
string, or holds a NUL or an unencodable character, is refused rather than cleaned, since a
cleaned uuid could merge two chats and an edit would go out under a uuid BotPenguin does not
know. `decode_json`, `too_deep` and `repaired` make a hostile body something a database can hold.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

STATUSES = ("OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED")
STATUS_LABELS = {
    "OPEN": "Open",
    "INPROGRESS": "In progress",
    "REVIEW": "Review",
    "ONHOLD": "On hold",
    "DEPENDANCY": "Dependency",  # the API's spelling, shown as people spell it
    "CLOSED": "Closed",
}

SHORT = 1000  # names, emails, ids...
LONG = 5000  # texts

_DIAL_CODE = re.compile(r"^\+?(\d{1,4})$")
# Levels of nesting a chat may have, the chat object itself being the first: a deeper chat is
# refused, so that its stored raw record loads, renders and exports again anywhere.
MAX_DEPTH = 64
UUID_MAX = 255  # the Lead.uuid column
_SURROGATE = re.compile("[\ud800-\udfff]")


class ParseError(ValueError):
    """The object is not a chat (no usable uuid, not an object, too deep)."""


# --- what a database can hold ---------------------------------------------------------------------


def decode_json(content: bytes | bytearray | str) -> Any:
    """JSON decoded with orjson, else with the standard library, which also accepts a lone
    surrogate escape (JavaScript's way of cutting a string inside an emoji) that orjson refuses.
    Raises ValueError for anything neither reads, nesting too deep for either included."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    try:
        text = content if isinstance(content, str) else bytes(content).decode("utf-8")
        return json.loads(text)
    except RecursionError as e:
        raise ValueError("the JSON is nested too deeply to read") from e


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests objects and arrays more than `limit` levels (walked with its own
    stack: a decoder may hand over more levels than Python's recursion limit)."""
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def _storable(text: str) -> str:
    if "\x00" in text:  # PostgreSQL refuses NULs in text and jsonb alike
        text = text.replace("\x00", "")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: no encoding can store them
            text = _SURROGATE.sub("\ufffd", text)
    return text


def repaired(value: Any) -> Any:
    """`value` (decoded JSON) with NULs taken out of every string, keys included, and lone
    surrogates replaced by U+FFFD. Walks with its own stack, not by recursion."""
    root = [value]
    stack: list[tuple[list | dict, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        item = parent[key]
        if isinstance(item, str):
            parent[key] = _storable(item)
        elif isinstance(item, list):
            stack.extend((item, i) for i in range(len(item)))
        elif isinstance(item, dict):
            cleaned = {_storable(k): v for k, v in item.items()}
            parent[key] = cleaned
            stack.extend((cleaned, k) for k in cleaned)
    return root[0]


def chat_uuid(obj: object) -> str:
    """The chat's uuid exactly as sent; ParseError when it is missing or not one to keep."""
    if not isinstance(obj, dict):
        raise ParseError(f"a chat must be an object, not {type(obj).__name__}")
    uuid = obj.get("uuid")
    if uuid is None or uuid == "" or (isinstance(uuid, str) and not uuid.strip()):
        raise ParseError("a chat without a uuid")
    if not isinstance(uuid, str):
        raise ParseError(f"a uuid that is not a string ({type(uuid).__name__})")
    if len(uuid) > UUID_MAX:
        raise ParseError(f"a uuid longer than {UUID_MAX} characters")
    if _storable(uuid) != uuid:
        raise ParseError("a uuid with a NUL or an unencodable character")
    return uuid


@dataclass
class ChatRecord:
    uuid: str
    remote_id: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    dial_code: str = ""
    picture: str = ""
    status: str = ""
    agent_id: str = ""
    tags: list[str] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    attributes: list[dict] = field(default_factory=list)
    city: str = ""
    country: str = ""
    gender: str = ""
    last_message_at: datetime | None = None
    last_message_by: str = ""
    last_message_text: str = ""
    last_seen_at: datetime | None = None
    is_online: bool = False
    website_visits: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict = field(default_factory=dict)


# --- tolerant readers ------------------------------------------------------------------------------


def _obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _str(value: Any, limit: int = SHORT) -> str:
    """A string from a string or a number; anything else (None, bool, list, dict) is ""."""
    if value.__class__ is str:  # the common case first: a sync parses millions of these
        if "\x00" in value:
            value = value.replace("\x00", "")
        text = value.strip()
        return text[:limit] if len(text) > limit else text
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        if isinstance(value, float) and value != value:  # NaN
            return ""
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    elif isinstance(value, str):
        text = value
    else:
        return ""
    text = text.replace("\x00", "").strip()
    return text[:limit]


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float) and value == value and abs(value) < 1e12:
        return max(0, int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()[:12])
    return 0


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 (with Z, an offset or milliseconds) or epoch milliseconds; else None. Aware UTC."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            if value != value or abs(value) > 1e14:
                return None
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        if isinstance(value, str):
            text = value.strip()
            if not text or len(text) > 40:
                return None
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is UTC:
                return parsed
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def normalise_dial_code(value: Any) -> str:
    """ "91", 91, "+91", " +1 " -> "+91"/"+1"; anything else -> ""."""
    text = _str(value, 16).replace(" ", "")
    match = _DIAL_CODE.match(text)
    return f"+{match.group(1)}" if match else ""


def _tags(value: Any) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for item in value if isinstance(value, list) else []:
        tag = _str(item, 255)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out


def _notes(value: Any) -> list[dict]:
    notes = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        notes.append(
            {
                "id": _str(item.get("_id"), 255),
                "title": _str(item.get("title"), SHORT),
                "description": _str(item.get("description"), LONG),
            }
        )
    return notes


def _attributes(value: Any) -> list[dict]:
    attributes = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        key = _str(item.get("key"), 255)
        if key:
            attributes.append({"key": key, "value": _str(item.get("value"), LONG)})
    return attributes


def _agent(value: Any) -> str:
    if isinstance(value, dict):
        return _str(value.get("_id"), 255)
    return _str(value, 255)


def parse_chat(obj: object) -> ChatRecord:
    """A listed chat as a ChatRecord. Raises ParseError only, for a non-object or a uuid
    `chat_uuid` refuses. Its strings are taken as they are: `repaired` makes them storable."""
    if not isinstance(obj, dict):
        raise ParseError(f"a chat must be an object, not {type(obj).__name__}")
    uuid = chat_uuid(obj)
    profile = _obj(obj.get("profile"))
    details = _obj(profile.get("userDetails"))
    contact = _obj(details.get("contact"))
    phone_value = contact.get("phone")
    if isinstance(phone_value, dict):
        phone = _str(phone_value.get("number"), SHORT)
        dial_code = normalise_dial_code(phone_value.get("prefix"))
    else:
        phone, dial_code = _str(phone_value, SHORT), ""
    last_message = _obj(obj.get("lastMessage"))
    status = _str(obj.get("status"), 32).upper()
    online = obj.get("isOnline")
    return ChatRecord(
        uuid=uuid,
        remote_id=_str(obj.get("_id"), 255),
        name=_str(details.get("name")),
        email=_str(contact.get("email")),
        phone=phone,
        dial_code=dial_code,
        picture=_str(details.get("picture"), 2000),
        status=status if status in STATUSES else "",
        agent_id=_agent(obj.get("_agentAssigned")),
        tags=_tags(details.get("tags")),
        notes=_notes(profile.get("notes")),
        attributes=_attributes(details.get("attributes")),
        city=_str(details.get("city")),
        country=_str(details.get("country")),
        gender=_str(details.get("gender")),
        last_message_at=parse_datetime(last_message.get("at")),
        last_message_by=_str(last_message.get("by"), 255),
        last_message_text=_str(last_message.get("text"), LONG),
        last_seen_at=parse_datetime(obj.get("lastSeenAt")),
        is_online=online is True or (isinstance(online, str) and online.lower() == "true"),
        website_visits=_int(obj.get("websiteVisits")),
        created_at=parse_datetime(obj.get("createdAt")),
        updated_at=parse_datetime(obj.get("updatedAt")),
        raw=obj,
    )


# --- building PUT bodies ---------------------------------------------------------------------------

_FIELD_NAMES = {
    "name": "name",
    "email": "email",
    "phone": "phone",
    "dial_code": "dialCode",
    "picture": "picture",
    "status": "status",
    "agent_id": "agentId",
    "tags": "tags",
    "notes": "notes",
    "attributes": "attributes",
}


def build_put_body(*, uuid: str, bot_id: str, customer_id: str, **fields: Any) -> dict:
    """A PUT /inbox/direct/lead body carrying only the fields given (absent = unchanged)."""
    unknown = set(fields) - set(_FIELD_NAMES)
    if unknown:
        raise TypeError(f"build_put_body() got unknown fields: {', '.join(sorted(unknown))}")
    body: dict[str, Any] = {"uuid": uuid, "botId": bot_id, "customerId": customer_id}
    for name, value in fields.items():
        key = _FIELD_NAMES[name]
        if name == "dial_code":
            body[key] = normalise_dial_code(value)
        elif name == "tags":
            body[key] = [str(t) for t in value]
        elif name == "notes":
            body[key] = [
                {"title": str(n.get("title", "")), "description": str(n.get("description", ""))}
                for n in value
            ]
        elif name == "attributes":
            body[key] = [{"key": str(a["key"]), "value": str(a.get("value", ""))} for a in value]
        else:
            body[key] = "" if value is None else str(value)
    return body


def record_to_put_body(record: ChatRecord, *, bot_id: str, customer_id: str) -> dict:
    """Every field of a record as a PUT body; empty optional scalars are left out."""
    fields: dict[str, Any] = {
        name: getattr(record, name)
        for name in ("name", "email", "phone", "dial_code", "picture", "status", "agent_id")
        if getattr(record, name)
    }
    fields.update(tags=record.tags, notes=record.notes, attributes=record.attributes)
    return build_put_body(uuid=record.uuid, bot_id=bot_id, customer_id=customer_id, **fields)
