"""Undo after an edit: the toast that shows the offer for 10 seconds (templates/jinja2/frame/
undo.html, static/js/undo.js) and the POST that undoes. The offer itself, made by the views
after an edit, is leads.web.undo_offer."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from leads import services
from leads.accounts.permissions import TRIAGE, permission_required
from leads.web.redirects import redirect_back
from leads.web.undo_offer import take_offer


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
