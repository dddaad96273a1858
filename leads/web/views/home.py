"""The overview (the landing page: the numbers a person starts the day from, each linking to
its list), and the page of a person who belongs to no bot."""

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from leads.accounts.permissions import VIEW, permission_required
from leads.accounts.teams import whom_to_ask
from leads.models import Status
from leads.selectors import lists, queues
from leads.selectors import overview as selectors
from leads.selectors.bots import list_scope
from leads.web.scope import current_bot, seen


def no_bots(request: HttpRequest) -> HttpResponse:
    """The installation has bots, but this person is a member of none: say so, and whom to ask."""
    return render(request, "leads/no_bots.html", {"people": whom_to_ask()})


# The overview's numbers: (key, label, the list's query string). Each is the list's count of
# that query (selectors.queues.count: cached per mirror version, shared with the queues panel).
LANDING = (
    ("mine", "My leads", "agent=me&status_not=CLOSED"),
    ("overdue", "Overdue", "overdue=1&status_not=CLOSED"),
    ("unassigned", "Unassigned", "agent=none&status_not=CLOSED"),
    ("new_today", "New today", "created_after={today}"),
)


def landing(request: HttpRequest, visible) -> dict:
    """The landing page's numbers, each with the list it counts: a constant number of queries,
    none once cached."""
    bot = current_bot(request)
    today = timezone.localdate().isoformat()
    list_url = reverse("leads:list")
    numbers = []
    for key, label, query in LANDING:
        query = query.format(today=today)
        count = queues.count(query, user=request.user, seen=visible, bot=bot)
        numbers.append({"key": key, "label": label, "count": count, "url": f"{list_url}?{query}"})
    params = QueryDict(mutable=True)
    if bot is not None:
        params["bot"] = str(bot)
    statuses = lists.status_counts(params, scope=list_scope(visible, params))
    funnel = [
        {"code": code, "label": label, "count": statuses.get(code, 0)}
        for code, label in Status.choices
    ]
    return {
        "numbers": numbers,
        "funnel": funnel,
        "list_url": list_url,
        "syncs": selectors.sync_per_bot(visible.ids),
        "changes": selectors.change_counts(visible.scope),
    }


@permission_required(VIEW)
def home(request: HttpRequest) -> HttpResponse:
    visible = seen(request)
    if visible.locked_out:
        return no_bots(request)
    page = landing(request, visible)
    # The newest of the bots' last successful syncs, which the per-bot table already read.
    succeeded = [ok for _bot, _last, ok in page["syncs"] if ok is not None]
    return render(
        request,
        "leads/home.html",
        {
            "counts": selectors.mirror_counts(visible.scope),
            "last_success": max(succeeded, key=lambda run: run.started_at, default=None),
            **page,
        },
    )
