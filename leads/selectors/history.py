"""What the change log says to a person: each change as a short sentence made of parts ("status
Open → Review", "tag +vip", "assigned to Priya", "note added: Call back"), and which of a lead's
notes were written in BotPanel, by whom and when. Data only: the wording and the markup are
templates/jinja2/leads/partials/history.html's."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from leads.botpenguin.records import STATUS_LABELS
from leads.models import Lead, LeadChange
from leads.selectors import people

# The order a sentence names the fields of one change in; any other field comes after them.
FIELD_ORDER = ("status", "agent_id", "tags", "notes", "name", "email", "phone", "dial_code")
FIELD_NAMES = {"dial_code": "dial code", "agent_id": "agent"}
STATE_WORDS = {
    LeadChange.State.PENDING: "pending",
    LeadChange.State.DELIVERED: "delivered",
    LeadChange.State.FAILED: "failed",
    LeadChange.State.NOT_KEPT: "not kept by BotPenguin",
    LeadChange.State.SUPERSEDED: "superseded",
    LeadChange.State.DISCARDED: "discarded",
}
# The actions a sentence names before its parts ("undo: status Review → Open").
NAMED_ACTIONS = {"undo": "undo", "macro": "macro"}


@dataclass(frozen=True)
class Part:
    """One thing a change did. `verb` picks the wording: status, assigned, unassigned,
    tag_added, tag_removed, note_added, note_removed, field (`name` old → new), attributes."""

    verb: str
    old: str = ""
    new: str = ""
    name: str = ""
    title: str = ""  # the full value where `new`/`old` is a shortened one (an agent id)


@dataclass(frozen=True)
class Entry:
    """One change as the history shows it."""

    pk: int
    verb: str  # "" or the action named before the parts ("undo", "macro")
    parts: tuple[Part, ...]
    state: str
    state_word: str
    who: str
    at: datetime
    error: str


@dataclass(frozen=True)
class Note:
    """One of the lead's notes and, when it was written in BotPanel, who wrote it and when."""

    title: str
    description: str
    author: str = ""  # blank: the note came from BotPenguin
    at: datetime | None = None

    @property
    def from_botpanel(self) -> bool:
        return bool(self.author)


# --- agent names ---------------------------------------------------------------------------------


def agent_names() -> dict[str, str]:
    """{agent id: person's name} of the people linked to an agent id: the one seam to
    leads.selectors.people (its cached directory), read once for a page of changes."""
    return people.names()


def agent_label(agent_id: str, names: dict[str, str]) -> tuple[str, str]:
    """(what to show for `agent_id`, its tooltip): the person's name, else the id shortened."""
    label = people.agent_label(agent_id, names)
    return label.text, label.title


def person(user) -> str:
    if user is None:
        return "system"
    return user.get_full_name() or user.get_username()


# --- sentences -----------------------------------------------------------------------------------


def describe(change: LeadChange, names: dict[str, str] | None = None) -> Entry:
    """`change` as a history entry (`names`: agent_names(), read once for many changes)."""
    names = agent_names() if names is None else names
    fields = sorted(change.after, key=lambda f: FIELD_ORDER.index(f) if f in FIELD_ORDER else 99)
    parts: list[Part] = []
    for name in fields:
        parts.extend(field_parts(name, change.before.get(name), change.after[name], names))
    return Entry(
        pk=change.pk,
        verb=NAMED_ACTIONS.get(change.action, ""),
        parts=tuple(parts),
        state=change.state,
        state_word=STATE_WORDS.get(change.state, change.state),
        who=person(change.user),
        at=change.created_at,
        error=change.last_error,
    )


def describe_all(changes: Iterable[LeadChange]) -> list[Entry]:
    names = agent_names()
    return [describe(change, names) for change in changes]


def lead_history(*, lead: Lead, limit: int = 20) -> list[Entry]:
    """The lead's latest changes, newest first, as sentences."""
    return describe_all(lead.changes.select_related("user").order_by("-created_at", "-id")[:limit])


