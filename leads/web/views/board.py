"""The pipeline board (/board/): a column per status, the list's query string (filters, search,
bot scope, queues and saved views), each column's further cards loaded as it is scrolled, and a
card moved to another column as an ordinary status edit (services.lead_set_status, version
checked, undo offered): by drag and drop or keys (static/js/board.js, htmx) or by the card's
own form without JavaScript (Post/Redirect/Get back to the same board)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template import engines
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from leads import services
from leads.accounts.permissions import TRIAGE, VIEW, has, permission_required
from leads.models import Lead, Status
from leads.selectors import board as selectors
from leads.selectors import lists, people, queues
from leads.selectors.board import CARD_FIELDS
from leads.selectors.bots import list_scope
from leads.selectors.filters import LeadFilter
from leads.selectors.overdue import is_overdue, rules
from leads.web.assigning import not_linked_text
from leads.web.display import relative
from leads.web.scope import current_bot, lead_or_404, list_params, seen
from leads.web.tables import UUID_SLOT, RenderedCache, lead_url, this_minute
from leads.web.undo_offer import offer_undo
from leads.web.views.home import no_bots

# (key, value, label) of each status: key n moves a focused card to the n-th column.
STATUS_KEYS = tuple((n, value, label) for n, (value, label) in enumerate(Status.choices, 1))


def board_params(request: HttpRequest) -> QueryDict:
    """The board's query as the list reads its own: the remembered bot applied, "me" made the
    person's agent id (counts are cached by parameters)."""
    return people.resolve_me(list_params(request), request.user)


def without(params: QueryDict, names: tuple[str, ...]) -> str:
    kept = params.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


def board_query(params: QueryDict) -> str:
    """The board's own query string: the filters and `closed`, not a column's page."""
    return without(params, (*lists.CONTROL_PARAMS, "column", "after"))


def list_query(params: QueryDict) -> str:
    """The same leads' query for the list (and a card's link, whose page keeps it)."""
    return without(params, selectors.NOT_FILTERS)


def with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


# The csrf token's place in a kept card (it differs on every page; the card does not).
CSRF_SLOT = "CSRF0SLOT0"
# Cards made, kept by everything they are made from (as the list's rows are): about 1 KB each.
CARDS = RenderedCache(3000)


@functools.lru_cache(maxsize=8)
def status_options(status: str) -> str:
    """The "Move to" select's options, the card's status chosen, each with the key that moves
    a focused card there."""
    return format_html_join(
        "",
        '<option value="{}"{}>{} {}</option>',
        (
            (value, " selected" if value == status else "", n, label)
            for n, value, label in STATUS_KEYS
        ),
    )


