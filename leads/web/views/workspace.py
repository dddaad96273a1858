"""The triage workspace around the list: the queues and saved views panel (its counts loaded
apart, so the list's own queries stay as they were), the saved views page, and the new-leads bar
that an open list polls.

Every form here posts, then redirects (Post/Redirect/Get); a form refused keeps what was typed in
the session until the saved views page shows it again with the reason.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leads.accounts.permissions import VIEW, permission_required
from leads.selectors import people, queues
from leads.selectors.bots import chosen_bot
from leads.services import saved_views as views_service
from leads.web.scope import current_bot, seen
from leads.web.tables import LeadTable

# The session key a refused form's values wait under until the saved views page shows them.
REFUSED = "workspace.refused"
# Parameters of a list that are no part of a view or a queue.
NOT_KEPT = ("page", "_export", "since")
# The list filters only queues set (selectors.filters).
QUEUE_FILTERS = ("status_not", "overdue", "updated_within")


def collapsed_cookie(user) -> str:
    """The cookie remembering, per person, that the panel is folded (static/js/workspace.js)."""
    return f"bp_queues_{user.pk}"


def sortable_columns() -> list[str]:
    """The list's columns a view may be sorted by (the table's sort links' names)."""
    return [
        name for name, column in LeadTable.base_columns.items() if column.orderable is not False
    ]


def view_query(request: HttpRequest, params: QueryDict) -> str:
    """The list being shown as a view keeps it: its filters, sort and rows per page, and its
    bot made explicit ("all" for every bot), so it reopens the same list."""
    kept = params.copy()
    for name in NOT_KEPT:
        kept.pop(name, None)
    visible = seen(request)
    bot = current_bot(request)
    if bot is not None:
        kept["bot"] = str(bot)
    elif visible.several:
        kept["bot"] = "all"
    else:
        kept.pop("bot", None)
    return kept.urlencode()


def list_url(query: str) -> str:
    return reverse("leads:list") + (f"?{query}" if query else "")


def queue_rows(current: QueryDict, count=None) -> list[dict]:
    """The built-in queues as the panel lists them, the one shown marked; with `count` (a
    query's Count), their counts."""
    return [
        {
            "key": queue.key,
            "name": queue.name,
            "title": queue.title,
            "url": list_url(queue.query),
            "active": queues.same_list(queue.query, current, ignore_bot=True),
            "count": count(queue.query) if count else None,
        }
        for queue in queues.BUILTIN_QUEUES
    ]


def panel_context(request: HttpRequest, params: QueryDict, newest: int | None) -> dict:
    """What the list page's panel and new-leads bar need (no query: the counts and the saved
    views are loaded by the panel itself, `panel_url`). `params`: the list's query; `newest`:
    the highest lead id it lists, from which new arrivals are counted."""
    current = request.GET
    since = newest if newest is not None else queues.newest_lead_id()
    shown = params.copy()
    for name in NOT_KEPT:
        shown.pop(name, None)
    return {
        "queues": queue_rows(current),
        "panel_url": reverse("leads:queues-panel") + "?" + current.urlencode(),
        "save_query": view_query(request, current),
        "collapsed": request.COOKIES.get(collapsed_cookie(request.user)) == "1",
        "cookie": collapsed_cookie(request.user),
        "new_url": reverse("leads:new-leads")
        + "?"
        + "&".join(filter(None, [shown.urlencode(), f"since={since}"])),
        # The queues' filters, which the filter form has no field for, kept when it is sent.
        "kept_filters": [
            (name, value) for name in QUEUE_FILTERS for value in current.getlist(name)
        ],
        "poll_seconds": int(getattr(settings, "BOTPANEL_NEW_LEADS_POLL_SECONDS", 20)),
    }


def list_bot(request: HttpRequest) -> int | None:
    """The bot the list the panel is beside shows: the one its URL names, even one the person
    does not see (whose list is empty), else the remembered one; None for every bot."""
    value = request.GET.get("bot")
    return chosen_bot(value) if value else current_bot(request)


def _view_rows(request: HttpRequest, views, bot: int | None) -> list[dict]:
    visible = seen(request)
    names = visible.names()
    return [
        {
            "view": view,
            "url": list_url(view.query),
            "count": queues.count(view.query, user=request.user, seen=visible, bot=bot),
            "bot_name": names.get(view.bot_id, "") if view.bot_id else "",
            "owner_name": view.owner.get_full_name() or view.owner.get_username(),
            "mine": view.owner_id == request.user.pk,
            "can_manage": views_service.can_manage(request.user, view),
        }
        for view in views
    ]


