"""Assigning a lead: the detail page's Assign control and "Assign to me" (a plain POST that
redirects back with a message), and the list's key `a` on the focused row (htmx: the row comes
back re-rendered, or the refusal in the page's messages)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leads import services
from leads.accounts.permissions import TRIAGE, permission_required
from leads.models import Lead, LeadChange
from leads.selectors import people, queues
from leads.web.assigning import chosen_agent_id, refusal_text
from leads.web.redirects import redirect_back
from leads.web.scope import lead_or_404
from leads.web.tables import LeadTable
from leads.web.undo_offer import offer_undo
from leads.web.views.list import bot_names, filter_query_string


def outcome_text(lead: Lead, change: LeadChange | None, user) -> str:
    """What the person is told after an assignment went through (or had nothing to do)."""
    label = people.agent_label(lead.agent_id)
    me = people.person_of(user)
    who = "you" if me is not None and me.agent_id == lead.agent_id else label.text
    if change is None:
        state = f"assigned to {who}" if lead.agent_id else "unassigned"
        return f"Nothing to change: {state} already."
    done = f"Assigned to {who}." if lead.agent_id else "Unassigned."
    return f"{done} {services.SAVED_PENDING}" if services.is_pending(change) else done


def assign_lead(request: HttpRequest, lead: Lead) -> tuple[LeadChange | None, str]:
    """Apply the POST's `agent` ("me", an agent id, or "" or "none" for nobody): (the change,
    or None, and "" or the reason it was not made)."""
    try:
        agent_id = chosen_agent_id(request.POST.get("agent", ""), request.user)
        change = services.lead_assign(lead=lead, agent_id=agent_id, user=request.user)
    except services.AssignmentRefused as e:
        return None, e.message
    except services.EditFailed as e:
        return None, f"BotPenguin refused the assignment: {e.message}"
    return change, ""


def _detail_url(request: HttpRequest, lead: Lead) -> str:
    url = reverse("leads:detail", args=[lead.uuid])
    query = filter_query_string(QueryDict(request.POST.get("query", "")))
    if request.GET.get("bot"):
        query = "&".join(part for part in (query, f"bot={lead.bot_id}") if part)
    return f"{url}?{query}" if query else url


@require_POST
@permission_required(TRIAGE)
def assign(request: HttpRequest, uuid: str) -> HttpResponse:
    """Assign the lead; back to where the form was (its `next`, else the lead's page)."""
    lead = lead_or_404(request, uuid)
    change, refused = assign_lead(request, lead)
    offer_undo(request, change)
    if request.htmx and request.POST.get("row"):
        return _row(request, lead, change, refused)
    if refused:
        messages.error(request, refusal_text(refused))
    elif services.is_pending(change):
        messages.warning(request, outcome_text(lead, change, request.user))
    else:
        messages.success(request, outcome_text(lead, change, request.user))
    return redirect_back(request, _detail_url(request, lead))


def _row(request: HttpRequest, lead: Lead, change: LeadChange | None, refused: str) -> HttpResponse:
    """The list's answer: the row re-rendered with the outcome under its status, or a refusal
    in the page's messages (with the profile link when it is one), the row left as it was."""
    if refused:
        response = render(
            request, "leads/partials/assign_refused.html", {"message": refusal_text(refused)}
        )
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    query = filter_query_string(QueryDict(request.POST.get("query", "")))
    table = LeadTable([lead], query_string=query, bot_names=bot_names(request))
    table.marks = queues.page_marks(user=request.user, rows=[lead])  # as the list drew it
    context = {
        "table": table,
        "lead": lead,
        "note": outcome_text(lead, change, request.user),
        "note_class": "text-body-secondary",
    }
    response = render(request, "leads/row_status.html", context, using="jinja2")
    response.headers["HX-Trigger"] = "changes-updated"
    return response