@dataclass
class CardContext:
    """What every card of a page is drawn with (templates/jinja2/leads/board_cards.html)."""

    detail_url: Callable[[str], str]
    move_url: Callable[[str], str]
    query: str
    can_move: bool
    now: datetime
    names: dict[str, str]
    bot_names: dict[int, str] | None
    ruled: dict[str, int]

    @classmethod
    def of(cls, request: HttpRequest, params: QueryDict) -> CardContext:
        visible = seen(request)
        return cls(
            detail_url=lead_url("leads:detail", list_query(params)),
            move_url=lead_url("leads:board-move"),
            query=board_query(params),
            can_move=has(request.user, TRIAGE),
            now=this_minute(),
            names=people.names(),
            bot_names=visible.names() if visible.several else None,
            ruled=rules(),
        )

    @functools.cached_property
    def hidden(self) -> str:
        """The hidden fields every card's form sends alike: the token's slot and the query."""
        return format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="query" value="{}">',
            CSRF_SLOT,
            self.query,
        )

    @functools.cached_property
    def key(self) -> tuple:
        """What every card's markup depends on besides its own values."""
        bots = tuple(sorted(self.bot_names.items())) if self.bot_names else None
        return (self.detail_url(UUID_SLOT), self.query, self.can_move, self.now, bots)

    def agent_label(self, agent_id: str) -> people.AgentLabel:
        return people.agent_label(agent_id, self.names)

    def overdue(self, row) -> bool:
        return is_overdue(row.status, row.waiting_since, self.now, self.ruled)

    def iso(self, moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def ago(self, moment: datetime) -> str:
        return relative(moment, self.now)

    def options(self, status: str) -> str:
        return status_options(status)


def card_key(context: CardContext, row) -> tuple:
    """What one card's markup is made from: the page's context, the card's values, its
    agent's name and whether it is overdue now."""
    values = tuple(getattr(row, name) for name in CARD_FIELDS)
    values = tuple(tuple(v) if isinstance(v, list) else v for v in values)
    return (context.key, values, context.names.get(row.agent_id), context.overdue(row))


def cards_html(request: HttpRequest, context: CardContext, rows) -> str:
    """The cards' markup, each card made once for the same values (CARDS), the request's csrf
    token put in its slot."""
    card = engines["jinja2"].env.get_template("leads/board_cards.html").module.card

    def made(row) -> str:
        return CARDS.get_or_render(card_key(context, row), lambda: str(card(context, row)))

    html = "".join([made(row) for row in rows])
    if context.can_move:
        html = html.replace(CSRF_SLOT, get_token(request))
    return mark_safe(html)  # noqa: S308 -- made by the autoescaping Jinja2 template


def more_url(status: str, cursor: selectors.Cursor | None, query: str) -> str:
    if cursor is None:
        return ""
    page = QueryDict(query, mutable=True)
    page["column"] = status
    page["after"] = cursor.token
    return with_query(reverse("leads:board-more"), page.urlencode())


# The filters the board's form shows; any other of the query is kept as it is (and described).
FORM_FIELDS = ("q", "tag", "agent", "bot")


def described(name: str, value: str) -> str:
    """A filter the board's form has no field for, in words ("Not in status: Closed")."""
    if name == lists.KIND_PARAM:
        return "other chats" if value == lists.NON_LEAD else f"{name}: {value}"
    found = LeadFilter.base_filters.get(name)
    label = found.label if found is not None and found.label else name
    if name in ("status", "status_not") and value in Status.values:
        value = Status(value).label
    if name == "overdue":
        return "overdue"
    return f"{label}: {value}"


def view_links(request: HttpRequest) -> list[dict]:
    """The queues and the person's saved views, opened on the board (one query)."""
    links = [{"name": queue.name, "query": queue.query} for queue in queues.BUILTIN_QUEUES]
    views = queues.visible_views(request.user, seen(request))
    links += [{"name": view.name, "query": view.query, "saved": True} for view in views]
    board_url = reverse("leads:board")
    for link in links:
        link["url"] = with_query(board_url, link["query"])
    return links


@permission_required(VIEW)
def board(request: HttpRequest) -> HttpResponse:
    visible = seen(request)
    if visible.locked_out:
        return no_bots(request)
    params = board_params(request)
    if params.get("agent") == people.ME:  # still "me": the person is linked to no agent id
        messages.info(request, not_linked_text())
    shown = selectors.board(params, scope=list_scope(visible, params))
    kept = [
        (name, value)
        for name, values in QueryDict(list_query(params)).lists()
        if name not in FORM_FIELDS
        for value in values
    ]
    context = CardContext.of(request, params)
    query = board_query(params)
    closed = QueryDict(query, mutable=True)
    if shown.closed_all:
        closed.pop(selectors.CLOSED_PARAM, None)
    else:
        closed[selectors.CLOSED_PARAM] = selectors.ALL_CLOSED
    columns = [
        {
            "status": column.status,
            "label": column.label,
            "key": Status.values.index(column.status) + 1,
            "count": f"{column.count:,}",
            "cards": cards_html(request, context, column.cards),
            "empty": not column.cards,
            "more_url": more_url(column.status, column.more, query),
        }
        for column in shown.columns
    ]
    return render(
        request,
        "leads/board.html",
        {
            "columns": columns,
            "hidden_columns": len(Status.values) - len(columns),
            "closed_all": shown.closed_all,
            "closed_total": f"{shown.closed_total:,}",
            "closed_days": selectors.CLOSED_DAYS,
            "closed_url": with_query(reverse("leads:board"), closed.urlencode()),
            "errors": shown.errors,
            "query": query,
            "list_url": with_query(reverse("leads:list"), list_query(params)),
            "can_move": context.can_move,
            "views": view_links(request),
            "bot_choices": visible.bots if visible.several else (),
            "chosen_bot": current_bot(request),
            "q": params.get("q", ""),
            "tag": params.get("tag", ""),
            "kept_filters": kept,
            "kept_labels": [described(name, value) for name, value in kept],
            "status_keys": STATUS_KEYS,
        },
        using="jinja2",
    )


@permission_required(VIEW)
def board_more(request: HttpRequest) -> HttpResponse:
    """A column's next page of cards: for the board's scroll (htmx), the cards and the next
    page's placeholder; followed as a link (no JavaScript), a page of that column alone."""
    status = request.GET.get("column", "")
    after = selectors.Cursor.parse(request.GET.get("after", ""))
    if status not in Status.values or after is None:
        return HttpResponseBadRequest("Which column, and after which card?")
    params = board_params(request)
    rows, more = selectors.column_page(
        params, status, after, scope=list_scope(seen(request), params)
    )
    context = CardContext.of(request, params)
    query = board_query(params)
    values = {
        "status": status,
        "label": Status(status).label,
        "cards": cards_html(request, context, rows),
        "more_url": more_url(status, more, query),
        "board_url": with_query(reverse("leads:board"), query),
        "status_keys": STATUS_KEYS,
    }
    template = "leads/partials/board_more.html" if request.htmx else "leads/board_column.html"
    return render(request, template, values, using="jinja2")


def _conflict_text(lead: Lead, conflict: services.EditConflict, version: int) -> str:
    current = Status(conflict.current["status"]).label if conflict.current["status"] else "—"
    return (
        f"{lead} changed meanwhile: {selectors.changed_since(lead, version)}. It stays in "
        f"{current}; move it again to keep your choice."
    )


def move(request: HttpRequest, lead: Lead) -> tuple[str, str, int]:
    """Apply the posted move to `lead`: (outcome, sentence for the person, HTTP status)."""
    status = request.POST.get("status", "")
    if status not in Status.values:
        return "refused", "Choose one of the six statuses.", 400
    label = Status(status).label
    if status == lead.status:
        return "same", f"{lead} is already in {label} — nothing changed.", 200
    posted = request.POST.get("version", "")
    version = int(posted) if posted.isdigit() else None
    was = lead.status_label
    try:
        change = services.lead_set_status(
            lead=lead, status=status, user=request.user, base_version=version
        )
    except services.EditFailed as e:
        return "refused", f"{lead} stays in {was}: {e.message}", 422
    except services.EditConflict as conflict:
        return "conflict", _conflict_text(lead, conflict, version or 0), 409
    if change is None:
        return "same", f"{lead} is already in {label} — nothing changed.", 200
    offer_undo(request, change)
    if services.is_pending(change):
        return "pending", f"{lead} moved to {label}. {services.SAVED_PENDING}", 200
    return "moved", f"{lead} moved to {label}.", 200


LEVELS = {"moved": messages.SUCCESS, "same": messages.INFO, "pending": messages.WARNING}


@require_POST
@permission_required(TRIAGE)
def board_move(request: HttpRequest, uuid: str) -> HttpResponse:
    """Move one card: answers htmx with the card as it is now and the outcome (board.js puts it
    in its column, or back where it was); a plain form post is redirected to the board."""
    lead = lead_or_404(request, uuid)
    outcome, text, http_status = move(request, lead)
    query = request.POST.get("query", "")
    if not request.htmx:
        messages.add_message(request, LEVELS.get(outcome, messages.ERROR), text)
        return redirect(with_query(reverse("leads:board"), QueryDict(query).urlencode()))
    lead.refresh_from_db()
    params = QueryDict(query)
    response = render(
        request,
        "leads/partials/board_moved.html",
        {
            "card": cards_html(request, CardContext.of(request, params), [lead]),
            "outcome": outcome,
            "text": text,
            "status": lead.status,
        },
        status=http_status,
        using="jinja2",
    )
    # The navigation's pending/failed badges refresh at once instead of at their next poll.
    response.headers["HX-Trigger"] = "changes-updated"
    return response
