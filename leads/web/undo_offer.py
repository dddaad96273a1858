"""The Undo offered after an edit: a view makes the offer (`offer_undo`), the next page or the
toast takes it (`take_offer`). It waits in the session for the page the person sees next (the
redirect after a form), or, after an htmx edit, for the toast static/js/undo.js asks for. Undo
itself is leads.web.views.undo; it is the person's own: the offer carries a signed token naming
them and the changes (leads.services.undo)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.http import HttpRequest

from leads import services
from leads.models import LeadChange
from leads.selectors import history

OFFER = "leads.undo_offer"
# The toast shows for 10 s; an offer the person has not been shown within this long is dropped.
OFFER_FRESH_SECONDS = 20
# Edits an undo is offered after (a note or a contact edit is corrected by another edit).
UNDOABLE_FIELDS = {"status", "agent_id", "tags"}


def _undoable(change: LeadChange) -> bool:
    if change.action == "undo" or change.state == LeadChange.State.DISCARDED:
        return False
    return change.action == "macro" or set(change.after) <= UNDOABLE_FIELDS


def _change_ids(what) -> list[int]:
    """The ids of the undoable changes in `what`: a LeadChange (or None), a result carrying
    `change_ids` (services.BulkResult), or several LeadChanges."""
    if what is None:
        return []
    if isinstance(what, LeadChange):
        return [what.pk] if _undoable(what) else []
    if hasattr(what, "change_ids"):
        return list(what.change_ids)
    if isinstance(what, Iterable):
        return [c.pk for c in what if isinstance(c, LeadChange) and _undoable(c)]
    return []


def offer_undo(request: HttpRequest, what) -> None:
    """Offer the person an Undo of `what` they just did (a change, or a bulk result); an edit
    that cannot be undone withdraws the offer of an earlier one (undo is of the last edit)."""
    ids = _change_ids(what)
    if not ids or not request.user.is_authenticated:
        if OFFER in getattr(request, "session", {}):
            del request.session[OFFER]
        return
    request.session[OFFER] = {
        "token": services.undo_token(change_ids=ids, user=request.user),
        "change": ids[0] if len(ids) == 1 else None,
        "count": len(ids),
        "at": time.time(),
    }


def take_offer(request: HttpRequest) -> dict | None:
    """The offer waiting for this person, taken (shown once), as the toast shows it."""
    session = getattr(request, "session", None)
    if session is None or OFFER not in session:
        return None
    offer = session.pop(OFFER)
    if not isinstance(offer, dict) or time.time() - offer.get("at", 0) > OFFER_FRESH_SECONDS:
        return None
    entry = None
    if offer.get("change"):
        change = LeadChange.objects.select_related("lead", "user").filter(pk=offer["change"])
        change = change.first()
        entry = history.describe(change) if change is not None else None
        offer["lead"] = str(change.lead) if change is not None else ""
    next_url = request.get_full_path()
    if request.htmx:
        next_url = request.htmx.current_url_abs_path or ""
    return {**offer, "entry": entry, "next": next_url}
