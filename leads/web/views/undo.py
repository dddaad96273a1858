"""Undo after an edit: the offer a view makes (`offer_undo`), the toast that shows it for 10
seconds (templates/jinja2/frame/undo.html, static/js/undo.js) and the POST that undoes.

The offer waits in the session for the page the person sees next (the redirect after a form),
or, after an htmx edit, for the toast undo.js asks for. Undo is the person's own: the form
carries a signed token naming them and the changes (leads.services.undo)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from leads import services
from leads.accounts.permissions import TRIAGE, permission_required
from leads.models import LeadChange
from leads.selectors import history
from leads.web.redirects import redirect_back

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


@require_GET
@permission_required(TRIAGE)
def undo_toast(request: HttpRequest) -> HttpResponse:
    """The toast's content after an htmx edit (nothing when no undo is on offer)."""
    offer = take_offer(request)
    if offer is None:
        return HttpResponse(status=204)
    return render(request, "leads/partials/undo_offer.html", {"offer": offer}, using="jinja2")


@require_POST
@permission_required(TRIAGE)
def undo(request: HttpRequest) -> HttpResponse:
    try:
        ids = services.token_changes(token=request.POST.get("token", ""), user=request.user)
        result = services.changes_undo(change_ids=ids, user=request.user)
    except services.UndoRefused as e:
        messages.error(request, e.message)
        return redirect_back(request, "leads:list")
    done = result.changes
    if len(done) == 1 and not (result.skipped or result.failed):
        messages.success(request, f"Undone: {done[0].lead} is back as it was.")
    elif result.skipped and not (done or result.failed):
        lead = result.skipped[0] if len(result.skipped) == 1 else None
        what = str(lead) if lead else f"{len(result.skipped)} leads"
        messages.warning(request, f"Not undone: {what} changed since by someone else.")
    else:
        level = messages.WARNING if result.failed or result.skipped else messages.SUCCESS
        messages.add_message(request, level, f"Undone: {result.summary}.")
    for lead, reason in result.failed[:20]:
        messages.error(request, f"{lead}: {reason}")
    if result.pending:
        messages.warning(request, services.SAVED_PENDING)
    return redirect_back(request, "leads:list")
