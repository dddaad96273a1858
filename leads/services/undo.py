"""Undo: a person's last edit (one lead or a bulk one) sent back the way it came.

The reverse is an ordinary edit (`apply_edit`, action "undo"): recorded in the change log,
applied to the mirror and PUT to BotPenguin with each field's value from before the edit. A lead
whose fields no longer hold what the edit wrote (someone or a sync changed them since) is skipped
and counted, never overwritten. Only the person who made an edit can undo it, within
UNDO_SECONDS: the page offers it with a signed token naming them and the changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing

from leads.accounts.permissions import TRIAGE, require_service
from leads.models import Lead, LeadChange
from leads.selectors.history import note_key
from leads.services.edits import EditFailed, User, apply_edit, is_pending

UNDO_SECONDS = 60  # the page offers undo for 10 s; a slow click is still accepted up to this
SALT = "leads.services.undo"
CHUNK = 500


class UndoRefused(Exception):
    """The token is not this person's, is damaged or too old. `message` is fit to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class UndoResult:
    """What an undo did: the leads put back (sent, or waiting to be sent), the ones skipped
    because they changed since, and the ones BotPenguin refused."""

    restored: list[LeadChange] = field(default_factory=list)
    pending: list[LeadChange] = field(default_factory=list)
    skipped: list[Lead] = field(default_factory=list)
    failed: list[tuple[Lead, str]] = field(default_factory=list)

    @property
    def changes(self) -> list[LeadChange]:
        return self.restored + self.pending

    @property
    def summary(self) -> str:
        count = len(self.changes)
        parts = [f"{count} lead{'' if count == 1 else 's'} put back"]
        if self.pending:
            parts.append(f"{len(self.pending)} waiting to be sent to BotPenguin")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped: changed since by someone else")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts)


# --- the token -----------------------------------------------------------------------------------


def _runs(ids: list[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs: a bulk edit's ids are mostly consecutive."""
    runs: list[list[int]] = []
    for pk in sorted(set(ids)):
        if runs and runs[-1][1] == pk - 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    return runs


def undo_token(*, change_ids: Iterable[int], user: User) -> str:
    """A token letting `user` (and nobody else) undo these changes for UNDO_SECONDS."""
    runs = _runs([int(pk) for pk in change_ids])
    return signing.dumps({"u": getattr(user, "pk", None), "c": runs}, salt=SALT, compress=True)


def token_changes(*, token: str, user: User) -> list[int]:
    """The change ids `token` lets `user` undo; UndoRefused when it does not."""
    try:
        data = signing.loads(token, salt=SALT, max_age=UNDO_SECONDS)
    except signing.SignatureExpired as e:
        raise UndoRefused(f"Too late to undo: it is offered for {UNDO_SECONDS} seconds.") from e
    except signing.BadSignature as e:
        raise UndoRefused("This undo link is not valid.") from e
    if user is None or data.get("u") != getattr(user, "pk", None):
        raise UndoRefused("Only the person who made an edit can undo it.")
    return [pk for first, last in data.get("c", []) for pk in range(first, last + 1)]


# --- the reverse edits ---------------------------------------------------------------------------


def _same(name: str, current, written) -> bool:
    """Whether the mirror still holds what the edit wrote (notes compared by their words, as the
    history matches them, since BotPenguin gives a delivered note an id and may tidy spaces)."""
    if name == "notes":
        return [note_key(n) for n in current or []] == [note_key(n) for n in written or []]
    return current == written


def _reverse(change: LeadChange, skipped: set[int]):
    """The fields' values from before `change`, as a function of the locked lead: nothing (and
    the lead marked skipped) when any of them changed since."""

    def changes(current: Lead) -> dict:
        if not all(_same(name, getattr(current, name), v) for name, v in change.after.items()):
            skipped.add(current.pk)
            return {}
        return {name: change.before[name] for name in change.after if name in change.before}

    return changes


def _own_changes(change_ids: list[int], user: User) -> list[LeadChange]:
    """The changes of `change_ids` that `user` made, newest first (so several edits of one
    lead unwind in the reverse order they were made)."""
    found: list[LeadChange] = []
    for start in range(0, len(change_ids), CHUNK):
        found.extend(
            LeadChange.objects.filter(pk__in=change_ids[start : start + CHUNK], user=user)
            .exclude(action="undo")
            .select_related("lead__bot")
        )
    return sorted(found, key=lambda c: c.pk, reverse=True)


def changes_undo(*, change_ids: Iterable[int], user: User) -> UndoResult:
    """Undo the person's own changes `change_ids` (read from their token): each lead gets its
    previous values back through apply_edit, unless it changed since. The first BULK_SEND_NOW
    are sent while the person waits, the rest queued, as a bulk edit is."""
    require_service(user, TRIAGE)
    if user is None:
        raise UndoRefused("Only the person who made an edit can undo it.")
    result = UndoResult()
    skipped: set[int] = set()
    try_now = True
    for index, change in enumerate(_own_changes(list(change_ids), user)):
        try_now = try_now and index < settings.BULK_SEND_NOW
        lead = change.lead
        try:
            undone = apply_edit(
                lead=lead,
                user=user,
                action="undo",
                changes=_reverse(change, skipped),
                try_now=try_now,
            )
        except EditFailed as e:
            result.failed.append((lead, e.message))
            continue
        if undone is None:
            if lead.pk in skipped:
                result.skipped.append(lead)
        elif is_pending(undone):
            result.pending.append(undone)
            try_now = False
        else:
            result.restored.append(undone)
    return result
