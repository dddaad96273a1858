"""The sandbox's API rules: which listing queries and PUT bodies BotPenguin accepts (as API.md
documents them, and the sandbox's own choices where it is silent), and what a PUT does to a chat.
Plain functions over dicts, no I/O."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

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


class BadRequest(Exception):
    pass


def check_list_query(query: dict, *, bot_id: str, customer_id: str) -> None:
    """Raise BadRequest unless `query` asks for a page of the listing of this bot."""
    for name in ("botId", "customerId", "page", "type"):
        if not query.get(name):
            raise BadRequest(f"{name} is required")
    if query["botId"] != bot_id:
        raise BadRequest("Unknown botId")
    if query["customerId"] != customer_id:
        raise BadRequest("customerId does not match")
    if not query["page"].isdigit() or int(query["page"]) < 1:
        raise BadRequest("page must be a positive integer")
    if query["type"] not in ("lead", "non-lead"):
        raise BadRequest('type must be "lead" or "non-lead"')


def check_put_body(body: Any, *, bot_id: str, customer_id: str) -> None:
    """Raise BadRequest (saying which field and why) unless `body` is a valid PUT body."""
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object")
    for name in body:
        if name not in PUT_FIELDS:
            raise BadRequest(f"unknown field: {name}")
    for name in ("uuid", "botId", "customerId"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise BadRequest(f"{name}: is required")
    if body["botId"] != bot_id:
        raise BadRequest("botId: unknown bot")
    if body["customerId"] != customer_id:
        raise BadRequest("customerId: does not match the bot")
    _check_scalars(body)
    if "tags" in body:
        _check_tags(body["tags"])
    if "notes" in body:
        _check_notes(body["notes"])
    if "attributes" in body:
        _check_attributes(body["attributes"])


def _matches(pattern: re.Pattern) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


# field: (is the value acceptable, the reason it is not)
_SCALARS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "agentId": (lambda value: isinstance(value, str), "must be a string"),
    "name": (
        lambda value: isinstance(value, str) and len(value) <= 200,
        "must be a string of at most 200 characters",
    ),
    "email": (_matches(_EMAIL), "must be a valid email address"),
    "phone": (_matches(_PHONE), "must be 1-20 digits, spaces and dashes"),
    "dialCode": (_matches(_DIAL), 'must be "+" followed by 1-4 digits'),
    "status": (lambda value: value in STATUSES, f"must be one of {', '.join(STATUSES)}"),
    "picture": (_matches(_URL), "must be an http(s) URL"),
}


def _check_scalars(body: dict) -> None:
    for name, (ok, reason) in _SCALARS.items():
        if name in body and not ok(body[name]):
            raise BadRequest(f"{name}: {reason}")


def _check_tags(tags: Any) -> None:
    if not isinstance(tags, list) or not all(
        isinstance(t, str) and 1 <= len(t) <= 50 for t in tags
    ):
        raise BadRequest("tags: must be an array of strings of 1-50 characters")
    if len({t.casefold() for t in tags}) != len(tags):
        raise BadRequest("tags: duplicate tag")


def _check_notes(notes: Any) -> None:
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


def _check_attributes(attributes: Any) -> None:
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


def new_chat(uuid: str, *, now: str, object_id: str) -> dict:
    """The chat a PUT for an unknown uuid creates."""
    return {
        "_id": object_id,
        "uuid": uuid,
        "createdAt": now,
        "status": "OPEN",
        "profile": {"notes": [], "userDetails": {"tags": [], "attributes": []}},
    }


def apply_put(chat: dict, body: dict, *, now: str, object_id: Callable[[], str]) -> None:
    """Write a valid PUT body's fields into `chat` (in the GET shape) and bump its updatedAt;
    fields the body leaves out stay as they are. A note keeps its id when unchanged."""
    profile = chat.get("profile") if isinstance(chat.get("profile"), dict) else {}
    chat["profile"] = profile
    details = profile.get("userDetails") if isinstance(profile.get("userDetails"), dict) else {}
    profile["userDetails"] = details
    if "status" in body:
        chat["status"] = body["status"]
    if "agentId" in body:
        chat["_agentAssigned"] = body["agentId"] or None
    for name in ("name", "picture", "tags", "attributes"):
        if name in body:
            details[name] = copy.deepcopy(body[name])
    _apply_contact(details, body)
    if "notes" in body:
        profile["notes"] = _notes(profile.get("notes"), body["notes"], object_id)
    chat["updatedAt"] = now


def _notes(before: Any, notes: list[dict], object_id: Callable[[], str]) -> list[dict]:
    """The chat's new notes: a note with the title and description of an old one keeps its id."""
    old = {
        (n.get("title"), n.get("description")): n.get("_id")
        for n in before or []
        if isinstance(n, dict)
    }
    return [
        {
            "_id": old.get((n["title"], n.get("description", ""))) or object_id(),
            "title": n["title"],
            "description": n.get("description", ""),
        }
        for n in notes
    ]


def _apply_contact(details: dict, body: dict) -> None:
    contact = details.get("contact") if isinstance(details.get("contact"), dict) else {}
    phone = contact.get("phone") if isinstance(contact.get("phone"), dict) else {}
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