def history_and_notes(*, lead: Lead, limit: int = 20) -> tuple[list[Entry], list[Note]]:
    """lead_history() and lead_notes() in one query for a lead with at most `limit` changes
    (most): its latest changes are then all of them, its notes' authors among them."""
    recent = list(lead.changes.select_related("user").order_by("-created_at", "-id")[: limit + 1])
    entries = describe_all(recent[:limit])
    if len(recent) > limit:
        return entries, lead_notes(lead=lead)
    noted = sorted(
        (c for c in recent if "notes" in c.after and c.state != LeadChange.State.DISCARDED),
        key=lambda change: change.pk,
    )
    return entries, notes_of(lead, noted)


def field_parts(name: str, before, after, names: dict[str, str]) -> list[Part]:
    if name == "status":
        return [Part("status", old=status_word(before), new=status_word(after))]
    if name == "agent_id":
        if not after:
            return [Part("unassigned")]
        label, title = agent_label(str(after), names)
        return [Part("assigned", new=label, title=title)]
    if name == "tags":
        return tag_parts(before or [], after or [])
    if name == "notes":
        return note_parts(before or [], after or [])
    if name == "attributes":
        return [Part("attributes")]
    return [Part("field", name=FIELD_NAMES.get(name, name), old=str(before or ""), new=str(after))]


def status_word(status) -> str:
    return STATUS_LABELS.get(status, status or "")


def tag_parts(before: list, after: list) -> list[Part]:
    old = {str(t).casefold() for t in before}
    new = {str(t).casefold() for t in after}
    added = [Part("tag_added", new=str(t)) for t in after if str(t).casefold() not in old]
    removed = [Part("tag_removed", old=str(t)) for t in before if str(t).casefold() not in new]
    return added + removed


def note_key(note) -> tuple[str, str]:
    """A note as compared across BotPanel and BotPenguin (which adds ids, may tidy spaces)."""
    if not isinstance(note, dict):
        return ("", "")
    return (
        " ".join(str(note.get("title") or "").split()),
        " ".join(str(note.get("description") or "").split()),
    )


def added_notes(before: list, after: list) -> list[dict]:
    """The notes of `after` that `before` does not hold (as many times as it holds them)."""
    remaining = Counter(note_key(n) for n in before)
    added = []
    for note in after:
        key = note_key(note)
        if remaining[key]:
            remaining[key] -= 1
        else:
            added.append(note)
    return added


def note_label(note: dict) -> str:
    title, description = note_key(note)
    return title or description


def note_parts(before: list, after: list) -> list[Part]:
    return [Part("note_added", new=note_label(n)) for n in added_notes(before, after)] + [
        Part("note_removed", old=note_label(n)) for n in added_notes(after, before)
    ]


# --- notes and their authors ---------------------------------------------------------------------


def lead_notes(*, lead: Lead) -> list[Note]:
    """The lead's notes, newest first; each written in BotPanel carries its author and time.

    A note is matched to the change that added it by its title and description: the earliest
    change not yet matched, and never one whose lead already held that note before it (a
    BotPenguin note with the same words that came first stays BotPenguin's)."""
    if not lead.notes:
        return []
    changes = (
        lead.changes.filter(after__has_key="notes")
        .exclude(state=LeadChange.State.DISCARDED)
        .select_related("user")
        .order_by("id")
    )
    return notes_of(lead, changes)


def notes_of(lead: Lead, changes: Iterable[LeadChange]) -> list[Note]:
    """lead_notes() from `changes`: those of the lead that wrote notes (not discarded), oldest
    first, with their users."""
    if not lead.notes:
        return []
    waiting: dict[tuple[str, str], list[tuple[int, LeadChange]]] = defaultdict(list)
    for change in changes:
        held = Counter(note_key(n) for n in change.before.get("notes") or [])
        for note in added_notes(change.before.get("notes") or [], change.after["notes"]):
            key = note_key(note)
            waiting[key].append((held[key], change))
            held[key] += 1
    notes: list[Note] = []
    seen: Counter = Counter()
    for note in lead.notes:
        if not isinstance(note, dict):
            continue
        key = note_key(note)
        match = next((i for i, (n, _c) in enumerate(waiting[key]) if n <= seen[key]), None)
        seen[key] += 1
        title, description = str(note.get("title") or ""), str(note.get("description") or "")
        if match is None:
            notes.append(Note(title, description))
            continue
        _held, change = waiting[key].pop(match)
        notes.append(Note(title, description, author=person(change.user), at=change.created_at))
    return list(reversed(notes))