@permission_required(VIEW)
def queues_panel(request: HttpRequest) -> HttpResponse:
    """The panel's queues and saved views with their counts (htmx, on the list's load), in the
    list's bot; the query string is the list's."""
    visible = seen(request)
    bot = list_bot(request)
    current = request.GET
    personal, shared = queues.split_views(queues.visible_views(request.user, visible))
    context = {
        "queues": queue_rows(
            current,
            count=lambda query: queues.count(query, user=request.user, seen=visible, bot=bot),
        ),
        "personal": _view_rows(request, personal, bot),
        "shared": _view_rows(request, shared, bot),
        "current": current,
        "loaded": True,
    }
    for row in context["personal"] + context["shared"]:
        row["active"] = queues.same_list(row["view"].query, current, ignore_bot=False)
    return render(request, "leads/partials/queues_list.html", context, using="jinja2")


@permission_required(VIEW)
def new_leads(request: HttpRequest) -> HttpResponse:
    """How many leads the list would show that arrived after it was drawn (`since`: the highest
    lead id it listed then), as the bar above the list; polled while the list's tab is visible."""
    params = request.GET.copy()
    since = params.pop("since", ["0"])[-1]
    if not since.isdigit():
        return HttpResponse(status=400)
    found = queues.arrived_since(
        people.resolve_me(params, request.user), seen=seen(request), since_id=int(since)
    )
    for name in NOT_KEPT:
        params.pop(name, None)
    context = {
        "found": found,
        "text": queues.new_count_text(found),
        "show_url": list_url(params.urlencode()),
    }
    return render(request, "leads/partials/new_leads_bar.html", context, using="jinja2")


# --- the saved views page and its forms -----------------------------------------------------


def _refused(request: HttpRequest, target: str, error, values: dict) -> HttpResponse:
    """Keep what was typed and why it was refused for the saved views page, and go there."""
    request.session[REFUSED] = {
        "target": target,
        "message": error.message,
        "field": error.field,
        **values,
    }
    messages.error(request, f"Not saved: {error.message}")
    anchor = "" if target == "new" else f"#view-{target}"
    return redirect(reverse("leads:saved-views") + anchor)


@permission_required(VIEW)
def saved_views(request: HttpRequest) -> HttpResponse:
    """The person's views and the shared ones they see: rename, share, reorder, delete, and a
    new view from a list query."""
    visible = seen(request)
    refused = request.session.pop(REFUSED, None) or {}
    personal, shared = queues.split_views(queues.visible_views(request.user, visible))
    bot = current_bot(request)
    context = {
        "personal": _view_rows(request, personal, bot),
        "shared": _view_rows(request, shared, bot),
        "refused": refused,
        "new_form": refused if refused.get("target") == "new" else {},
    }
    for row in context["personal"] + context["shared"]:
        row["refused"] = refused if refused.get("target") == str(row["view"].pk) else {}
    return render(request, "leads/saved_views.html", context)


def _checked(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name) in ("1", "on", "true")


@require_POST
@permission_required(VIEW)
def saved_view_create(request: HttpRequest) -> HttpResponse:
    values = {
        "name": request.POST.get("name", ""),
        "query": request.POST.get("query", ""),
        "shared": _checked(request, "shared"),
    }
    try:
        view = views_service.saved_view_create(
            user=request.user, sorts=sortable_columns(), **values
        )
    except views_service.SavedViewError as error:
        return _refused(request, "new", error, values)
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(list_url(view.query))


@require_POST
@permission_required(VIEW)
def saved_view_edit(request: HttpRequest, pk: int) -> HttpResponse:
    view = views_service.visible_view(user=request.user, pk=pk)
    values = {"name": request.POST.get("name", "")}
    if "query" in request.POST:
        values["query"] = request.POST["query"]
    shared = _checked(request, "shared") if "shared_shown" in request.POST else None
    try:
        views_service.saved_view_update(
            view=view, user=request.user, shared=shared, sorts=sortable_columns(), **values
        )
    except views_service.SavedViewError as error:
        return _refused(request, str(pk), error, {**values, "shared": shared})
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(reverse("leads:saved-views") + f"#view-{pk}")


@require_POST
@permission_required(VIEW)
def saved_view_move(request: HttpRequest, pk: int) -> HttpResponse:
    view = views_service.visible_view(user=request.user, pk=pk)
    try:
        views_service.saved_view_move(
            view=view, user=request.user, direction=request.POST.get("direction", "")
        )
    except views_service.SavedViewError as error:
        messages.error(request, error.message)
    return redirect(reverse("leads:saved-views") + f"#view-{pk}")


@require_POST
@permission_required(VIEW)
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = views_service.visible_view(user=request.user, pk=pk)
    try:
        views_service.saved_view_delete(view=view, user=request.user)
    except views_service.SavedViewError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect("leads:saved-views")
